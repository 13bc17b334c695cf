"""Training time and test quality of emkern's histogram booster beside XGBoost (`tree_method="hist"`) and LightGBM,
on the same data, with the same parameters, in the same run: one thread and every core.

The data is emkern's synthetic benchmark set (`emkern_host::bench_train::synthetic`: 200 000 training and 50 000
test rows × 50 standard-normal features, a regression target and a binary label), written by the Rust side as
NumPy files so every library reads the very same rows, plus the bundled breast-cancer split. Parameters: 100
rounds, depth 6, learning rate 0.1, L2 penalty 1, hessian floor 1, 256 bins (LightGBM: 255 bins plus its
missing-value bin, 64 leaves at depth 6, `min_data_in_leaf` 1). Each library's time covers building its binned
dataset and training (emkern: quantiles, bin matrix and boosting), best of two runs (five for the small set).

    python3 benches/peers/train_peers.py [--quick]

Needs numpy, xgboost and lightgbm, and cargo (the emkern side runs through
`cargo run --release -p emkern-host --example bench_train`, which rebuilds it if needed).
"""

import argparse
import csv
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
ROUNDS, DEPTH, ETA = 100, 6, 0.1


def cargo_example(*args):
    cmd = ["cargo", "run", "--quiet", "--release", "-p", "emkern-host", "--example", "bench_train", "--", *args]
    return subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout


def quality(task, y, p):
    p = np.asarray(p, dtype=np.float64).ravel()
    if task == "regression":
        return {"rmse": float(np.sqrt(np.mean((p - y) ** 2)))}
    pc = np.clip(p, 1e-15, 1 - 1e-15)
    return {"logloss": float(-np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc))),
            "accuracy": float(np.mean((p > 0.5) == (y == 1)))}


def best_of(fn, repeats):
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def run_xgboost(task, x, y, xt, yt, threads, repeats):
    import xgboost as xgb

    def fit():
        d = xgb.DMatrix(x, label=y, nthread=threads)
        params = dict(tree_method="hist", max_depth=DEPTH, eta=ETA, max_bin=256, nthread=threads,
                      objective="reg:squarederror" if task == "regression" else "binary:logistic")
        return xgb.train(params, d, num_boost_round=ROUNDS)

    seconds, b = best_of(fit, repeats)
    return seconds, quality(task, yt, b.predict(xgb.DMatrix(xt, nthread=threads)))


def run_lightgbm(task, x, y, xt, yt, threads, repeats):
    import lightgbm as lgb

    def fit():
        params = dict(objective="regression" if task == "regression" else "binary", learning_rate=ETA,
                      max_depth=DEPTH, num_leaves=2 ** DEPTH, min_data_in_leaf=1, min_sum_hessian_in_leaf=1.0,
                      lambda_l2=1.0, max_bin=255, num_threads=threads, verbose=-1, deterministic=True)
        return lgb.train(params, lgb.Dataset(x, y), num_boost_round=ROUNDS)

    seconds, m = best_of(fit, repeats)
    return seconds, quality(task, yt, m.predict(xt))


def read_breast_cancer():
    def read(split):
        with open(ROOT / "data" / f"breast_cancer_{split}.csv") as f:
            rows = list(csv.reader(f))
        t = rows[0].index("label")
        x = np.array([[float(c) for i, c in enumerate(r) if i != t] for r in rows[1:]], dtype=np.float32)
        return x, np.array([float(r[t]) for r in rows[1:]])
    return read("train") + read("test")



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="20 000 training rows, one repetition")
    args = ap.parse_args()
    quick = ["--quick"] if args.quick else []
    cores = os.cpu_count() or 1

    with tempfile.TemporaryDirectory(prefix="emkern-train-peers-") as tmp:
        cargo_example("--write-data", tmp, *quick)
        emkern = [json.loads(line) for line in cargo_example("--json", *quick).splitlines() if line.strip()]
        sets = []
        for task in ("regression", "classification"):
            load = lambda name: np.load(Path(tmp) / f"{task}_{name}.npy")
            x, y, xt, yt = load("X_train"), load("y_train"), load("X_test"), load("y_test")
            sets.append((f"{task} {len(x)}x{x.shape[1]}", task, x, y, xt, yt, 1 if quick else 2))
        x, y, xt, yt = read_breast_cancer()
        sets.append((f"breast_cancer {len(x)}x{x.shape[1]}", "classification", x, y, xt, yt, 5))

        rows = []
        for name, task, x, y, xt, yt, repeats in sets:
            for threads in (1, cores):
                for lib in ("emkern", "xgboost", "lightgbm"):
                    if lib == "emkern":
                        m = next((m for m in emkern if m["data"] == name and m["threads"] == threads), None)
                        if m is None:
                            continue
                        seconds, q = m["seconds"], m["metrics"]
                    elif lib == "xgboost":
                        seconds, q = run_xgboost(task, x, y, xt, yt, threads, repeats)
                    else:
                        seconds, q = run_lightgbm(task, x, y, xt, yt, threads, repeats)
                    rows.append((name, threads, lib, seconds, q))

    import lightgbm
    import xgboost
    print(f"training: {ROUNDS} rounds, depth {DEPTH}, eta {ETA}; XGBoost {xgboost.__version__} hist, "
          f"LightGBM {lightgbm.__version__}; {cores} core(s); seconds include binning")
    print(f"{'data':<28}{'threads':>8}  {'library':<10}{'seconds':>9}{'vs XGBoost':>12}  test quality")
    for name, threads, lib, seconds, q in rows:
        ref = next(r[3] for r in rows if r[0] == name and r[1] == threads and r[2] == "xgboost")
        qs = "  ".join(f"{k} {v:.5f}" for k, v in sorted(q.items()))
        print(f"{name:<28}{threads:>8}  {lib:<10}{seconds:>9.3f}{ref / seconds:>11.2f}x  {qs}")


if __name__ == "__main__":
    main()
