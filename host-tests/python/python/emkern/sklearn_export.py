"""Export fitted scikit-learn tree ensembles to emkern's JSON model format.

The format (``"format": "emkern-sklearn", "version": 1``) is specified in ``docs/sklearn-json.md``; it maps
one-to-one onto emkern's ensemble IR. This module only reads a fitted estimator's arrays: it needs numpy and
scikit-learn, nothing else, and never pickles anything.

It is the module ``emkern.sklearn_export`` of the Python package (``emkern.convert`` calls it for scikit-learn
estimators); ``host-tests/python/emkern_sklearn.py`` loads this same file by path for scripts that run without
the package installed.

Usage::

    from emkern.sklearn_export import export, dump, evaluate
    doc = export(fitted)            # a JSON-ready dict
    dump(fitted, "model.json")      # the same, written to a file
    margin, pred = evaluate(doc, X)  # pure-Python reference evaluation of a document

Supported: DecisionTree{Classifier,Regressor}, ExtraTree{Classifier,Regressor}, RandomForest{Classifier,Regressor},
ExtraTrees{Classifier,Regressor}, GradientBoosting{Classifier,Regressor}, HistGradientBoosting{Classifier,Regressor},
AdaBoostClassifier (SAMME) and AdaBoostRegressor (AdaBoost.R2, a weighted median) over decision trees.
"""

from __future__ import annotations

import json
import math

import numpy as np
import sklearn
from sklearn.ensemble import (
    AdaBoostClassifier,
    AdaBoostRegressor,
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.tree import (
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    ExtraTreeClassifier,
    ExtraTreeRegressor,
)

FORMAT = "emkern-sklearn"
VERSION = 1

_TREE_LEAF = -1
_MAX_CATEGORY = 1 << 24


class ExportError(ValueError):
    """The estimator (or one of its settings) cannot be expressed in the format."""


# --------------------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------------------


def _num(x) -> float | str:
    """An f64 as a JSON value: a float, or "inf" / "-inf" / "nan" for non-finite values."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def _leaf_values(values) -> list:
    out = []
    for v in values:
        v = float(v)
        if not math.isfinite(v):
            raise ExportError(f"non-finite leaf value {v}")
        out.append(v)
    return out


def _sklearn_at_least(major: int, minor: int) -> bool:
    parts = sklearn.__version__.split(".")
    try:
        return (int(parts[0]), int(parts[1])) >= (major, minor)
    except ValueError:
        return True


def _label(v):
    """A class label as a JSON value."""
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, (int, float, str, bool)):
        return v
    return str(v)


def _header(est, n_outputs: int, transform: str, aggregate, base_margin, margin_eq: str, pred_eq: str,
            detail: str = "", input_dtype: str = "float32") -> dict:
    """The top-level fields. ``input_dtype`` is the dtype the estimator converts ``X`` to before comparing it with
    its thresholds: ``float32`` for the classic trees (``sklearn.tree`` casts to ``DTYPE``), ``float64`` for
    ``HistGradientBoosting*``."""
    name = type(est).__name__
    source = f"scikit-learn {sklearn.__version__}, {name}"
    if detail:
        source += f"({detail})"
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "source": source,
        "estimator": name,
        "sklearn_version": sklearn.__version__,
        "n_features": int(est.n_features_in_),
        "n_outputs": int(n_outputs),
        "compare": "le",
        "aggregate": aggregate,
        "transform": transform,
        "precision": "f64",
        "input_dtype": input_dtype,
        "base_margin": [_num(b) for b in base_margin],
        "margin_equals": margin_eq,
        "prediction_equals": pred_eq,
    }
    names = getattr(est, "feature_names_in_", None)
    if names is not None:
        doc["feature_names"] = [str(n) for n in names]
    return doc


# --------------------------------------------------------------------------------------------------------------
# Classic trees (sklearn.tree._tree.Tree)
# --------------------------------------------------------------------------------------------------------------


def _classic_nodes(tree, leaf_of) -> list:
    """Nodes of a fitted ``tree_`` in its own numbering; ``leaf_of(i)`` gives leaf ``i``'s values."""
    left = tree.children_left
    right = tree.children_right
    feature = tree.feature
    threshold = tree.threshold
    missing_left = getattr(tree, "missing_go_to_left", None)
    nodes = []
    for i in range(tree.node_count):
        if left[i] == _TREE_LEAF:
            nodes.append({"leaf": _leaf_values(leaf_of(i))})
        else:
            default_left = bool(missing_left[i]) if missing_left is not None else False
            nodes.append({
                "split": {
                    "feature": int(feature[i]),
                    "threshold": _num(threshold[i]),
                    "default_left": default_left,
                    "missing": "nan",
                },
                "left": int(left[i]),
                "right": int(right[i]),
            })
    return nodes


def _classifier_proba_rows(tree_est):
    """Per-node class-probability vectors of a fitted classic tree classifier, concatenated over outputs,
    exactly as its ``predict_proba`` returns them."""
    value = np.asarray(tree_est.tree_.value, dtype=np.float64)  # (nodes, n_outputs, max_classes)
    n_classes = np.atleast_1d(tree_est.n_classes_)
    blocks = []
    for k, nk in enumerate(n_classes):
        p = value[:, k, : int(nk)].copy()
        if not _sklearn_at_least(1, 4):
            # Older releases store weighted counts; predict_proba normalises them.
            norm = p.sum(axis=1)[:, np.newaxis]
            norm[norm == 0.0] = 1.0
            p /= norm
        blocks.append(p)
    return np.concatenate(blocks, axis=1)


def _classes_field(est):
    if isinstance(est.classes_, list):
        return [[_label(c) for c in cs] for cs in est.classes_]
    return [_label(c) for c in est.classes_]


def _export_single_tree(est) -> dict:
    if isinstance(est, (DecisionTreeClassifier, ExtraTreeClassifier)):
        proba = _classifier_proba_rows(est)
        n_out = proba.shape[1]
        doc = _header(est, n_out, "identity", "sum", [0.0] * n_out,
                      _proba_expr(est), _proba_expr(est), _crit(est))
        doc["classes"] = _classes_field(est)
        doc["trees"] = [{"output": None, "weight": 1.0, "nodes": _classic_nodes(est.tree_, lambda i: proba[i])}]
        return doc
    value = np.asarray(est.tree_.value, dtype=np.float64)[:, :, 0]
    n_out = int(est.n_outputs_)
    doc = _header(est, n_out, "identity", "sum", [0.0] * n_out, "predict(X)", "predict(X)", _crit(est))
    doc["trees"] = [_regression_tree(est.tree_, value, n_out)]
    return doc


def _regression_tree(tree, value, n_out) -> dict:
    if n_out == 1:
        return {"output": 0, "weight": 1.0, "nodes": _classic_nodes(tree, lambda i: [value[i, 0]])}
    return {"output": None, "weight": 1.0, "nodes": _classic_nodes(tree, lambda i: value[i])}


def _crit(est) -> str:
    c = getattr(est, "criterion", None)
    return f"criterion={c}" if c is not None else ""


def _proba_expr(est) -> str:
    if int(getattr(est, "n_outputs_", 1)) > 1:
        return "np.hstack(predict_proba(X))"
    return "predict_proba(X)"


def _export_forest(est) -> dict:
    trees = est.estimators_
    t = len(trees)
    if isinstance(est, (RandomForestClassifier, ExtraTreesClassifier)):
        first = _classifier_proba_rows(trees[0])
        n_out = first.shape[1]
        doc = _header(est, n_out, "identity", {"mean": float(t)}, [0.0] * n_out,
                      _proba_expr(est), _proba_expr(est), f"n_estimators={t}, {_crit(est)}")
        doc["classes"] = _classes_field(est)
        out = []
        for tr in trees:
            proba = _classifier_proba_rows(tr)
            if proba.shape[1] != n_out:
                raise ExportError("forest trees disagree on the number of classes")
            out.append({"output": None, "weight": 1.0, "nodes": _classic_nodes(tr.tree_, lambda i, p=proba: p[i])})
        doc["trees"] = out
        return doc
    n_out = int(est.n_outputs_)
    doc = _header(est, n_out, "identity", {"mean": float(t)}, [0.0] * n_out, "predict(X)", "predict(X)",
                  f"n_estimators={t}, {_crit(est)}")
    doc["trees"] = [_regression_tree(tr.tree_, np.asarray(tr.tree_.value, dtype=np.float64)[:, :, 0], n_out)
                    for tr in trees]
    return doc


# --------------------------------------------------------------------------------------------------------------
# GradientBoosting
# --------------------------------------------------------------------------------------------------------------


def _export_gradient_boosting(est) -> dict:
    from sklearn.dummy import DummyClassifier, DummyRegressor

    init = est.init_
    if not (isinstance(init, str) and init == "zero") and not isinstance(init, (DummyClassifier, DummyRegressor)):
        raise ExportError(f"GradientBoosting with init={type(init).__name__} is not supported (only the default "
                          "prior or 'zero')")
    k = int(est.estimators_.shape[1])
    # The prior does not depend on X: evaluate scikit-learn's own init raw prediction on one dummy row.
    x0 = np.zeros((1, int(est.n_features_in_)), dtype=np.float32)
    base = np.asarray(est._raw_predict_init(x0), dtype=np.float64)[0]
    if base.shape[0] != k:
        raise ExportError("unexpected init raw prediction shape")
    lr = float(est.learning_rate)
    classifier = isinstance(est, GradientBoostingClassifier)
    if classifier:
        n_classes = len(est.classes_)
        if n_classes == 2:
            transform, meq, peq = "sigmoid", "decision_function(X)", "predict_proba(X)[:, 1]"
        else:
            transform, meq, peq = "softmax", "decision_function(X)", "predict_proba(X)"
    else:
        transform, meq, peq = "identity", "predict(X)", "predict(X)"
    doc = _header(est, k, transform, "sum", base, meq, peq,
                  f"loss={est.loss}, n_estimators={est.estimators_.shape[0]}, learning_rate={lr!r}")
    if classifier:
        doc["classes"] = _classes_field(est)
    trees = []
    for stage in est.estimators_:
        for col, tr in enumerate(stage):
            v = np.asarray(tr.tree_.value, dtype=np.float64)[:, 0, 0]
            trees.append({"output": col, "weight": 1.0,
                          "nodes": _classic_nodes(tr.tree_, lambda i, v=v: [lr * float(v[i])])})
    doc["trees"] = trees
    return doc


# --------------------------------------------------------------------------------------------------------------
# HistGradientBoosting
# --------------------------------------------------------------------------------------------------------------


def _bitset_members(row) -> list[int]:
    """Members of one 256-bit scikit-learn bitset row (8 x uint32)."""
    out = []
    for word_idx, word in enumerate(np.asarray(row, dtype=np.uint64)):
        w = int(word)
        for bit in range(32):
            if (w >> bit) & 1:
                out.append(word_idx * 32 + bit)
    return out


def _hist_feature_maps(est):
    """(transformed feature index -> original index, transformed index -> code->value list or None)."""
    n = int(est.n_features_in_)
    pre = getattr(est, "_preprocessor", None)
    if pre is None:
        return list(range(n)), [None] * n
    is_cat = np.asarray(est.is_categorical_, dtype=bool)
    cat_idx = np.flatnonzero(is_cat)
    num_idx = np.flatnonzero(~is_cat)
    to_orig = [None] * n
    code_values = [None] * n
    enc_slice = pre.output_indices_["encoder"]
    num_slice = pre.output_indices_["numerical"]
    if enc_slice.stop - enc_slice.start != len(cat_idx) or num_slice.stop - num_slice.start != len(num_idx):
        raise ExportError("unexpected column layout of the HistGradientBoosting preprocessor")
    encoder = pre.named_transformers_["encoder"]
    for j, orig in enumerate(cat_idx):
        t = enc_slice.start + j
        to_orig[t] = int(orig)
        cats = encoder.categories_[j]
        values = []
        for c in cats:
            try:
                fc = float(c)
            except (TypeError, ValueError):
                fc = None
            if fc is None or math.isnan(fc):
                values.append(None)  # NaN is last and never a code that reaches the trees
                continue
            if not fc.is_integer() or fc < 0 or fc >= _MAX_CATEGORY:
                name = est.feature_names_in_[orig] if hasattr(est, "feature_names_in_") else orig
                raise ExportError(f"categorical feature {name!r}: category {c!r} is not an integer in [0, 2^24); "
                                  "encode the column as such integers before fitting")
            values.append(int(fc))
        code_values[t] = values
    for j, orig in enumerate(num_idx):
        to_orig[num_slice.start + j] = int(orig)
    return to_orig, code_values


def _export_hist(est) -> dict:
    to_orig, code_values = _hist_feature_maps(est)
    is_cat = getattr(est, "is_categorical_", None)
    if is_cat is not None and np.any(is_cat):
        known_bitsets, f_idx_map = est._bin_mapper.make_known_categories_bitsets()
    k = int(est.n_trees_per_iteration_)
    base = np.asarray(est._baseline_prediction, dtype=np.float64).reshape(-1)
    if base.shape[0] != k:
        raise ExportError("unexpected baseline prediction shape")
    link = type(est._loss.link).__name__
    classifier = isinstance(est, HistGradientBoostingClassifier)
    if classifier:
        if k == 1:
            transform, meq, peq = "sigmoid", "decision_function(X)", "predict_proba(X)[:, 1]"
        else:
            transform, meq, peq = "softmax", "decision_function(X)", "predict_proba(X)"
    else:
        if link == "IdentityLink":
            transform = "identity"
        elif link == "LogLink":
            transform = "exp"
        else:
            raise ExportError(f"unsupported HistGradientBoostingRegressor link {link}")
        meq, peq = "_raw_predict(X)[:, 0]", "predict(X)"
    doc = _header(est, k, transform, "sum", base, meq, peq,
                  f"loss={est.loss}, max_iter={est.n_iter_}", input_dtype="float64")
    if classifier:
        doc["classes"] = _classes_field(est)
    trees = []
    for iteration in est._predictors:
        for col, predictor in enumerate(iteration):
            nodes_arr = predictor.nodes
            nodes = []
            for i in range(len(nodes_arr)):
                nd = nodes_arr[i]
                if nd["is_leaf"]:
                    nodes.append({"leaf": _leaf_values([nd["value"]])})
                    continue
                f = int(nd["feature_idx"])
                miss_left = bool(nd["missing_go_to_left"])
                split = {"feature": to_orig[f]}
                if nd["is_categorical"]:
                    left_codes = set(_bitset_members(predictor.raw_left_cat_bitsets[int(nd["bitset_idx"])]))
                    known_codes = set(_bitset_members(known_bitsets[int(f_idx_map[f])]))
                    values = code_values[f]
                    if values is None:
                        # No ordinal encoder (scikit-learn < 1.4): the bitsets hold the raw values themselves.
                        values = list(range(256))
                    left_codes &= known_codes
                    # Everything outside the listed set goes the missing-value way (NaN, negative, unknown).
                    listed = (known_codes - left_codes) if miss_left else left_codes
                    cats = sorted(values[c] for c in listed)
                    if any(c is None for c in cats):
                        raise ExportError("a NaN category reached a split")
                    split.update({"categories": cats, "in_set_left": not miss_left, "truncate_first": False})
                else:
                    split["threshold"] = _num(nd["num_threshold"])
                split["default_left"] = miss_left
                split["missing"] = "nan"
                nodes.append({"split": split, "left": int(nd["left"]), "right": int(nd["right"])})
            trees.append({"output": col, "weight": 1.0, "nodes": nodes})
    doc["trees"] = trees
    return doc


# --------------------------------------------------------------------------------------------------------------
# AdaBoost (SAMME)
# --------------------------------------------------------------------------------------------------------------


def _export_adaboost(est) -> dict:
    algo = getattr(est, "algorithm", "SAMME")
    if algo not in ("SAMME", "deprecated"):
        raise ExportError(f"AdaBoostClassifier(algorithm={algo!r}) is not supported; use SAMME")
    classes = np.asarray(est.classes_)
    k = len(classes)
    if k < 2:
        raise ExportError("AdaBoostClassifier with fewer than two classes")
    weights = np.asarray(est.estimator_weights_, dtype=np.float64)
    total = float(weights.sum())
    binary = k == 2
    n_out = 1 if binary else k
    if binary:
        agg = {"mean": total}
        transform, meq, peq = "sigmoid", "decision_function(X)", "predict_proba(X)[:, 1]"
    else:
        agg = {"mean": float((k - 1) * total)}
        transform, meq, peq = "softmax", "decision_function(X) / (n_classes - 1)", "predict_proba(X)"
    doc = _header(est, n_out, transform, agg, [0.0] * n_out, meq, peq,
                  f"algorithm=SAMME, n_estimators={len(est.estimators_)}")
    doc["classes"] = _classes_field(est)
    trees = []
    for tr, w in zip(est.estimators_, weights):
        if not isinstance(tr, (DecisionTreeClassifier, ExtraTreeClassifier)):
            raise ExportError(f"AdaBoost base estimator {type(tr).__name__} is not a decision tree")
        w = float(w)
        proba = _classifier_proba_rows(tr)
        tr_classes = np.asarray(tr.classes_)

        def leaf(i, proba=proba, tr_classes=tr_classes, w=w):
            predicted = tr_classes[int(np.argmax(proba[i]))]
            votes = [w if c == predicted else -1 / (k - 1) * w for c in classes]
            if binary:
                return [votes[1] - votes[0]]
            return votes

        trees.append({"output": 0 if binary else None, "weight": 1.0, "nodes": _classic_nodes(tr.tree_, leaf)})
    doc["trees"] = trees
    return doc


# --------------------------------------------------------------------------------------------------------------
# AdaBoost.R2 (weighted median)
# --------------------------------------------------------------------------------------------------------------


def _export_adaboost_regressor(est) -> dict:
    n = len(est.estimators_)
    # `estimator_weights_` has n_estimators entries; those after the last fitted estimator (boosting stopped
    # early, or its last tree was dropped for an error >= 0.5) are 0 and belong to no tree.
    weights = np.asarray(est.estimator_weights_, dtype=np.float64)[:n]
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ExportError("AdaBoostRegressor has a negative or non-finite estimator weight")
    doc = _header(est, 1, "identity", {"weighted_median": [float(w) for w in weights]}, [0.0], "predict(X)",
                  "predict(X)", f"loss={est.loss}, n_estimators={n}")
    trees = []
    for tr in est.estimators_:
        if not isinstance(tr, (DecisionTreeRegressor, ExtraTreeRegressor)) or int(tr.n_outputs_) != 1:
            raise ExportError(f"AdaBoostRegressor base estimator {type(tr).__name__} is not a single-output "
                              "regression tree")
        trees.append(_regression_tree(tr.tree_, np.asarray(tr.tree_.value, dtype=np.float64)[:, :, 0], 1))
    doc["trees"] = trees
    return doc


def weighted_median(values, weights) -> float:
    """scikit-learn's weighted median (``AdaBoostRegressor._get_median_predict``) with a stable sort: the value
    at the first position whose running weight sum (``np.cumsum``, in increasing order of the values) reaches half
    the last one."""
    values = np.asarray(values, dtype=np.float64)
    order = np.argsort(values, kind="stable")
    cdf = np.cumsum(np.asarray(weights, dtype=np.float64)[order])
    return float(values[order[int(np.argmax(cdf >= 0.5 * cdf[-1]))]])


# --------------------------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------------------------


def export(est) -> dict:
    """The emkern-sklearn JSON document (a dict) of a fitted estimator."""
    if isinstance(est, (HistGradientBoostingClassifier, HistGradientBoostingRegressor)):
        return _export_hist(est)
    if isinstance(est, (GradientBoostingClassifier, GradientBoostingRegressor)):
        return _export_gradient_boosting(est)
    if isinstance(est, AdaBoostClassifier):
        return _export_adaboost(est)
    if isinstance(est, AdaBoostRegressor):
        return _export_adaboost_regressor(est)
    if isinstance(est, (RandomForestClassifier, RandomForestRegressor, ExtraTreesClassifier, ExtraTreesRegressor)):
        return _export_forest(est)
    if isinstance(est, (DecisionTreeClassifier, DecisionTreeRegressor, ExtraTreeClassifier, ExtraTreeRegressor)):
        return _export_single_tree(est)
    raise ExportError(f"{type(est).__name__} is not supported")


def dumps(est) -> str:
    """The document as JSON text (compact, one tree per line)."""
    doc = export(est)
    trees = doc.pop("trees")
    head = json.dumps(doc, allow_nan=False)
    body = ",\n".join(json.dumps(t, allow_nan=False, separators=(",", ":")) for t in trees)
    return head[:-1] + ', "trees": [\n' + body + "\n]}\n"


def dump(est, path) -> None:
    """Writes the document of a fitted estimator to ``path``."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(dumps(est))


# --------------------------------------------------------------------------------------------------------------
# Reference evaluation (the normative semantics of docs/sklearn-json.md, in plain Python)
# --------------------------------------------------------------------------------------------------------------


def _f(v) -> float:
    if isinstance(v, str):
        return {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}[v]
    return float(v)


_SETS: dict = {}


def _category_set(split) -> frozenset:
    key = id(split)
    hit = _SETS.get(key)
    if hit is None or hit[0] is not split:
        hit = (split, frozenset(split["categories"]))
        _SETS[key] = hit
    return hit[1]


def _goes_left(split, x: float) -> bool:
    if math.isnan(x):
        return split["default_left"]
    if "categories" in split:
        t = math.trunc(x)
        valid = (t >= 0 if split["truncate_first"] else x >= 0) and x < 16777216.0
        in_set = valid and int(t) in _category_set(split)
        return in_set == split["in_set_left"]
    return x <= _f(split["threshold"])


def evaluate(doc: dict, X) -> tuple[np.ndarray, np.ndarray]:
    """Margins and predictions of a document for rows ``X`` (cast to float32 first), in f64."""
    if doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise ValueError("not an emkern-sklearn version 1 document")
    if doc["compare"] != "le":
        raise ValueError("unsupported compare")
    X = np.asarray(X, dtype=np.float32)
    n_out = doc["n_outputs"]
    agg = doc["aggregate"]
    median = None if agg == "sum" else agg.get("weighted_median")
    divisor = 1.0 if agg == "sum" or median is not None else _f(agg["mean"])
    base = [_f(b) for b in doc["base_margin"]]
    margins = np.empty((X.shape[0], n_out), dtype=np.float64)
    for r in range(X.shape[0]):
        row = [float(v) for v in X[r]]
        s = [0.0] * n_out
        outputs = []
        for tree in doc["trees"]:
            nodes = tree["nodes"]
            i = 0
            while "leaf" not in nodes[i]:
                nd = nodes[i]
                i = nd["left"] if _goes_left(nd["split"], row[nd["split"]["feature"]]) else nd["right"]
            leaf = nodes[i]["leaf"]
            w = float(tree["weight"])
            if median is not None:
                outputs.append(w * leaf[0])
            elif tree["output"] is None:
                for j in range(n_out):
                    s[j] += w * leaf[j]
            else:
                s[tree["output"]] += w * leaf[0]
        if median is not None:
            margins[r] = [base[0] + weighted_median(outputs, [_f(m) for m in median])]
        else:
            margins[r] = [b + v / divisor for b, v in zip(base, s)]
    return margins, transform(doc["transform"], margins)


def transform(name: str, margins: np.ndarray) -> np.ndarray:
    """The output transform of the format, row-wise, in f64."""
    m = np.asarray(margins, dtype=np.float64)
    if name == "identity":
        return m.copy()
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-m))
    if name == "exp":
        return np.exp(m)
    if name == "hinge_step":
        return (m > 0).astype(np.float64)
    if name == "softmax":
        e = np.exp(m - m.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if name == "argmax":
        return np.argmax(m, axis=1).astype(np.float64)[:, np.newaxis]
    raise ValueError(f"unknown transform {name}")


__all__ = ["export", "dump", "dumps", "evaluate", "transform", "weighted_median", "ExportError", "FORMAT",
           "VERSION"]
