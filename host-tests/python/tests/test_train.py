"""``emkern.train``: emkern's trainers from Python, checked the way a user would — against scikit-learn with the
same ``random_state``, and the XGBoost JSON in XGBoost."""

import numpy as np
import pytest

import emkern
from conftest import need, rows


@pytest.mark.parametrize("seed", [0, 7, 2**32 - 1])
def test_random_forest_is_scikit_learns_with_the_same_random_state(seed):
    """`--seed S` is scikit-learn's `random_state=S`: the same trees, so the same probabilities (f32)."""
    ensemble = need("sklearn.ensemble")
    x = rows(300, 5, seed % 1000)
    labels = np.array(["cat", "dog", "emu"])
    y = labels[np.digitize(x[:, 1] + 0.3 * x[:, 2], [-0.4, 0.4])]
    ours = emkern.train(x, y, "rf", n_estimators=10, max_depth=6, random_state=seed)
    theirs = ensemble.RandomForestClassifier(n_estimators=10, max_depth=6, random_state=seed).fit(x, y)
    assert ours.class_names == list(theirs.classes_)
    np.testing.assert_allclose(ours.predict(x), theirs.predict_proba(x), rtol=0, atol=1e-6)


def test_regression_forest_matches_scikit_learn(regression):
    ensemble = need("sklearn.ensemble")
    x, y = regression
    ours = emkern.train(x, y, "extra-trees", n_estimators=5, random_state=3)
    theirs = ensemble.ExtraTreesRegressor(n_estimators=5, random_state=3).fit(x, y)
    np.testing.assert_allclose(ours.predict(x), theirs.predict(x), rtol=0, atol=1e-6 * np.abs(y).max())


def test_hist_gbdt_xgboost_json_round_trip(tmp_path, binary):
    xgb = need("xgboost")
    x, y = binary
    m = emkern.train(x, y, "hist-gbdt", n_estimators=20, max_depth=4, seed=1)
    assert m.class_names == ["0", "1"]
    assert m.transform == "sigmoid"
    path = tmp_path / "model.json"
    m.to_xgboost_json(path)
    booster = xgb.Booster(model_file=str(path))
    names = [f"f{i}" for i in range(x.shape[1])]
    np.testing.assert_allclose(
        booster.predict(xgb.DMatrix(x, feature_names=names)), m.predict(x), rtol=0, atol=1e-6
    )


def test_feature_names_from_a_dataframe(regression):
    pd = need("pandas")
    x, y = regression
    frame = pd.DataFrame(x, columns=["a, b", 'say "hi"', "c", "d", "e", "f", "g"])
    m = emkern.train(frame, y, "cart", max_depth=3)
    assert m.predict(frame).shape == (len(x),)


def test_options_are_the_command_lines(binary):
    x, y = binary
    with pytest.raises(emkern.EmkernError, match="--n-estimator"):
        emkern.train(x, y, "rf", n_estimator=3)
    with pytest.raises(emkern.EmkernError, match="--max-depth"):
        emkern.train(x, y, "rf", max_depth="deep")
    with pytest.raises(emkern.EmkernError, match="set by emkern.train"):
        emkern.train(x, y, "rf", output="x.emk")
    with pytest.raises(emkern.EmkernError, match="applies to forests"):
        emkern.train(x, y, "cart", n_estimators=3)
    with pytest.raises(emkern.EmkernError, match="rows but y has"):
        emkern.train(x, y[:-1], "cart")
    m = emkern.train(x, y, "rf", n_estimators=3, bootstrap=False, oob=False, random_state=0)
    assert m.inspect()["trees"] == 3
