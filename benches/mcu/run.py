"""Tree-ensemble peers on emulated Cortex-M cores: instructions per prediction, flash, stack and agreement.

For each target (`--target`: cortex-m4f on QEMU `mps2-an386` by default, cortex-m55 on `mps3-an547`, cortex-m3 on
`mps2-an385`, cortex-m0plus on `microbit`, whose core is a Cortex-M0), each model (trained here with fixed seeds)
and each engine — emkern's generated C, emlearn's inline and loadable C, TL2cgen's C, plus emkern's own blob and
Rust rows from `emkern profile` when that command exists — the driver generates the engine's C, compiles it with
one C harness (`c/`) by `arm-none-eabi-gcc` for the target's core, runs it on the target's QEMU board with
`-icount`, and prints one table per target:

  instructions per prediction (mean, max; -O2 build), flash bytes (-Os build, text+data minus the same firmware
  with a stub model), stack bytes (high-water mark of one prediction), max |engine - framework| over the rows.

    python3 benches/mcu/run.py [--target cortex-m4f|cortex-m55|cortex-m3|cortex-m0plus|LIST|all]
                               [--models rf10-d6,xgb20-d4] [--engines emkern-c,tl2cgen] [--json out.json]

Needs numpy, scikit-learn, xgboost, lightgbm; emlearn, tl2cgen and treelite for their columns (missing ones are
reported SKIPPED); arm-none-eabi-gcc (with newlib nano), qemu-system-arm and a release build of the CLI
(`cargo build --release -p emkern-host`). Build products go to target/mcu-bench/ (or --build-dir). See README.md.
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CDIR = HERE / "c"

# The boards (the same as `emkern profile --target`): compiler flags for the core and its float ABI (they also
# select newlib's multilib), the linker script (c/, sharing c/sections.ld), QEMU's machine and CPU (None: the
# machine's fixed core), and the memory the scripts give the firmware, for messages.
TARGETS = {
    "cortex-m4f": dict(
        core="Cortex-M4F", machine="mps2-an386", cpu="cortex-m4", ld="mps2_an386.ld",
        flags=["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
        flash=4 << 20, ram=4 << 20, stack=64 << 10),
    "cortex-m55": dict(
        core="Cortex-M55 (Helium)", machine="mps3-an547", cpu="cortex-m55", ld="mps3_an547.ld",
        flags=["-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard", "-mfpu=auto"],
        flash=512 << 10, ram=512 << 10, stack=64 << 10),
    "cortex-m3": dict(
        core="Cortex-M3, no FPU (soft-float)", machine="mps2-an385", cpu="cortex-m3", ld="mps2_an385.ld",
        flags=["-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft"],
        flash=4 << 20, ram=4 << 20, stack=64 << 10),
    "cortex-m0plus": dict(
        core="Cortex-M0 (nRF51822; QEMU has no M0+ board), no FPU (soft-float)", machine="microbit", cpu=None,
        ld="microbit.ld", flags=["-mcpu=cortex-m0", "-mthumb", "-mfloat-abi=soft"],
        flash=256 << 10, ram=16 << 10, stack=4 << 10),
}


def c_flags(t):
    return t["flags"] + ["-std=gnu11", "-ffunction-sections", "-fdata-sections", "-w"]


def ld_flags(t):
    return t["flags"] + ["-nostartfiles", "-Wl,--gc-sections", "--specs=nano.specs", "--specs=nosys.specs"]


ENGINES = [
    "emkern-c",
    "emkern-c-keys",
    "emkern-c-f64",
    "emlearn-inline-f32",
    "emlearn-inline-i16",
    "emlearn-loadable-i16",
    "tl2cgen",
    "tl2cgen-spc",
    "tl2cgen-quantize",
    "tl2cgen-quantize-spc",
]


PROFILE_MISSING = "emkern profile: not available (emkern's blob and generated Rust rows need `emkern profile`)"


class NoFit(Exception):
    """A firmware the linker refused: its image or its statics exceed the board's flash or RAM."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class Skip(Exception):
    """An engine that cannot run for this model: `loud` ones (a missing package) are printed as SKIPPED."""

    def __init__(self, reason, loud=False):
        super().__init__(reason)
        self.reason = reason
        self.loud = loud


# --------------------------------------------------------------------------------------------------------------
# Models: each trained with a fixed seed; `ref` is the framework's own prediction for `rows` (n × k).
# --------------------------------------------------------------------------------------------------------------


def breast_cancer():
    def load(name):
        path = REPO / "data" / f"breast_cancer_{name}.csv"
        table = np.genfromtxt(path, delimiter=",", names=True)
        cols = [c for c in table.dtype.names if c != "label"]
        x = np.stack([table[c] for c in cols], axis=1).astype(np.float32)
        return x, table["label"].astype(int)

    return load("train") + load("test")


def synthetic(n_features, n_classes=2, seed=3, n_samples=6000):
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=n_samples, n_features=n_features, n_informative=min(30, n_features // 2 + 4),
                               n_classes=n_classes, n_clusters_per_class=2, random_state=seed)
    return x.astype(np.float32), y


def sklearn_model(name, desc, clf, x, y, xt, integer_features=False):
    clf.fit(x, y)
    proba = clf.predict_proba(xt.astype(np.float64))
    ref = proba[:, 1:2] if proba.shape[1] == 2 else proba
    return dict(name=name, desc=desc, kind="sklearn", model=clf, rows=xt, ref=ref, n_classes=proba.shape[1],
                integer_features=integer_features, f32=True,
                ref_desc="scikit-learn predict_proba" + (" (class 1)" if proba.shape[1] == 2 else ""))


def rf(name, trees, depth, x, y, xt, desc_data, integer_features=False):
    from sklearn.ensemble import RandomForestClassifier

    clf = RandomForestClassifier(n_estimators=trees, max_depth=depth, random_state=7, n_jobs=1)
    return sklearn_model(name, f"scikit-learn RandomForestClassifier {trees} trees, max_depth {depth}, {desc_data}",
                         clf, x, y, xt, integer_features)


def xgb_model(name, trees, depth, x, y, xt, desc_data, **params):
    import xgboost as xgb

    n_classes = int(y.max()) + 1
    objective = "binary:logistic" if n_classes == 2 else "multi:softprob"
    booster = xgb.train(dict(objective=objective, max_depth=depth, eta=0.1, nthread=1, seed=3, tree_method="hist",
                             **({"num_class": n_classes} if n_classes > 2 else {}), **params),
                        xgb.DMatrix(x, label=y, missing=np.nan), num_boost_round=trees)
    ref = booster.predict(xgb.DMatrix(xt, missing=np.nan)).astype(np.float64)
    ref = ref.reshape(len(xt), -1)
    return dict(name=name, desc=f"XGBoost {objective} {trees} trees, max_depth {depth}, {desc_data}", kind="xgboost",
                model=booster, rows=xt, ref=ref, n_classes=n_classes, integer_features=False, f32=False,
                ref_desc="XGBoost Booster.predict (probability" + (" of class 1)" if n_classes == 2 else "s)"))


def lgbm_model(name, trees, leaves, x, y, xt, desc_data):
    import lightgbm as lgb

    booster = lgb.train(dict(objective="binary", num_leaves=leaves, learning_rate=0.1, seed=3, num_threads=1,
                             deterministic=True, force_row_wise=True, verbose=-1),
                        lgb.Dataset(x.astype(np.float64), label=y), num_boost_round=trees)
    ref = booster.predict(xt.astype(np.float64)).reshape(len(xt), 1)
    return dict(name=name, desc=f"LightGBM binary {trees} trees, num_leaves {leaves}, {desc_data}", kind="lightgbm",
                model=booster, rows=xt, ref=ref, n_classes=2, integer_features=False, f32=True,
                ref_desc="LightGBM Booster.predict (probability of class 1, f64)")


HELD_OUT = 200  # rows held out of every synthetic training set; --rows takes the first of them


def make_models(n_rows):
    """Every model of the table, by name (built lazily: only the requested ones are trained). The models do not
    depend on `n_rows` (at most HELD_OUT): it only selects how many held-out rows are measured."""
    h = HELD_OUT
    x50, y50 = synthetic(50)
    x50_all = x50
    x50, xt50 = x50[:-h], x50[-h:][:n_rows]
    y50 = y50[:-h]

    def bc(trees, depth, name):
        x, y, xt, _ = breast_cancer()
        return rf(name, trees, depth, x, y, xt[:n_rows], "breast cancer (30 features)")

    def multi():
        # Integer-valued features (fixed-point sensor counts, value × 1000 rounded): emlearn's int16 paths apply.
        x, y = synthetic(16, n_classes=4, seed=5, n_samples=4000)
        x = np.round(x * 1000).astype(np.float32)
        return rf("rf-multi4", 20, 6, x[:-h], y[:-h], x[-h:][:n_rows],
                  "4 classes, 16 integer-valued features", integer_features=True)

    def nan_model():
        rng = np.random.default_rng(11)
        x = np.where(rng.random(x50_all.shape) < 0.1, np.float32(np.nan), x50_all).astype(np.float32)
        return xgb_model("xgb20-d4-nan", 20, 4, x[:-h], y50, x[-h:][:n_rows], "50 features, 10% missing (NaN)")

    return {
        "rf10-d6": lambda: bc(10, 6, "rf10-d6"),
        "rf50-d8": lambda: bc(50, 8, "rf50-d8"),
        "xgb20-d4": lambda: xgb_model("xgb20-d4", 20, 4, x50, y50, xt50, "50 features"),
        "xgb100-d6": lambda: xgb_model("xgb100-d6", 100, 6, x50, y50, xt50, "50 features"),
        "lgbm50-l15": lambda: lgbm_model("lgbm50-l15", 50, 15, x50, y50, xt50, "50 features"),
        "rf-multi4": multi,
        "xgb20-d4-nan": nan_model,
    }


def save_model_files(m, d):
    """The framework's model file (what emkern and Treelite import)."""
    if m["kind"] == "xgboost":
        path = d / "model.json"
        m["model"].save_model(str(path))
    elif m["kind"] == "lightgbm":
        path = d / "model.txt"
        m["model"].save_model(str(path))
    else:
        sys.path.insert(0, str(REPO / "host-tests" / "python"))
        import emkern_sklearn

        path = d / "model.sklearn.json"
        emkern_sklearn.dump(m["model"], str(path))
    m["file"] = path


# --------------------------------------------------------------------------------------------------------------
# Engines: each writes its C sources into `d` and returns (sources, extra flags per source, include dirs).
# The adapter (adapter.c) implements the interface of c/harness.h.
# --------------------------------------------------------------------------------------------------------------


def c_float(v):
    v = float(v)
    if math.isnan(v):
        return "__builtin_nanf(\"\")"
    return v.hex() + "f"


def write_rows(m, d):
    rows = m["rows"]
    n, nf = rows.shape
    with open(d / "rows.c", "w") as f:
        f.write('#include "harness.h"\n')
        f.write(f"const int bench_n_rows = {n};\nconst int bench_n_features = {nf};\n")
        f.write(f"const float bench_rows[{n * nf}] = {{\n")
        for r in rows:
            f.write("  " + ", ".join(c_float(v) for v in r) + ",\n")
        f.write("};\n")
    with open(d / "rows.csv", "w") as f:
        f.write(",".join(f"f{i}" for i in range(nf)) + "\n")
        for r in rows:
            f.write(",".join("" if math.isnan(v) else repr(float(v)) for v in r) + "\n")


ADAPTER_HEAD = '#include <math.h>\n#include <stdint.h>\n#include <string.h>\n#include "harness.h"\n'


def engine_stub(m, d, emkern):
    nf = m["rows"].shape[1]
    (d / "adapter.c").write_text(ADAPTER_HEAD + f"""
static float row_buf[{nf}];
const int engine_n_out = 1;
float engine_out[1];
void engine_prepare(const float *row) {{ memcpy(row_buf, row, sizeof row_buf); }}
void engine_predict(void) {{ engine_out[0] = row_buf[0]; }}
""")
    return [d / "adapter.c"], {}, []


def emkern_blob(m, d, emkern, f32=None):
    """The model imported by the CLI: with `--f32` for scikit-learn and LightGBM models (f32 leaves and sums, as
    the README recommends for an FPU without double precision) unless `f32` is False."""
    f32 = m["f32"] if f32 is None else f32
    blob = d / ("model.emk" if f32 else "model-f64.emk")
    if not blob.exists():
        cmd = [str(emkern), "import", str(m["file"]), "-o", str(blob)] + (["--f32"] if f32 else [])
        run(cmd)
    return blob


def emkern_c_engine(f32, form=None):
    """The generated C header: its default forms (float tests at -O2 with an FPU, ranks at -Os), or with
    `form` the form M_INT_COMPARE names at both levels (1: integer keys)."""
    def build(m, d, emkern):
        if not f32 and not m["f32"]:
            raise Skip("the model is f32 already, see emkern-c")
        blob = emkern_blob(m, d.parent, emkern, f32=None if f32 else False)
        run([str(emkern), "codegen", str(blob), "--lang", "c", "--name", "m", "-o", str(d / "model.h")])
        text = (d / "model.h").read_text()
        if form is not None and "M_INT_COMPARE" not in text:
            raise Skip("the model's tests cannot be integers (categorical, zero band, linear leaves or f64)")
        define = f"#define M_INT_COMPARE {form}\n" if form is not None else ""
        (d / "adapter.c").write_text(ADAPTER_HEAD + define + """#include "model.h"
static float row_buf[M_N_FEATURES];
const int engine_n_out = M_OUTPUT_LEN;
float engine_out[M_OUTPUT_LEN];
void engine_prepare(const float *row) { memcpy(row_buf, row, sizeof row_buf); }
void engine_predict(void) { m_predict(row_buf, engine_out); }
""")
        return [d / "adapter.c"], {}, [d]

    return build


def emlearn_engine(method, dtype):
    def build(m, d, emkern):
        try:
            import emlearn
        except ImportError:
            raise Skip("emlearn not installed (pip install emlearn)", loud=True)
        if m["kind"] != "sklearn":
            raise Skip("emlearn converts scikit-learn estimators only")
        if dtype == "int16_t" and not m["integer_features"]:
            raise Skip("int16 features need integer-valued inputs")
        nf = m["rows"].shape[1]
        k = m["n_classes"]
        # leaf_bits=8: soft voting over per-leaf class proportions (8-bit), emlearn's counterpart of predict_proba.
        conv = emlearn.convert(m["model"], method=method, dtype=dtype, leaf_bits=8)
        code = conv.save(name="m")
        m.setdefault("emlearn_host", {})[d.name] = conv
        (d / "model_emlearn.h").write_text(code)
        if dtype == "int16_t":
            fill = f"for (int i = 0; i < {nf}; i++) row_buf[i] = (int16_t)row[i];"
        else:
            fill = "memcpy(row_buf, row, sizeof row_buf);"
        (d / "adapter.c").write_text(ADAPTER_HEAD + f"""#include "model_emlearn.h"
static {dtype} row_buf[{nf}];
const int engine_n_out = {k};
float engine_out[{k}];
void engine_prepare(const float *row) {{ {fill} }}
void engine_predict(void) {{ m_predict_proba(row_buf, {nf}, engine_out, {k}); }}
""")
        return [d / "adapter.c"], {}, [d, Path(emlearn.__file__).parent]

    return build


class quiet_native_output:
    """Silences what native libraries (Treelite, TL2cgen) print to the process's stdout/stderr."""

    def __enter__(self):
        sys.stdout.flush()
        sys.stderr.flush()
        self.saved = [os.dup(1), os.dup(2)]
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(null)

    def __exit__(self, *exc):
        for fd, saved in zip((1, 2), self.saved):
            os.dup2(saved, fd)
            os.close(saved)


def tl2cgen_engine(quantize, single_constants):
    def build(m, d, emkern):
        try:
            import tl2cgen
            import treelite
        except ImportError:
            raise Skip("tl2cgen/treelite not installed (pip install tl2cgen treelite)", loud=True)
        gen = d / "tl2cgen"
        with quiet_native_output():
            if m["kind"] == "xgboost":
                tm = treelite.frontend.load_xgboost_model(str(m["file"]))
            elif m["kind"] == "lightgbm":
                tm = treelite.frontend.load_lightgbm_model(str(m["file"]))
            else:
                tm = treelite.sklearn.import_model(m["model"])
            tl2cgen.generate_c_code(tm, dirpath=str(gen), params={"quantize": 1} if quantize else {})
        nf = m["rows"].shape[1]
        # Models with f64 leaves (scikit-learn, LightGBM) get `double fvalue` inputs and a `double *result`.
        leaf = "double" if "double* result" in (gen / "header.h").read_text() else "float"
        (d / "adapter.c").write_text(ADAPTER_HEAD + f"""#include "header.h"
#define N_OUT (N_TARGET * MAX_N_CLASS)
static union Entry data[{nf}];
static {leaf} result[N_OUT];
const int engine_n_out = N_OUT;
float engine_out[N_OUT];
void engine_prepare(const float *row) {{
  for (int i = 0; i < {nf}; i++) {{
    if (isnan(row[i])) data[i].missing = -1; else data[i].fvalue = row[i];
  }}
}}
void engine_predict(void) {{
  for (int i = 0; i < N_OUT; i++) result[i] = 0;  /* predict() accumulates into its result */
  predict(data, 0, result);
  for (int i = 0; i < N_OUT; i++) engine_out[i] = (float)result[i];
}}
""")
        srcs = sorted(gen.glob("*.c"))
        flags = {s: ["-fsingle-precision-constant"] for s in srcs} if single_constants else {}
        return [d / "adapter.c"] + srcs, flags, [gen]

    return build


BUILDERS = {
    "stub": engine_stub,
    "emkern-c": emkern_c_engine(True),
    "emkern-c-keys": emkern_c_engine(True, form=1),
    "emkern-c-f64": emkern_c_engine(False),
    "emlearn-inline-f32": emlearn_engine("inline", "float"),
    "emlearn-inline-i16": emlearn_engine("inline", "int16_t"),
    "emlearn-loadable-i16": emlearn_engine("loadable", "int16_t"),
    "tl2cgen": tl2cgen_engine(False, False),
    "tl2cgen-spc": tl2cgen_engine(False, True),
    "tl2cgen-quantize": tl2cgen_engine(True, False),
    "tl2cgen-quantize-spc": tl2cgen_engine(True, True),
}


# --------------------------------------------------------------------------------------------------------------
# Build, run, measure
# --------------------------------------------------------------------------------------------------------------


def run(cmd, **kw):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(str(c) for c in cmd)} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p.stdout


def link_overflow(err, t, stub):
    """The reason for a link that failed because the image or the statics do not fit, or None."""
    import re

    over = {}
    for region, n in re.findall(r"region `(\w+)' overflowed by (\d+) bytes", str(err)):
        over[region] = max(over.get(region, 0), int(n))
    if not over:
        return None
    parts = []
    if "FLASH" in over:
        size = t["flash"] + over["FLASH"]
        part = f"flash: {size} bytes > {t['flash']} bytes"
        if stub is not None:
            part += f", of which {stub['image_text_data']} harness and rows"
        parts.append(part)
    if "RAM" in over:
        room = t["ram"] - t["stack"]
        parts.append(f"RAM: {room + over['RAM']} bytes of statics > {room} bytes ({t['ram']} less a "
                     f"{t['stack']}-byte stack)")
    return "does not fit (" + "; ".join(parts) + ")"


def compile_firmware(srcs, flags, incs, d, model_dir, opt, cc, t, stub=None):
    objs = []
    out = d / opt
    out.mkdir(exist_ok=True)
    common = [CDIR / "harness.c", CDIR / "startup.c", CDIR / "timing.S", model_dir / "rows.c"]
    for src in common + list(srcs):
        obj = out / (src.parent.name + "_" + src.name + ".o")
        cmd = ["nice", "-n", "5", cc, f"-{opt}"] + c_flags(t) + flags.get(src, []) + [f"-I{CDIR}"]
        cmd += [f"-I{i}" for i in incs] + ["-c", src, "-o", obj]
        run(cmd)
        objs.append(obj)
    elf = out / "fw.elf"
    try:
        run([cc, f"-{opt}"] + ld_flags(t) + [f"-L{CDIR}", "-T", CDIR / t["ld"], "-o", elf] + objs + ["-lm"])
    except RuntimeError as err:
        reason = link_overflow(err, t, stub)
        if reason is None:
            raise
        raise NoFit(reason)
    return elf


def image_size(elf):
    """(text, data, bss) as arm-none-eabi-size reports them (text includes .rodata)."""
    line = run(["arm-none-eabi-size", elf]).splitlines()[1].split()
    return int(line[0]), int(line[1]), int(line[2])


def run_firmware(elf, shift, timeout, t):
    cmd = ["qemu-system-arm", "-machine", t["machine"]] + (["-cpu", t["cpu"]] if t["cpu"] else [])
    cmd += ["-nographic", "-monitor", "none", "-serial", "null", "-semihosting-config", "enable=on,target=native",
            "-icount", f"shift={shift}", "-kernel", elf]
    try:
        p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"QEMU timed out after {timeout} s on {elf}")
    # QEMU writes the semihosting console (SYS_WRITE0) to its stderr.
    text = p.stdout + p.stderr
    lines = [l.strip() for l in text.splitlines() if l.strip().startswith(("cal ", "row ", "done", "FAULT"))]
    if p.returncode != 0 or not lines or lines[-1] != "done":
        raise RuntimeError(f"firmware {elf} failed (status {p.returncode}):\n{text[-2000:]}")
    cal = [int(v) for v in lines[0].split()[1:]]
    empty, t1000, again, t3000 = cal
    per_2000 = t3000 - t1000
    # Instruction-driven ticks: at least one tick per instruction, the blocks consistent and repeatable.
    if per_2000 < 2000 or abs(t1000 - per_2000 / 2) > per_2000 / 400 + 2 or abs(again - t1000) > 2:
        raise RuntimeError(f"calibration not linear ({lines[0]}): is QEMU running with -icount?")
    rows = []
    for line in lines[1:-1]:
        parts = line.split()
        assert parts[0] == "row", line
        ticks = [int(v) for v in parts[2:5]]
        stack = int(parts[5])
        outs = [np.frombuffer(int(h, 16).to_bytes(4, "little"), dtype="<f4")[0] for h in parts[6:]]
        t = min(ticks[1], ticks[2])
        instr = round((t - empty) * 2000 / per_2000)
        rows.append(dict(instructions=instr, repeat=abs(ticks[1] - ticks[2]) <= 1, stack=stack, out=outs))
    return dict(ticks_per_instruction=per_2000 / 2000, overhead_ticks=empty, rows=rows)


def max_diff(m, outs):
    ref = m["ref"]
    got = np.array(outs, dtype=np.float64)
    if got.shape[1] != ref.shape[1]:
        if ref.shape[1] == 1 and got.shape[1] == 2:
            got = got[:, 1:2]
        else:
            raise RuntimeError(f"{got.shape[1]} outputs per row against {ref.shape[1]} of the framework")
    diff = np.abs(got - ref)
    agree = float(np.mean((got.argmax(1) == ref.argmax(1)) if ref.shape[1] > 1 else ((got[:, 0] > 0.5) ==
                                                                                      (ref[:, 0] > 0.5))))
    return float(diff.max()), agree


def measure(m, engine, mdir, emkern, args, stub, t):
    d = mdir / engine
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    srcs, flags, incs = BUILDERS[engine](m, d, emkern)
    # Flash is the -Os image's; if only the -O2 image exceeds the board's memory, the -Os build is also the one
    # whose instructions and stack are reported (marked `instructions_build: Os`).
    elf_os = compile_firmware(srcs, flags, incs, d, mdir, "Os", args.cc, t, stub)
    try:
        elf_o2, o2_fits = compile_firmware(srcs, flags, incs, d, mdir, "O2", args.cc, t, stub), True
    except NoFit as nofit:
        elf_o2, o2_fits, o2_reason = elf_os, False, nofit.reason
    res = run_firmware(elf_o2, args.shift, args.timeout, t)
    res_os = run_firmware(elf_os, args.shift, args.timeout, t) if o2_fits else res
    instr = [r["instructions"] for r in res["rows"]]
    text, data, bss = image_size(elf_os)
    stack = max(r["stack"] for r in res["rows"])
    if stack >= t["stack"] - 512:
        raise RuntimeError(f"a prediction used {stack} bytes of the {t['stack']}-byte stack (it may have overflowed)")
    row = dict(model=m["name"], engine=engine, rows=len(instr),
               instructions_mean=float(np.mean(instr)), instructions_max=int(max(instr)),
               instructions_mean_os=float(np.mean([r["instructions"] for r in res_os["rows"]])),
               stack_bytes=stack,
               image_text_data=text + data, ram_static=data + bss,
               repeatable=all(r["repeat"] for r in res["rows"] + res_os["rows"]),
               ticks_per_instruction=res["ticks_per_instruction"])
    if not o2_fits:
        row["instructions_build"] = "Os"
        row["o2_build"] = o2_reason
    if stub is not None:
        row["flash_bytes"] = text + data - stub["image_text_data"]
        row["ram_bytes"] = data + bss - stub["ram_static"]
        row["max_abs_diff"], row["agreement"] = max_diff(m, [r["out"] for r in res["rows"]])
        diff_os, _ = max_diff(m, [r["out"] for r in res_os["rows"]])
        row["max_abs_diff"] = max(row["max_abs_diff"], diff_os)
        conv = m.get("emlearn_host", {}).get(engine)
        if conv is not None:
            # Cross-check of the harness: emlearn's own host build of the same C, on the same rows.
            # (emlearn builds it in ./tmp, so run it from the engine's build directory.)
            cwd = os.getcwd()
            try:
                os.chdir(d)
                host = np.asarray(conv.predict_proba(m["rows"]), dtype=np.float64)
            finally:
                os.chdir(cwd)
            got = np.array([r["out"] for r in res["rows"]], dtype=np.float64)
            row["emlearn_host_max_abs_diff"] = float(np.abs(host - got).max())
    return row


def profile_error(text):
    """The telling line of a failed `emkern profile` (a linker's overflow, an error), shortened."""
    lines = [l.strip() for l in text.splitlines() if l.strip()] or ["?"]
    for key in ("overflowed", "will not fit", "error"):
        hits = [l for l in lines if key in l]
        if hits:
            return hits[-1][-300:]
    return lines[-1][-300:]


def emkern_profile(m, mdir, emkern, target):
    """Rows of `emkern profile` (emkern's blob engine and generated Rust), or None if the command is missing.
    All engines in one run; if that fails (an image that does not fit the board, say), each engine on its own,
    so that one engine's failure is its own row."""
    try:
        h = subprocess.run([str(emkern), "profile", "--help"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if h.returncode != 0 or "--target" not in h.stdout:
        return None
    blob = emkern_blob(m, mdir, emkern)
    cmd = [str(emkern), "profile", str(blob)]
    if "--input" in h.stdout:
        cmd = [str(emkern), "profile", "--model", str(blob)] if "--model" in h.stdout else cmd
        cmd += ["--input", str(mdir / "rows.csv")]
    cmd += ["--target", target, "--json"]
    if "compact-prevalidated" in h.stdout:
        cmd += ["--engine", "blob,compact,compact-prevalidated,rust,c"]

    # The source tree profile builds its firmware from: EMKERN_ROOT if set, else this checkout.
    env = dict(os.environ)
    env.setdefault("EMKERN_ROOT", str(REPO))

    def rows_of(cmd, engine):
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, env=env)
        if p.returncode != 0:
            return [dict(model=m["name"], engine=f"emkern-{engine} (profile)" if engine else "emkern profile",
                         error=profile_error(p.stderr or p.stdout))]
        try:
            doc = json.loads(p.stdout)
        except ValueError as err:
            return [dict(model=m["name"], engine="emkern profile", error=f"unreadable JSON ({err})")]
        if isinstance(doc, dict):
            doc = next((v for v in doc.values() if isinstance(v, list)), [doc])
        out = []
        for r in doc:
            row = dict(r)
            row["model"] = m["name"]
            row["engine"] = "emkern-" + str(r.get("engine", "?")) + " (profile)"
            if row.get("instructions_mean") is None:
                # The engine could not run: profile says why on stderr ("engine NAME: not run: ...").
                tag = f"engine {r.get('engine')}: "
                lines = [l for l in p.stderr.splitlines() if tag in l] or ["not run (no reason given)"]
                row["error"] = lines[-1].split(tag, 1)[-1].strip()
            out.append(row)
        return out

    out = rows_of(cmd, None)
    if len(out) == 1 and "error" in out[0] and out[0]["engine"] == "emkern profile" and "--engine" in h.stdout:
        out = []
        for engine in ("blob", "rust", "c"):
            out += rows_of(cmd + ["--engine", engine], engine)
    return out


# --------------------------------------------------------------------------------------------------------------
# Table
# --------------------------------------------------------------------------------------------------------------


def fmt_row(r):
    if "skipped" in r and r["skipped"].startswith("n/a: does not fit"):
        return [r["model"], r["engine"], r["skipped"][len("n/a: "):], "", "", "", "", ""]
    if "skipped" in r:
        return [r["model"], r["engine"], r["skipped"], "", "", "", "", ""]
    if "error" in r:
        return [r["model"], r["engine"], "ERROR: " + r["error"].splitlines()[-1][:80], "", "", "", "", ""]

    def g(key, f):
        v = r.get(key)
        return "" if v is None else f(v)

    os_mark = " (Os)" if r.get("instructions_build") == "Os" else ""
    return [r["model"], r["engine"], g("instructions_mean", lambda v: f"{v:.0f}{os_mark}"),
            g("instructions_max", lambda v: f"{v}"), g("flash_bytes", lambda v: f"{v}"),
            g("stack_bytes", lambda v: f"{v}"), g("max_abs_diff", lambda v: f"{v:.2e}"),
            g("agreement", lambda v: f"{v * 100:.1f}%")]


def not_applicable(r):
    """An engine that does not apply to a model (listed below the table); one that does not fit stays in it."""
    reason = str(r.get("skipped", ""))
    return reason.startswith("n/a") and not reason.startswith("n/a: does not fit")


def print_table(rows, models):
    """The table (stdout); engines that do not apply to a model are listed below it, grouped by reason."""
    head = ["model", "engine", "instr mean", "instr max", "flash B", "stack B", "max abs diff", "class agree"]
    shown = [r for r in rows if not not_applicable(r)]
    body = [fmt_row(r) for r in shown]
    widths = [max(len(str(x[i])) for x in [head] + body if i < 2 or x[3] or x is head) for i in range(len(head))]
    print()
    print("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for b in body:
        if not b[3]:  # SKIPPED or ERROR: one wide cell
            print("| " + " | ".join(str(x).ljust(w) for x, w in zip(b[:2], widths[:2])) + " | " + b[2] + " |")
        else:
            print("| " + " | ".join(str(x).ljust(w) for x, w in zip(b, widths)) + " |")
    print()
    groups = {}
    for r in rows:
        if not_applicable(r):
            g = groups.setdefault(r["skipped"][len("n/a: "):], ([], []))
            for key, item in ((0, r["engine"]), (1, r["model"])):
                if item not in g[key]:
                    g[key].append(item)
    for reason, (engines, names) in groups.items():
        print(f"n/a ({reason}): {', '.join(engines)} for {', '.join(names)}")
    for r in rows:
        if r.get("instructions_build") == "Os":
            print(f"(Os) {r['model']} {r['engine']}: the -O2 image {r.get('o2_build', 'does not fit')}; instructions "
                  "and stack of the -Os build")
    for m in models:
        print(f"{m['name']}: {m['desc']}; {m['rows']} rows; reference: {m['reference']}")


def print_tables(rows, models, targets, profile_missing):
    """One table per target; the plain single table (no heading) when the run was the default Cortex-M4F one."""
    for name in targets:
        t = TARGETS[name]
        if targets != ["cortex-m4f"]:
            flags = " ".join(t["flags"])
            cpu = f" -cpu {t['cpu']}" if t["cpu"] else ""
            print(f"\n## {name}: {t['core']}, QEMU {t['machine']}{cpu}, {flags}")
        print_table([r for r in rows if r.get("target", "cortex-m4f") == name], models)
        shaky = [f"{r['model']}/{r['engine']}" for r in rows
                 if r.get("target", "cortex-m4f") == name and r.get("repeatable") is False]
        if shaky:
            print("warning: instruction counts that did not repeat within one tick: " + ", ".join(shaky))
        if profile_missing:
            print(PROFILE_MISSING)


def parse_targets(text):
    names = list(TARGETS) if text == "all" else [n.strip() for n in text.split(",") if n.strip()]
    for n in names:
        if n not in TARGETS:
            sys.exit(f"run.py: unknown target {n!r} (known: {', '.join(TARGETS)}, or all)")
    return list(dict.fromkeys(names))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", default="cortex-m4f",
                    help="board(s), comma-separated, or all: " + ", ".join(f"{n} (QEMU {t['machine']})"
                                                                      for n, t in TARGETS.items()))
    ap.add_argument("--models", help="comma-separated subset of: rf10-d6, rf50-d8, xgb20-d4, xgb100-d6, "
                    "lgbm50-l15, rf-multi4, xgb20-d4-nan")
    ap.add_argument("--engines", help="comma-separated subset of: " + ", ".join(ENGINES))
    ap.add_argument("--rows", type=int, default=150,
                    help=f"test rows per model, at most {HELD_OUT} (breast cancer has 171)")
    ap.add_argument("--json", help="also write every row (and the per-model facts) to this JSON file")
    ap.add_argument("--emkern", default=str(REPO / "target" / "release" / "emkern"))
    ap.add_argument("--build-dir", default=str(REPO / "target" / "mcu-bench"))
    ap.add_argument("--cc", default="arm-none-eabi-gcc")
    ap.add_argument("--shift", type=int, default=10, help="QEMU -icount shift (2^shift ns per instruction)")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per QEMU run")
    ap.add_argument("--from-json", help="print the table of an earlier run's --json file and exit")
    args = ap.parse_args()
    if args.from_json:
        doc = json.loads(Path(args.from_json).read_text())
        targets = doc.get("targets", ["cortex-m4f"])
        print_tables(doc["results"], doc["models"], targets, not doc.get("emkern_profile", True))
        return

    targets = parse_targets(args.target)
    for tool in (args.cc, "arm-none-eabi-size", "qemu-system-arm"):
        if shutil.which(tool) is None:
            sys.exit(f"run.py: {tool} not found (Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi "
                     "qemu-system-arm)")
    emkern = Path(args.emkern)
    if not emkern.exists():
        sys.exit(f"run.py: {emkern} not found (cargo build --release -p emkern-host)")

    if not 1 <= args.rows <= HELD_OUT:
        sys.exit(f"run.py: --rows must be between 1 and {HELD_OUT}")
    catalog = make_models(args.rows)
    names = args.models.split(",") if args.models else list(catalog)
    engines = args.engines.split(",") if args.engines else ENGINES
    for n in names:
        if n not in catalog:
            sys.exit(f"run.py: unknown model {n!r} (known: {', '.join(catalog)})")
    for e in engines:
        if e not in BUILDERS:
            sys.exit(f"run.py: unknown engine {e!r} (known: {', '.join(ENGINES)})")

    build = Path(args.build_dir)
    build.mkdir(parents=True, exist_ok=True)
    rows, models = [], []
    profile_missing = False
    for name in names:
        try:
            m = catalog[name]()
        except ImportError as err:
            print(f"[{name}] SKIPPED: {err.name or err} not installed", file=sys.stderr)
            for target in targets:
                rows.append(dict(model=name, engine="(all)", target=target,
                                 skipped=f"SKIPPED: {err.name or err} not installed"))
            continue
        models.append(m)
        for target in targets:
            t = TARGETS[target]
            t0 = time.time()
            tag = name if targets == ["cortex-m4f"] else f"{target} {name}"
            # Each target's build products in their own directory (the model files and rows are the same).
            mdir = build / target / name
            if mdir.exists():
                shutil.rmtree(mdir)
            mdir.mkdir(parents=True)
            save_model_files(m, mdir)
            write_rows(m, mdir)
            stub = measure(m, "stub", mdir, emkern, args, None, t)
            print(f"[{tag}] {m['desc']}: harness floor {stub['instructions_mean']:.0f} instructions, "
                  f"{stub['ticks_per_instruction']:.4f} ticks/instruction", file=sys.stderr)
            for e in engines:
                try:
                    r = measure(m, e, mdir, emkern, args, stub, t)
                    print(f"[{tag}] {e}: {r['instructions_mean']:.0f} instructions, {r['flash_bytes']} B flash, "
                          f"max diff {r['max_abs_diff']:.2e}", file=sys.stderr)
                except Skip as s:
                    r = dict(model=name, engine=e, skipped=("SKIPPED: " if s.loud else "n/a: ") + s.reason)
                    if s.loud:
                        print(f"[{tag}] {e}: SKIPPED ({s.reason})", file=sys.stderr)
                except NoFit as s:
                    r = dict(model=name, engine=e, skipped="n/a: " + s.reason)
                    print(f"[{tag}] {e}: {s.reason}", file=sys.stderr)
                except Exception as err:  # a generator or compiler failure is a result to show, not a crash
                    r = dict(model=name, engine=e, error=str(err))
                    print(f"[{tag}] {e}: ERROR {err}", file=sys.stderr)
                r["target"] = target
                rows.append(r)
            prof = emkern_profile(m, mdir, emkern, target)
            if prof is None:
                profile_missing = True
            else:
                for r in prof:
                    r["target"] = target
                rows.extend(prof)
            print(f"[{tag}] done in {time.time() - t0:.0f} s", file=sys.stderr)

    facts = [dict(name=m["name"], desc=m["desc"], rows=len(m["rows"]), reference=m["ref_desc"]) for m in models]
    print_tables(rows, facts, targets, profile_missing)
    if args.json:
        doc = dict(targets=targets, models=facts, results=rows, emkern_profile=not profile_missing)
        Path(args.json).write_text(json.dumps(doc, indent=1, default=float) + "\n")

if __name__ == "__main__":
    main()
