#!/usr/bin/env python3
"""Tree-ensemble prediction on the host against the frameworks' own C APIs and TL2cgen, in one process per model.

For each model (XGBoost and LightGBM binary classifiers, 100 trees of depth 6 and 500 trees of depth 8, on 50
synthetic features), trains it with a fixed seed, exports it to emkern (`emkern import`), generates TL2cgen's C,
and builds `peers.c` with the generated C, emkern's C API (`libemkern_ffi.a`) and `dlopen` of the framework's
shared library from its Python wheel. The program times, with one clock over the same rows (best of REPS runs,
one thread): the framework's batch call and its one-row call, TL2cgen's `predict` per row, emkern's
`emk_forest_predict` per row and `emk_forest_predict_batch`; then `emkern bench --model` times emkern's SIMD
batch engine (`Forest::predict_batch_simd`) and its single-row walker (`Forest::predict_simd_row`, one row per
call) at each level on the same model and rows. It prints ns per row·tree
with the ratios to the framework's batch, and each engine's largest difference from the framework's predictions.

    cargo build --release -p emkern-host -p emkern-ffi
    python3 benches/peers/run.py [--rows 20000] [--reps 5] [--models xgb100-d6,lgbm500-d8] [--json out.json]
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

MODELS = {
    "xgb100-d6": ("xgboost", 100, 6),
    "xgb500-d8": ("xgboost", 500, 8),
    "lgbm100-d6": ("lightgbm", 100, 6),
    "lgbm500-d8": ("lightgbm", 500, 8),
}


def data(n_rows):
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=20000 + n_rows, n_features=50, n_informative=30, random_state=3)
    x = x.astype(np.float32)
    return x[:20000], y[:20000], np.ascontiguousarray(x[20000:])


def train(kind, trees, depth, x, y, d):
    if kind == "xgboost":
        import xgboost as xgb

        params = {"objective": "binary:logistic", "max_depth": depth, "eta": 0.1, "tree_method": "hist",
                  "seed": 3, "nthread": 1}
        b = xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=trees)
        path = d / "model.json"
        b.save_model(str(path))
        return path, Path(xgb.core._LIB._name)
    import lightgbm as lgb

    params = {"objective": "binary", "num_leaves": 2 ** depth, "max_depth": depth, "learning_rate": 0.1,
              "seed": 3, "deterministic": True, "num_threads": 1, "verbose": -1}
    b = lgb.train(params, lgb.Dataset(x, label=y), num_boost_round=trees)
    path = d / "model.txt"
    b.save_model(str(path))
    return path, Path(lgb.basic._LIB._name)


def tl2cgen_sources(kind, path, d):
    import tl2cgen
    import treelite

    if kind == "xgboost":
        tm = treelite.frontend.load_xgboost_model(str(path))
    else:
        tm = treelite.frontend.load_lightgbm_model(str(path))
    gen = d / "tl2cgen"
    tl2cgen.generate_c_code(tm, dirpath=str(gen), params={})
    result = "double" if "double* result" in (gen / "header.h").read_text() else "float"
    return gen, result


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{r.stdout}\n{r.stderr}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of: " + ", ".join(MODELS))
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--emkern", default=str(ROOT / "target/release/emkern"))
    ap.add_argument("--ffi", default=str(ROOT / "target/release/libemkern_ffi.a"))
    ap.add_argument("--cc", default=os.environ.get("CC", "cc"))
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    for p in (args.emkern, args.ffi):
        if not Path(p).exists():
            sys.exit(f"{p} is missing: run `cargo build --release -p emkern-host -p emkern-ffi` first")
    x, y, rows = data(args.rows)
    results = []
    with tempfile.TemporaryDirectory(prefix="emkern-peers-") as tmp:
        tmp = Path(tmp)
        rows_bin = tmp / "rows.bin"
        rows.astype("<f4").tofile(rows_bin)
        rows_csv = tmp / "rows.csv"
        np.savetxt(rows_csv, rows, delimiter=",", fmt="%.9g",
                   header=",".join(f"f{i}" for i in range(rows.shape[1])), comments="")
        for name in args.models.split(","):
            kind, trees, depth = MODELS[name]
            d = tmp / name
            d.mkdir()
            print(f"{name}: training", file=sys.stderr)
            model, lib = train(kind, trees, depth, x, y, d)
            run([args.emkern, "import", str(model), "-o", str(d / "model.emk")])
            gen, result = tl2cgen_sources(kind, model, d)
            exe = d / "peers"
            print(f"{name}: building", file=sys.stderr)
            run([args.cc, "-O3", "-march=native", "-std=c11", f"-DTL2CGEN_RESULT={result}",
                 "-I", str(gen), "-I", str(ROOT / "core/ffi/include"), str(HERE / "peers.c")]
                + sorted(str(s) for s in gen.glob("*.c"))
                + [args.ffi, "-lm", "-ldl", "-lpthread", "-o", str(exe)])
            print(f"{name}: timing", file=sys.stderr)
            out = run([str(exe), kind, str(lib), str(model), str(d / "model.emk"), str(rows_bin),
                       str(len(rows)), str(rows.shape[1]), str(trees), str(args.reps)],
                      env={**os.environ, "OMP_NUM_THREADS": "1"})
            for line in out.splitlines():
                m = re.match(r"engine (\S+) ns_per_row_tree (\S+) max_abs_diff (\S+)", line)
                if m:
                    results.append({"model": name, "engine": m[1], "ns_per_row_tree": float(m[2]),
                                    "max_abs_diff": float(m[3])})
            # emkern's SIMD batch engine at each level (`emkern bench --model`, same model and rows, right after):
            # its predictions are bit for bit the scalar batch's (tests/forest_batch_simd.rs), so the difference
            # column repeats emkern-batch's.
            emk_diff = next((r["max_abs_diff"] for r in results
                             if r["model"] == name and r["engine"] == "emkern-batch"), float("nan"))
            bench = run([args.emkern, "bench", "--model", str(d / "model.emk"), "--input", str(rows_csv)])
            # The single-row walker (`Forest::predict_simd_row`) likewise: bit for bit `emk_forest_predict`'s.
            single_diff = next((r["max_abs_diff"] for r in results
                                if r["model"] == name and r["engine"] == "emkern-single"), float("nan"))
            for line in bench.splitlines():
                m = re.match(r"(batch|single row) simd (\S+)\s+\S+ ns/row\s+(\S+) ns/row·tree", line)
                if m and m[2] != "scalar":
                    single = m[1] == "single row"
                    results.append({"model": name,
                                    "engine": f"emkern-{'row' if single else 'simd'}-{m[2]}",
                                    "ns_per_row_tree": float(m[3]),
                                    "max_abs_diff": single_diff if single else emk_diff})
    print(f"{'model':<11} {'engine':<18} {'ns/row·tree':>12} {'vs framework batch':>19} {'max |diff|':>11}")
    for name in args.models.split(","):
        rs = [r for r in results if r["model"] == name]
        base = next(r["ns_per_row_tree"] for r in rs if r["engine"].endswith("-batch") and
                    not r["engine"].startswith("emkern"))
        for r in rs:
            print(f"{name:<11} {r['engine']:<18} {r['ns_per_row_tree']:>12.2f} "
                  f"{r['ns_per_row_tree'] / base:>18.2f}x {r['max_abs_diff']:>11.2g}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
