"""scikit-learn's side of host-tests/tests/train_random_state.rs.

Usage: python3 train_random_state.py OUT_DIR

Generates randomized datasets from fixed seeds (ties and duplicate rows, constant features, missing values, sample
weights, 2 to 10 classes, regression targets), writes each as CSV (OUT_DIR/<case>_train.csv with the features,
an optional weight column `w` and the target `y`; OUT_DIR/<case>_test.csv with the features alone), fits
DecisionTree*, RandomForest* and ExtraTrees* with a parameter set and a `random_state` per case on the same
float32 values the CSV holds, and writes OUT_DIR/cases.json: per case the estimator, its parameters, the seed, the
test predictions (`predict_proba` or `predict`), every fitted tree node by node and the out-of-bag score.
"""

import csv
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor, RandomForestClassifier, RandomForestRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

ESTIMATORS = {
    ("cart", "classification"): DecisionTreeClassifier,
    ("cart", "regression"): DecisionTreeRegressor,
    ("rf", "classification"): RandomForestClassifier,
    ("rf", "regression"): RandomForestRegressor,
    ("extra-trees", "classification"): ExtraTreesClassifier,
    ("extra-trees", "regression"): ExtraTreesRegressor,
}

# Seeds every algorithm is tried with, then seeds drawn from a fixed generator (the whole 32-bit range).
FIXED_SEEDS = [0, 1, 7, 42, 2**32 - 1]
RANDOM_SEEDS = [int(s) for s in np.random.RandomState(20_261_207).randint(0, 2**32, size=80, dtype=np.uint64)]


def dataset(gen_seed, n, d, task, n_classes=0, ties=False, constant=0, nan=0.0, weights=None):
    """Features as float32 (integers in a small range with `ties`, else normals), `constant` constant columns,
    a fraction `nan` of missing cells (never in the target), duplicated rows with `ties`, a target that depends on
    the features, and sample weights (`int`: 0..3, `dyadic`: quarters in (0, 4], `real`: uniform in [0.1, 3])."""
    rng = np.random.RandomState(gen_seed)
    if ties:
        x = rng.randint(0, 5, size=(n, d)).astype(np.float32)
        dup = rng.randint(0, n, size=n // 4)
        x[rng.randint(0, n, size=n // 4)] = x[dup]
    else:
        x = rng.normal(size=(n, d)).astype(np.float32)
    for c in range(constant):
        x[:, (2 * c + 1) % d] = np.float32(1.5 * (c + 1))
    signal = x[:, 0] + 0.5 * x[:, 1 % d] - 0.25 * x[:, 2 % d] + 0.5 * rng.normal(size=n)
    if task == "classification":
        edges = np.quantile(signal, np.linspace(0, 1, n_classes + 1)[1:-1])
        y = np.searchsorted(edges, signal).astype(np.int64)
        # A few labels moved at random, so that leaves are not pure.
        flip = rng.rand(n) < 0.1
        y[flip] = rng.randint(0, n_classes, size=flip.sum())
    else:
        y = np.round(3.0 * signal + 10.0, 3)
    if nan > 0:
        mask = rng.rand(n, d) < nan
        x[mask] = np.nan
    w = None
    if weights == "int":
        w = rng.randint(0, 4, size=n).astype(np.float64)
        w[0] = 1.0
    elif weights == "dyadic":
        w = rng.randint(1, 17, size=n) / 4.0
    elif weights == "real":
        w = np.round(rng.uniform(0.1, 3.0, size=n), 6)
    return x, y, w


def cell(v):
    return "" if np.isnan(v) else repr(float(v))


def write(out, name, x, y, w, x_test):
    d = x.shape[1]
    with open(out / f"{name}_train.csv", "w", newline="") as f:
        wr = csv.writer(f, lineterminator="\n")
        wr.writerow([f"f{j}" for j in range(d)] + (["w"] if w is not None else []) + ["y"])
        for i in range(len(y)):
            row = [cell(v) for v in x[i]]
            if w is not None:
                row.append(repr(float(w[i])))
            row.append(repr(int(y[i])) if y.dtype.kind == "i" else repr(float(y[i])))
            wr.writerow(row)
    with open(out / f"{name}_test.csv", "w", newline="") as f:
        wr = csv.writer(f, lineterminator="\n")
        wr.writerow([f"f{j}" for j in range(d)])
        for row in x_test:
            wr.writerow([cell(v) for v in row])


def num(v):
    v = float(v)
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def tree_json(t, n_out):
    internal = t.children_left != -1
    return {
        "children_left": [int(v) for v in t.children_left],
        "children_right": [int(v) for v in t.children_right],
        "feature": [int(f) if i else -1 for f, i in zip(t.feature, internal)],
        "threshold": [num(v) if i else None for v, i in zip(t.threshold, internal)],
        "missing_go_to_left": [bool(m) if i else None for m, i in zip(t.missing_go_to_left, internal)],
        "n_node_samples": [int(v) for v in t.n_node_samples],
        "weighted_n_node_samples": [float(v) for v in t.weighted_n_node_samples],
        "impurity": [float(v) for v in t.impurity],
        "value": [[float(v) for v in row[0][:n_out]] for row in t.value],
    }


def cases():
    """(name, algo, task, dataset kwargs, estimator parameters, seed)."""
    seeds = iter(RANDOM_SEEDS)
    out = []

    def add(algo, task, data, params, seed=None):
        seed = next(seeds) if seed is None else seed
        out.append((f"c{len(out):02}_{algo}_{task[:3]}", algo, task, data, params, seed))

    # Every algorithm with the default parameters and the fixed seeds, on a 2-class and a regression dataset.
    for algo in ["cart", "rf", "extra-trees"]:
        for i, seed in enumerate(FIXED_SEEDS):
            trees = {} if algo == "cart" else {"n_estimators": 8}
            add(algo, "classification", dict(gen_seed=100 + i, n=150, d=6, n_classes=2), trees, seed)
            if i % 2 == 0:
                add(algo, "regression", dict(gen_seed=200 + i, n=120, d=5), trees, seed)

    # Classes, ties, constant features, missing values and weights.
    shapes = [
        dict(n=160, d=7, n_classes=3, ties=True),
        dict(n=200, d=8, n_classes=5, constant=2),
        dict(n=240, d=6, n_classes=10, nan=0.15),
        dict(n=150, d=5, n_classes=4, ties=True, nan=0.1, weights="int"),
        dict(n=150, d=6, n_classes=2, weights="dyadic", constant=1),
        dict(n=140, d=5, n_classes=3, weights="real"),
    ]
    for j, shape in enumerate(shapes):
        for algo in ["cart", "rf", "extra-trees"]:
            trees = {} if algo == "cart" else {"n_estimators": 6}
            add(algo, "classification", dict(gen_seed=300 + j, **shape), trees)
    reg_shapes = [
        dict(n=150, d=6, ties=True),
        dict(n=150, d=6, nan=0.15, constant=1),
        dict(n=130, d=5, weights="int"),
        dict(n=130, d=5, weights="real", ties=True),
    ]
    for j, shape in enumerate(reg_shapes):
        for algo in ["cart", "rf", "extra-trees"]:
            trees = {} if algo == "cart" else {"n_estimators": 6}
            add(algo, "regression", dict(gen_seed=400 + j, **shape), trees)

    # Parameters: max_features, criteria, leaf sizes, depth, best-first growth, class weights, bootstrap,
    # max_samples, out-of-bag scores.
    cls = dict(gen_seed=500, n=180, d=9, n_classes=3, ties=True, nan=0.05)
    reg = dict(gen_seed=501, n=160, d=9, nan=0.05)
    for mf in ["sqrt", "log2", 3, 0.5, None, 1.0]:
        add("cart", "classification", cls, {"max_features": mf})
        add("rf", "classification", cls, {"n_estimators": 5, "max_features": mf})
        add("extra-trees", "regression", reg, {"n_estimators": 5, "max_features": mf})
    for crit in ["gini", "entropy", "log_loss"]:
        add("cart", "classification", cls, {"criterion": crit, "max_features": "sqrt"})
        add("extra-trees", "classification", cls, {"n_estimators": 5, "criterion": crit})
    add("rf", "regression", reg, {"n_estimators": 5, "criterion": "squared_error", "min_samples_leaf": 3})
    add("rf", "classification", cls, {"n_estimators": 5, "min_samples_leaf": 4, "max_depth": 6})
    add("extra-trees", "classification", cls, {"n_estimators": 5, "min_samples_leaf": 2, "min_samples_split": 7})
    add("cart", "regression", reg, {"max_leaf_nodes": 12, "max_features": 0.6})
    add("rf", "classification", cls, {"n_estimators": 5, "max_leaf_nodes": 9, "min_impurity_decrease": 0.002})
    add("cart", "classification", dict(cls, weights="int"), {"min_weight_fraction_leaf": 0.05})
    add("rf", "classification", dict(cls, weights="int"), {"n_estimators": 5, "class_weight": "balanced"})
    add("rf", "classification", cls, {"n_estimators": 5, "class_weight": "balanced"})
    add("extra-trees", "classification", cls, {"n_estimators": 5, "class_weight": {0: 1.0, 1: 2.5, 2: 0.5}})
    add("cart", "classification", cls, {"class_weight": "balanced", "max_depth": 5})
    add("extra-trees", "classification", cls, {"n_estimators": 5, "bootstrap": True})
    add("extra-trees", "regression", reg, {"n_estimators": 5, "bootstrap": True, "max_samples": 0.7})
    add("rf", "regression", reg, {"n_estimators": 5, "bootstrap": False})
    add("rf", "classification", cls, {"n_estimators": 5, "max_samples": 60})
    add("rf", "classification", dict(cls, weights="dyadic"), {"n_estimators": 5, "max_samples": 0.5})
    add("rf", "classification", dict(cls, weights="int"), {"n_estimators": 5, "max_samples": 250})
    add("rf", "classification", dict(cls, n=120), {"n_estimators": 40, "oob_score": True})
    add("rf", "regression", dict(reg, n=100), {"n_estimators": 40, "oob_score": True, "max_features": 0.5})
    add("extra-trees", "classification", dict(cls, n=100, weights="int"),
        {"n_estimators": 40, "bootstrap": True, "oob_score": True})
    return out


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    warnings.simplefilter("ignore")
    results = []
    for name, algo, task, data, params, seed in cases():
        x, y, w = dataset(task=task, **data)
        # Test rows: fresh rows of the same kind (features only), plus the first training rows.
        x_test, _, _ = dataset(task=task, **dict(data, gen_seed=data["gen_seed"] + 10_000, weights=None))
        x_test = np.vstack([x_test[:60], x[:20]])
        write(out, name, x, y, w, x_test)
        est = ESTIMATORS[(algo, task)](random_state=seed, **params)
        est.fit(x, y, sample_weight=w)
        trees = est.estimators_ if algo != "cart" else [est]
        n_out = len(est.classes_) if task == "classification" else 1
        prediction = est.predict_proba(x_test) if task == "classification" else est.predict(x_test)[:, None]
        results.append({
            "name": name,
            "algo": algo,
            "task": task,
            "seed": seed,
            "params": params,
            "weighted": w is not None,
            "n_train": int(len(y)),
            "classes": [int(c) for c in est.classes_] if task == "classification" else None,
            "prediction": [[float(v) for v in row] for row in prediction],
            "trees": [tree_json(t.tree_, n_out) for t in trees],
            "tree_seeds": [int(t.random_state) for t in trees] if algo != "cart" else None,
            "oob_score": float(est.oob_score_) if params.get("oob_score") else None,
        })
    with open(out / "cases.json", "w") as f:
        json.dump({"sklearn": sklearn.__version__, "numpy": np.__version__, "cases": results}, f)


if __name__ == "__main__":
    main()
