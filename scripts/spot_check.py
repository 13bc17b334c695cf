"""Spot check on models no test has seen: trains XGBoost, LightGBM and scikit-learn models with randomly drawn
parameters on fresh synthetic data (NaNs and categorical columns included), runs `emkern predict` on them as a user
would, and compares with each framework's own predictions.

    python3 scripts/spot_check.py [--models 12] [--seed 1] [--emkern target/release/emkern]

Needs the packages in host-tests/fixtures/requirements.txt and a release build of the CLI. Prints one line per
model and exits non-zero if any prediction differs by more than 1e-5 relative (+1e-6 absolute).
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np


def data(rng, n, f, task, cat_cols):
    x = rng.normal(size=(n, f)).astype(np.float32)
    x[rng.random(size=x.shape) < 0.1] = np.nan
    for c in cat_cols:
        x[:, c] = rng.integers(0, 6, size=n).astype(np.float32)
    w = rng.normal(size=f)
    s = np.nan_to_num(x) @ w
    if task == "binary":
        y = (s > 0).astype(int)
    elif task == "multiclass":
        y = np.digitize(s, np.quantile(s, [0.33, 0.66]))
    else:
        y = s + rng.normal(size=n) * 0.1
    return x, y


def emkern_predict(exe, model, x, tmp):
    csv = tmp / "x.csv"
    with open(csv, "w") as fh:
        for row in x:
            fh.write(",".join("" if np.isnan(v) else repr(float(v)) for v in row) + "\n")
    out = subprocess.run([exe, "predict", "--model", str(model), "--input", str(csv)], check=True,
                         capture_output=True, text=True).stdout
    return np.array([[float(v) for v in line.split(",")] for line in out.strip().splitlines()])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--emkern", default=str(Path(__file__).resolve().parents[1] / "target" / "release" / "emkern"))
    args = ap.parse_args()
    import lightgbm as lgb
    import pandas as pd
    import xgboost as xgb
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestRegressor

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "host-tests" / "python"))
    import emkern_sklearn

    rng = np.random.default_rng(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="emkern-spot-"))
    worst_all, bad = 0.0, 0
    for i in range(args.models):
        kind = ["xgboost", "lightgbm", "sklearn"][i % 3]
        task = ["binary", "multiclass", "regression"][int(rng.integers(3))]
        n, f = 600, int(rng.integers(3, 40))
        cats = [0] if f > 3 and rng.random() < 0.5 else []
        x, y = data(rng, n, f, task, cats)
        depth = int(rng.integers(1, 11))
        trees = int(rng.integers(1, 120))
        if kind == "xgboost":
            obj = {"binary": "binary:logistic", "multiclass": "multi:softprob", "regression": "reg:squarederror"}[task]
            df = pd.DataFrame(x)
            for c in cats:
                df[c] = pd.Categorical(df[c].astype(int), categories=list(range(6)))
            m = xgb.XGBModel(objective=obj, n_estimators=trees, max_depth=depth, learning_rate=float(rng.uniform(0.05, 1)),
                             enable_categorical=bool(cats), tree_method="hist", n_jobs=1,
                             subsample=float(rng.uniform(0.5, 1)), reg_lambda=float(rng.uniform(0, 3)),
                             **({"num_class": 3} if task == "multiclass" else {}))
            m.fit(df, y)
            path = tmp / f"m{i}.{'ubj' if rng.random() < 0.5 else 'json'}"
            m.get_booster().save_model(path)
            want = m.get_booster().predict(xgb.DMatrix(df, enable_categorical=bool(cats)))
            desc = f"xgboost {xgb.__version__} {obj} trees={trees} depth={depth} cats={bool(cats)} {path.suffix}"
        elif kind == "lightgbm":
            obj = {"binary": "binary", "multiclass": "multiclass", "regression": "regression"}[task]
            params = dict(objective=obj, num_leaves=int(rng.integers(2, 64)), learning_rate=float(rng.uniform(0.05, 0.5)),
                          verbose=-1, num_threads=1, linear_tree=bool(rng.random() < 0.3 and not cats))
            params["zero_as_missing"] = bool(not params["linear_tree"] and rng.random() < 0.3)
            if obj == "multiclass":
                params["num_class"] = 3
            ds = lgb.Dataset(x.astype(np.float64), y, categorical_feature=cats or "auto")
            b = lgb.train(params, ds, num_boost_round=trees)
            path = tmp / f"m{i}.txt"
            b.save_model(path)
            want = b.predict(x.astype(np.float64))
            desc = f"lightgbm {lgb.__version__} {obj} trees={trees} leaves={params['num_leaves']} linear={params['linear_tree']} cats={bool(cats)}"
        else:
            if task == "regression":
                m = RandomForestRegressor(n_estimators=min(trees, 40), max_depth=depth, random_state=i).fit(np.nan_to_num(x), y)
                xs = np.nan_to_num(x)
                want = m.predict(xs)
            else:
                m = HistGradientBoostingClassifier(max_iter=trees, max_depth=depth + 1, random_state=i,
                                                   categorical_features=cats or None).fit(x, y)
                xs = x
                want = m.predict_proba(xs)
                if want.shape[1] == 2:
                    want = want[:, 1]
            path = tmp / f"m{i}.json"
            emkern_sklearn.dump(m, path)
            x = xs
            desc = f"sklearn {type(m).__name__} trees={trees} depth={depth}"
        got = emkern_predict(args.emkern, path, x, tmp)
        want = np.asarray(want, dtype=np.float64).reshape(got.shape)
        err = np.abs(got - want) / (1e-6 / 1e-5 + np.abs(want))
        worst = float(err.max())
        worst_all = max(worst_all, worst)
        ok = worst <= 1e-5
        bad += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {desc}: max rel err {worst:.2e}")
    print(f"{args.models - bad} passed, {bad} failed (worst {worst_all:.2e})")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
