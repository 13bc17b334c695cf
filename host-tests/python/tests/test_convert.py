"""``emkern.convert`` on fitted framework objects: the predictions through the core equal the framework's.

Tolerances: XGBoost's margins are bit-identical (same f32 sums in the same order); transformed outputs within
2 ulp of f32 (XGBoost's and emkern's sigmoid/softmax round differently). LightGBM, scikit-learn and CatBoost compute
in f64 and the core in f32: 1e-6 absolute on probabilities, 1e-6 relative to the target's scale on regression.
"""

import warnings

import numpy as np
import pytest

import emkern
from conftest import need


def close(a, b, scale=1.0, tol=1e-6):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    worst = np.max(np.abs(a - b)) / scale
    assert worst <= tol, f"max difference {worst:.3g} (scaled) > {tol}"


# --------------------------------------------------------------------------------------------------------------
# XGBoost


def test_xgboost_booster_binary_margins_are_bit_identical(binary):
    xgb = need("xgboost")
    x, y = binary
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 4, "eta": 0.3, "seed": 0}, xgb.DMatrix(x, y), 30
    )
    m = emkern.convert(booster)
    d = xgb.DMatrix(x)
    assert np.array_equal(m.predict_margin(x), booster.predict(d, output_margin=True))
    close(m.predict(x), booster.predict(d), tol=2 * 2**-24)
    assert m.predict(x).shape == (len(x),)
    assert m.predict(x).dtype == np.float32


def test_xgboost_sklearn_api_multiclass(multiclass):
    xgb = need("xgboost")
    x, y = multiclass
    clf = xgb.XGBClassifier(n_estimators=15, max_depth=3, random_state=0).fit(x, y)
    m = emkern.convert(clf)
    assert m.transform == "softmax"
    assert np.array_equal(m.predict_margin(x), clf.predict(x, output_margin=True))
    close(m.predict(x), clf.predict_proba(x), tol=2 * 2**-24)
    assert np.array_equal(np.argmax(m.predict(x), axis=1), clf.predict(x))


def test_xgboost_regressor_from_pandas(regression):
    xgb = need("xgboost")
    pd = need("pandas")
    x, y = regression
    frame = pd.DataFrame(x, columns=[f"c{i}" for i in range(x.shape[1])])
    reg = xgb.XGBRegressor(n_estimators=25, max_depth=5, random_state=0).fit(frame, y)
    m = emkern.convert(reg)
    assert np.array_equal(m.predict_margin(frame), reg.predict(frame, output_margin=True))
    assert np.array_equal(m.predict(frame), reg.predict(frame))


# --------------------------------------------------------------------------------------------------------------
# LightGBM


def test_lightgbm_booster_and_estimators(binary, multiclass, regression):
    lgb = need("lightgbm")
    x, y = binary
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 15, "verbose": -1, "seed": 0}, lgb.Dataset(x, y), 20
    )
    m = emkern.convert(booster)
    close(m.predict(x), booster.predict(x))
    close(m.predict_margin(x), booster.predict(x, raw_score=True), scale=np.abs(booster.predict(x, raw_score=True)).max())

    x, y = multiclass
    clf = lgb.LGBMClassifier(n_estimators=15, num_leaves=7, verbose=-1, random_state=0).fit(x, y)
    m = emkern.convert(clf)
    close(m.predict(x), clf.predict_proba(x))

    x, y = regression
    reg = lgb.LGBMRegressor(n_estimators=30, num_leaves=15, verbose=-1, random_state=0).fit(x, y)
    m = emkern.convert(reg)
    close(m.predict(x), reg.predict(x), scale=np.abs(y).max())


def test_lightgbm_f64_inputs_take_lightgbms_path():
    """A LightGBM threshold between two f64 values that round to the same f32: the row is mapped, not rounded."""
    lgb = need("lightgbm")
    rng = np.random.default_rng(5)
    x = rng.normal(size=(400, 3))
    x[:, 0] = 0.1 + rng.integers(-3, 4, size=400) * 1e-9  # values closer than an f32 step near 0.1
    y = (x[:, 0] > 0.1).astype(float) + 0.01 * x[:, 1]
    booster = lgb.train(
        {"objective": "regression", "num_leaves": 4, "min_data_in_leaf": 5, "verbose": -1, "max_bin": 1024},
        lgb.Dataset(x, y),
        5,
    )
    m = emkern.convert(booster)
    assert m.inspect()["f64_inputs"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        close(m.predict(x), booster.predict(x), scale=np.abs(y).max())


# --------------------------------------------------------------------------------------------------------------
# scikit-learn


@pytest.mark.parametrize(
    "make",
    [
        lambda e: e.RandomForestClassifier(n_estimators=12, max_depth=6, random_state=0),
        lambda e: e.ExtraTreesClassifier(n_estimators=8, random_state=1),
        lambda e: e.GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=0),
        lambda e: e.HistGradientBoostingClassifier(max_iter=20, random_state=0),
        lambda e: e.AdaBoostClassifier(n_estimators=10, random_state=0),
    ],
    ids=["rf", "extra-trees", "gb", "hist-gb", "adaboost"],
)
def test_sklearn_classifiers(make, multiclass):
    ensemble = need("sklearn.ensemble")
    x, y = multiclass
    needs_dense = "HistGradientBoosting" not in type(make(ensemble)).__name__
    if needs_dense and not _sklearn_takes_nan(make(ensemble)):
        x = np.nan_to_num(x)
    est = make(ensemble).fit(x, y)
    m = emkern.convert(est)
    close(m.predict(x), est.predict_proba(x))


def test_sklearn_regressors(regression):
    ensemble = need("sklearn.ensemble")
    x, y = regression
    for est in [
        ensemble.RandomForestRegressor(n_estimators=10, max_depth=8, random_state=0),
        ensemble.GradientBoostingRegressor(n_estimators=30, random_state=0),
        ensemble.HistGradientBoostingRegressor(max_iter=30, random_state=0),
        ensemble.AdaBoostRegressor(n_estimators=10, random_state=0),
    ]:
        est.fit(x, y)
        m = emkern.convert(est)
        close(m.predict(x), est.predict(x), scale=np.abs(y).max())


def test_sklearn_unsupported_estimator_is_an_emkern_error(regression):
    linear = need("sklearn.linear_model")
    x, y = regression
    with pytest.raises(emkern.EmkernError, match="LinearRegression is not supported"):
        emkern.convert(linear.LinearRegression().fit(x, y))


def _sklearn_takes_nan(est) -> bool:
    """Whether the installed scikit-learn fits this tree estimator on rows with NaN (1.3+ for trees and forests,
    1.4+ for extra trees; never for AdaBoost or the classic gradient boosting in the versions tested)."""
    sklearn = need("sklearn")
    major, minor = (int(p) for p in sklearn.__version__.split(".")[:2])
    name = type(est).__name__
    if name.startswith(("AdaBoost", "GradientBoosting")):
        return False
    return (major, minor) >= (1, 4)


# --------------------------------------------------------------------------------------------------------------
# CatBoost


def test_catboost_classifier_and_regressor(multiclass, regression):
    catboost = need("catboost")
    x, y = multiclass
    clf = catboost.CatBoostClassifier(iterations=20, depth=4, random_seed=0, verbose=False, allow_writing_files=False).fit(x, y)
    m = emkern.convert(clf)
    close(m.predict(x), clf.predict_proba(x))

    x, y = regression
    reg = catboost.CatBoostRegressor(iterations=30, depth=5, random_seed=0, verbose=False, allow_writing_files=False).fit(x, y)
    m = emkern.convert(reg)
    close(m.predict(x), reg.predict(x), scale=np.abs(y).max())


# --------------------------------------------------------------------------------------------------------------
# ONNX


def test_onnx_model_proto_from_skl2onnx(binary):
    need("onnx")
    skl2onnx = need("skl2onnx")
    ort = need("onnxruntime")
    ensemble = need("sklearn.ensemble")
    x, y = binary
    x = np.nan_to_num(x)
    est = ensemble.RandomForestClassifier(n_estimators=6, max_depth=5, random_state=0).fit(x, y)
    proto = skl2onnx.to_onnx(est, x[:1].astype(np.float32), options={"zipmap": False})
    m = emkern.convert(proto)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    probabilities = session.run(None, {session.get_inputs()[0].name: x.astype(np.float32)})[1]
    close(m.predict(x), probabilities)


# --------------------------------------------------------------------------------------------------------------
# Files, bytes, errors


def test_paths_bytes_and_objects_give_the_same_model(tmp_path, binary):
    xgb = need("xgboost")
    x, y = binary
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3}, xgb.DMatrix(x, y), 10)
    path = tmp_path / "model.ubj"
    booster.save_model(str(path))
    from_object = emkern.convert(booster)
    from_path = emkern.convert(path)
    from_bytes = emkern.convert(path.read_bytes())
    assert from_path.format == "XGBoost UBJSON"
    for m in (from_path, from_bytes):
        assert np.array_equal(m.predict_margin(x), from_object.predict_margin(x))


def test_errors_are_emkern_errors_with_the_message(tmp_path):
    bad = tmp_path / "model.json"
    bad.write_text('{"learner": 3}')
    with pytest.raises(emkern.EmkernError, match="model.json"):
        emkern.load(bad)
    with pytest.raises(emkern.EmkernError, match="unknown model format"):
        emkern.convert(b"not a model")
    with pytest.raises(TypeError, match="not a supported model"):
        emkern.convert(object())
    assert issubclass(emkern.EmkernError, ValueError)


def test_spark_model_directory_fixture():
    """Spark ML model directories (the committed fixtures made with PySpark) by path: Spark's own predictions,
    for f32 rows and for the f64 rows that rounding to f32 would send the other way."""
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "fixtures" / "spark"
    fixtures = sorted(p for p in root.iterdir() if (p / "model" / "metadata").is_dir()) if root.is_dir() else []
    if not fixtures:
        pytest.skip("no Spark fixtures in this checkout: SKIPPED")
    for fx in fixtures:
        meta = json.loads((fx / "meta.json").read_text())
        m = emkern.load(fx / "model")
        for rows_file, pred_file in [("input.csv", "pred.csv"), ("input-f64.csv", "pred-f64.csv")]:
            if not (fx / rows_file).exists():
                continue
            rows = np.genfromtxt(fx / rows_file, delimiter=",", skip_header=1, ndmin=2)
            want = np.genfromtxt(fx / pred_file, delimiter=",", skip_header=1, ndmin=2)
            got = m.predict(rows).reshape(len(rows), -1)
            np.testing.assert_allclose(
                got, want, rtol=1e-6, atol=1e-6, err_msg=f"{fx.name}/{rows_file} ({meta.get('class')})"
            )


def test_xgboost4j_spark_model_directory_fixture():
    """XGBoost4J-Spark (JVM) model directories by path (the committed fixtures: layout written from the
    XGBoost4J-Spark sources, boosters saved by the xgboost Python package of each release; legacy binary, UBJSON and
    JSON): the booster's margins bit for bit, its predictions within 2 ulp."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "fixtures" / "spark" / "xgboost4j"
    fixtures = sorted(p for p in root.iterdir() if (p / "model" / "metadata").is_dir()) if root.is_dir() else []
    if not fixtures:
        pytest.skip("no XGBoost4J-Spark fixtures in this checkout: SKIPPED")
    for fx in fixtures:
        m = emkern.load(fx / "model")
        rows = np.genfromtxt(fx / "input.csv", delimiter=",", skip_header=1, ndmin=2).astype(np.float32)
        margin = np.genfromtxt(fx / "margin.csv", delimiter=",", skip_header=1, ndmin=2).astype(np.float32)
        pred = np.genfromtxt(fx / "pred.csv", delimiter=",", skip_header=1, ndmin=2).astype(np.float32)
        got = m.predict_margin(rows).reshape(len(rows), -1)
        assert np.array_equal(got, margin), fx.name
        got = m.predict(rows).reshape(len(rows), -1)
        ulps = np.abs(got.view(np.int32).astype(np.int64) - pred.view(np.int32).astype(np.int64))
        assert ulps.max() <= 2, f"{fx.name}: {ulps.max()} ulp"


@pytest.mark.pyspark
def test_spark_ml_objects_convert_through_a_saved_directory():
    """Fitted PySpark models (Java needed): `convert` saves them and reads the directory back; the predictions
    are Spark's `probability`. Deselected in the test run (PySpark is a 300 MB download and a JVM start); run it
    with `pytest -m pyspark` where PySpark is installed."""
    need("pyspark")
    from pyspark.ml.classification import GBTClassifier, RandomForestClassifier
    from pyspark.ml.linalg import Vectors
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.master("local[1]").getOrCreate()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    y = (x[:, 0] + x[:, 1] ** 2 > 0.5).astype(float)
    frame = spark.createDataFrame([(Vectors.dense(r.tolist()), float(v)) for r, v in zip(x, y)], ["features", "label"])
    for est in [RandomForestClassifier(numTrees=5, maxDepth=4, seed=1), GBTClassifier(maxIter=10, maxDepth=3, seed=1)]:
        fitted = est.fit(frame)
        m = emkern.convert(fitted)
        want = np.array([r.probability.toArray() for r in fitted.transform(frame).select("probability").collect()])
        got = m.predict(x).reshape(len(x), -1)
        close(got, want if got.shape[1] > 1 else want[:, 1:])
