"""Tree-ensemble latency against peers on the same model and rows, in the same run, one thread each:
XGBoost's own predictor, TL2cgen's compiled C (the code generator of the Treelite project) and emkern's no_std core.

The model is the reference configuration for tree-inference latency: binary logistic, 100 trees of depth 6,
50 features (synthetic data from scikit-learn's make_classification, fixed seed). XGBoost is timed with
`inplace_predict` on one row at a time and on the whole batch; TL2cgen's generated C is compiled with the system
C compiler (-O3) and timed one `predict` call per row by `tl2cgen_harness.c`; emkern with
`emkern bench --model M --input X.csv`.

    python3 benches/peers/tree_peers.py [--rows 2000] [--emkern target/release/emkern]

Needs xgboost, scikit-learn, treelite and tl2cgen (pip), a C compiler, and a release build of the CLI
(`cargo build --release -p emkern-host`).
"""

import argparse
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import xgboost as xgb
from sklearn.datasets import make_classification


def median_seconds(fn, repeats):
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    samples.sort()
    return samples[len(samples) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--emkern", default=str(Path(__file__).resolve().parents[2] / "target" / "release" / "emkern"))
    args = ap.parse_args()

    x, y = make_classification(n_samples=20000, n_features=50, n_informative=30, random_state=3)
    x = x.astype(np.float32)
    model = xgb.XGBClassifier(n_estimators=100, max_depth=6, learning_rate=0.1, n_jobs=1, random_state=3,
                              max_bin=256)
    model.fit(x, y)
    booster = model.get_booster()
    booster.set_param({"nthread": 1})
    rows = x[: args.rows]

    tmp = Path(tempfile.mkdtemp(prefix="emkern-peer-"))
    model_path = tmp / "model.json"
    booster.save_model(model_path)
    csv = tmp / "rows.csv"
    np.savetxt(csv, rows, delimiter=",", fmt="%.9g")

    booster.inplace_predict(rows[:1])  # warm up
    single = median_seconds(lambda: [booster.inplace_predict(rows[i:i + 1]) for i in range(len(rows))], 5)
    batch = median_seconds(lambda: booster.inplace_predict(rows), 15)
    xgb_single = single / len(rows) * 1e9
    xgb_batch = batch / len(rows) * 1e9

    tl2 = None
    try:
        import tl2cgen
        import treelite

        src = tmp / "tl2cgen"
        tl2cgen.generate_c_code(treelite.frontend.load_xgboost_model(str(model_path)), dirpath=str(src), params={})
        exe = tmp / "tl2cgen_bench"
        subprocess.run([os.environ.get("CC", "cc"), "-O3", "-o", str(exe), str(src / "main.c"),
                        str(Path(__file__).with_name("tl2cgen_harness.c")), "-lm"], check=True)
        rows_bin = tmp / "rows.f32"
        rows.astype("<f4").tofile(rows_bin)
        tl2 = float(subprocess.run([str(exe), str(rows_bin), str(len(rows))], check=True, capture_output=True,
                                   text=True).stdout.split()[0])
    except ImportError:
        print("(tl2cgen/treelite not installed: TL2cgen row skipped)")

    out = subprocess.run([args.emkern, "bench", "--model", str(model_path), "--input", str(csv)],
                         check=True, capture_output=True, text=True).stdout
    em_single = float(re.search(r"single row\s+([0-9.]+) ns/row", out).group(1))
    em_batch = float(re.search(r"batch\s+([0-9.]+) ns/row", out).group(1))
    trees = 100
    print(f"model: XGBoost {xgb.__version__} binary:logistic, {trees} trees, depth 6, 50 features; {len(rows)} rows")
    print(f"{'':24}{'ns/row':>10}{'ns/row·tree':>14}")
    print(f"{'XGBoost single row*':24}{xgb_single:>10.0f}{xgb_single / trees:>14.2f}")
    if tl2 is not None:
        print(f"{'TL2cgen C single row':24}{tl2:>10.0f}{tl2 / trees:>14.2f}")
    print(f"{'emkern single row':24}{em_single:>10.0f}{em_single / trees:>14.2f}   "
          f"{xgb_single / em_single:.1f}x XGBoost's rate" + (f", {tl2 / em_single:.2f}x TL2cgen's" if tl2 else ""))
    print(f"{'XGBoost batch (1 thread)':24}{xgb_batch:>10.0f}{xgb_batch / trees:>14.2f}")
    print(f"{'emkern batch':24}{em_batch:>10.0f}{em_batch / trees:>14.2f}   {xgb_batch / em_batch:.2f}x XGBoost's rate")
    print("* through XGBoost's Python API, so it includes the per-call overhead a Python caller pays")


if __name__ == "__main__":
    main()
