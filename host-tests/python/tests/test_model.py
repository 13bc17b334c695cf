"""``emkern.Model``: shapes, ``save`` in every form (the generated C compiled and run by gcc), ``load``,
``inspect`` and ``to_xgboost_json``."""

import shutil
import subprocess

import numpy as np
import pytest

import emkern
from conftest import need


@pytest.fixture(scope="module")
def forest(multiclass):
    """A scikit-learn random forest on three classes and its emkern model."""
    ensemble = need("sklearn.ensemble")
    x, y = multiclass
    x = np.nan_to_num(x)
    est = ensemble.RandomForestClassifier(n_estimators=8, max_depth=5, random_state=0).fit(x, y)
    return x, est, emkern.convert(est)


def test_shapes_and_input_kinds(forest):
    x, _, m = forest
    p = m.predict(x)
    assert p.shape == (len(x), 3)
    assert np.array_equal(m.predict(x.astype(np.float32)), p)
    assert np.array_equal(m.predict(x.tolist()), p)
    assert np.array_equal(m.predict(np.asfortranarray(x)), p)
    assert np.array_equal(m.predict(x[::2]), p[::2])
    assert m.predict(x[:0]).shape == (0, 3)
    with pytest.raises(emkern.EmkernError, match="must be 2-D"):
        m.predict(x[0])
    with pytest.raises(emkern.EmkernError, match="X has 5 columns but the model reads 6 features"):
        m.predict(x[:, :5])
    with pytest.raises(emkern.EmkernError, match="not numbers"):
        m.predict([["a"] * 6])


def test_inspect(forest):
    _, est, m = forest
    d = m.inspect()
    assert d["trees"] == 8
    assert d["n_features"] == 6
    assert d["output_width"] == 3
    assert d["aggregate"] == "mean"
    assert d["nodes"] == sum(t.tree_.node_count - t.tree_.n_leaves for t in est.estimators_)
    assert d["leaves"] == sum(t.tree_.n_leaves for t in est.estimators_)
    assert d["max_depth"] == max(t.tree_.max_depth for t in est.estimators_)
    assert d["bytes"] == len(m.blob)
    assert "RandomForestClassifier" in d["source"]
    assert "8 trees" in repr(m)


def test_save_emk_and_load(tmp_path, forest):
    x, _, m = forest
    path = tmp_path / "forest.emk"
    m.save(path)
    assert path.read_bytes() == m.blob
    back = emkern.load(path)
    assert back.format == "emkern blob"
    assert np.array_equal(back.predict(x), m.predict(x))
    assert not list(tmp_path.glob(".*.tmp")), "temporary files left behind"


def test_save_rust(tmp_path, forest):
    _, _, m = forest
    m.save(tmp_path / "forest.rs")
    text = (tmp_path / "forest.rs").read_text()
    assert "#![" not in text or "no_std" in text
    assert "pub fn predict" in text


def _gcc():
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.skip("no C compiler: SKIPPED")
    return gcc


def _run_c(tmp_path, sources, main, x):
    """Compiles `main` with `sources` and runs it on the rows of `x` (one per line on stdin)."""
    (tmp_path / "main.c").write_text(main)
    exe = tmp_path / "main"
    subprocess.run(
        [_gcc(), "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-I", str(tmp_path), "-o", str(exe),
         str(tmp_path / "main.c"), *map(str, sources), "-lm"],
        check=True,
    )
    stdin = "\n".join(" ".join(repr(float(np.float32(v))) for v in row) for row in x)
    out = subprocess.run([str(exe)], input=stdin, capture_output=True, text=True, check=True).stdout
    return np.array([[float(v) for v in line.split()] for line in out.splitlines()], dtype=np.float32)


def test_save_c_header_compiles_and_predicts(tmp_path, forest):
    x, _, m = forest
    m.save(tmp_path / "forest.h")
    main = """
#include <stdio.h>
#include "forest.h"
int main(void) {
    float row[FOREST_N_FEATURES], out[FOREST_OUTPUT_LEN];
    for (;;) {
        for (int j = 0; j < FOREST_N_FEATURES; j++) if (scanf("%f", &row[j]) != 1) return 0;
        forest_predict(row, out);
        for (int k = 0; k < FOREST_OUTPUT_LEN; k++) printf("%.9g ", (double)out[k]);
        printf("\\n");
    }
}
"""
    got = _run_c(tmp_path, [], main, x[:50])
    assert np.array_equal(got, m.predict(x[:50]))


def test_save_c_api_source(tmp_path, forest):
    x, _, m = forest
    m.save(tmp_path / "forest.c", name="forest_model")
    header = (tmp_path / "forest.h").read_text()
    source = (tmp_path / "forest.c").read_text()
    assert '#include "forest.h"' in source
    assert "forest_model" in header
    assert len(m.blob) <= source.count("0x")


def test_to_xgboost_json_loads_in_xgboost(tmp_path, binary):
    xgb = need("xgboost")
    ensemble = need("sklearn.ensemble")
    x, y = binary
    x = np.nan_to_num(x)
    est = ensemble.GradientBoostingClassifier(n_estimators=15, max_depth=3, random_state=0).fit(x, y)
    m = emkern.convert(est)
    path = tmp_path / "gb.json"
    m.to_xgboost_json(path)
    booster = xgb.Booster(model_file=str(path))
    np.testing.assert_allclose(booster.predict(xgb.DMatrix(x)), m.predict(x), rtol=0, atol=1e-6)


def test_save_refuses_unknown_extensions(tmp_path, forest):
    _, _, m = forest
    with pytest.raises(emkern.EmkernError, match="unknown extension"):
        m.save(tmp_path / "forest.txt")
    with pytest.raises(emkern.EmkernError, match="name"):
        m.save(tmp_path / "forest.h", name="not an identifier")
    assert not (tmp_path / "forest.h").exists()
