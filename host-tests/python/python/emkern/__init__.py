"""emkern for Python: tree ensembles from a notebook to a microcontroller.

``emkern.convert(model)`` takes a fitted model (XGBoost, LightGBM, scikit-learn, CatBoost, ONNX) or a model file
and returns an :class:`emkern.Model`. ``Model.predict`` runs the rows through emkern's ``no_std`` core (the code
a firmware runs), with the framework's predictions; ``Model.save`` writes the model as an ``.emk`` blob, as C
(trees as code, or data for the C API) or as Rust. ``emkern.train`` trains with emkern's own trainers.

Everything runs in-process through the Rust library the ``emkern`` command line is built on: no subprocess.

Example::

    import emkern, xgboost
    booster = xgboost.train({"objective": "binary:logistic"}, xgboost.DMatrix(X, y), 20)
    model = emkern.convert(booster)
    assert (model.predict(X) == booster.predict(xgboost.DMatrix(X))).all()
    model.save("model.h")          # C99 header, trees as code
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np

from . import _native
from ._native import EmkernError

__all__ = ["EmkernError", "Model", "convert", "load", "train", "__version__"]

__version__: str = _native.__version__

PathLike = Union[str, "os.PathLike[str]"]


class Model:
    """A tree ensemble emkern runs: made by :func:`convert`, :func:`load` or :func:`train`.

    Predictions go through the ``no_std`` core's batch path (SIMD where the CPU has it), the same code and the
    same numbers as ``emkern predict`` and a firmware built from this model.
    """

    __slots__ = ("_m",)

    def __init__(self, native: "_native.Model") -> None:
        """Wraps a native model; use :func:`convert`, :func:`load` or :func:`train` to make one."""
        self._m = native

    # ------------------------------------------------------------------------------------------------------
    # Prediction

    def predict(self, X: Any) -> np.ndarray:
        """Predictions for the rows of ``X``, as the framework's ``predict`` gives them.

        ``X`` is anything ``numpy.asarray`` turns into a 2-D array of numbers (a NumPy array, a pandas DataFrame
        of numeric columns, a list of rows); NaN is a missing value. The result is float32: shape ``(rows,)``
        when the model has one output per row (a regressor, a binary classifier's probability), else ``(rows,
        outputs)`` (class probabilities, several targets).

        Values are read as the framework reads them: rounded to float32 (XGBoost, scikit-learn, CatBoost,
        ONNX), or, for models that compare in float64 (LightGBM), mapped to the float32 that takes the same
        path through every tree. A ``UserWarning`` reports values that no float32 can map exactly.
        """
        return self._predict(X, margin=False)

    def predict_margin(self, X: Any) -> np.ndarray:
        """Raw margins (the sums before the transform: XGBoost's ``output_margin=True``, LightGBM's
        ``raw_score=True``) for the rows of ``X``; shapes as :meth:`predict`."""
        return self._predict(X, margin=True)

    def _predict(self, X: Any, margin: bool) -> np.ndarray:
        x = _rows(X)
        out, inexact = self._m.predict(x, margin)
        if inexact:
            warnings.warn(
                f"{inexact} input value(s) lie between two thresholds of the model that no float32 separates: "
                "the core decides them as if they were on the lower threshold",
                UserWarning,
                stacklevel=3,
            )
        return out[:, 0] if out.shape[1] == 1 else out

    # ------------------------------------------------------------------------------------------------------
    # Export

    def save(self, path: PathLike, *, name: Optional[str] = None) -> None:
        """Writes the model, in the form the file extension names:

        - ``.emk``: the blob the core reads (``emkern::forest::Forest::new``, the C API's ``emk_forest_load``);
        - ``.h``: one C99 header with the trees as code (``NAME_predict``), as ``emkern codegen --lang c``;
        - ``.c``: the blob as C data for the C API, in ``PATH.c`` and the header ``PATH.h`` beside it, as
          ``emkern import --c-header --c-source``;
        - ``.rs``: one ``no_std`` Rust module with the trees as code, as ``emkern codegen --lang rust``.

        ``name`` prefixes the C/Rust identifiers (default: the file's stem). Files are written whole or not at
        all: each goes to a temporary file first and is renamed into place.
        """
        path = Path(path)
        ext = path.suffix.lower()
        ident = name if name is not None else _identifier(path.stem)
        if ext == ".emk":
            _write(path, bytes(self._m.blob()))
        elif ext == ".h":
            _write(path, self._m.codegen("c", ident).encode())
        elif ext == ".rs":
            _write(path, self._m.codegen("rust", ident).encode())
        elif ext == ".c":
            header = path.with_suffix(".h")
            h, c = self._m.c_api_files(ident, header.name)
            _write(header, h.encode())
            _write(path, c.encode())
        else:
            raise EmkernError(f"{path}: unknown extension {ext or '(none)'!r}: .emk, .h, .c or .rs")

    def to_xgboost_json(self, path: PathLike) -> None:
        """Writes the model as an XGBoost 3.x JSON model (``xgboost.Booster(model_file=path)`` loads it, and
        predicts as this model does up to float32 rounding of the leaves). For a model from :func:`train`, it is
        what ``emkern train --xgboost-json`` writes; for a converted model, its trees with XGBoost's semantics.
        """
        _write(Path(path), self._m.xgboost_json().encode())

    @property
    def blob(self) -> bytes:
        """The bytes of the ``.emk`` blob."""
        return bytes(self._m.blob())

    # ------------------------------------------------------------------------------------------------------
    # Description

    def inspect(self) -> dict:
        """What the model is and what one prediction costs, as ``emkern inspect`` reports it.

        Keys: ``format``, ``source`` (the framework and its settings, for imported models), ``transform``,
        ``aggregate``, ``trees``, ``nodes`` (split nodes), ``leaves``, ``n_features``, ``n_outputs`` (margin
        columns), ``output_width`` (values ``predict`` returns per row), ``leaf_width``, ``node_bytes``, ``bytes``
        (the blob), ``max_depth``, ``worst_case_visits`` (split nodes visited per row at worst),
        ``tree_walks``, ``passes``, ``f64_values``, ``f64_inputs`` (rows are mapped from float64),
        ``class_names``, ``feature_names``.
        """
        return dict(self._m.inspect())

    @property
    def n_features(self) -> int:
        """Features (columns) a row must have."""
        return self._m.n_features

    @property
    def class_names(self) -> list:
        """Class names stored with the model (empty when it has none)."""
        return list(self._m.class_names)

    @property
    def transform(self) -> str:
        """The output transform: ``identity``, ``sigmoid``, ``softmax``, ``argmax``, ``exp``, ..."""
        return self._m.transform

    @property
    def format(self) -> str:
        """The format the model was read from."""
        return self._m.format

    def __repr__(self) -> str:
        d = self._m.inspect()
        return (
            f"<emkern.Model {d['format']}: {d['trees']} trees, {d['n_features']} features, "
            f"{d['output_width']} output(s), {d['transform']}, {d['bytes']} bytes>"
        )


# ----------------------------------------------------------------------------------------------------------
# Making models


def load(path: PathLike) -> Model:
    """Reads a model file: an ``.emk`` blob or anything ``emkern import`` reads (XGBoost JSON/UBJSON, LightGBM
    text, emkern-sklearn JSON, CatBoost JSON, ONNX-ML, a Spark ML model directory); the format is told from the
    content."""
    return Model(_native.Model.from_file(os.fspath(path)))


def convert(model: Any, *, name: Optional[str] = None) -> Model:
    """An emkern model from a fitted framework model, model bytes or a model file.

    Accepted:

    - ``xgboost.Booster`` and the scikit-learn API estimators (``XGBClassifier``, ``XGBRegressor``, ...);
    - ``lightgbm.Booster`` and ``LGBMModel`` estimators (``LGBMClassifier``, ``LGBMRegressor``, ...);
    - every scikit-learn estimator ``emkern.sklearn_export`` supports (decision trees, random forests, extra
      trees, gradient boosting, histogram gradient boosting, AdaBoost);
    - CatBoost models (``CatBoostClassifier``, ``CatBoostRegressor``, ``CatBoost``);
    - an ONNX ``ModelProto`` with a tree-ensemble node;
    - Spark ML tree models (``DecisionTree*Model``, ``RandomForest*Model``, ``GBT*Model``; saved to a temporary
      directory and read back) and ``xgboost.spark`` models (their booster);
    - ``bytes`` of any of the file formats, or a path (``str``/``os.PathLike``) to a model file or a saved Spark
      ML model directory (as :func:`load`).

    ``name`` stands for the model in error messages (default: its type).
    """
    if isinstance(model, (str, os.PathLike)):
        return load(model)
    if isinstance(model, (bytes, bytearray, memoryview)):
        return Model(_native.Model.from_bytes(bytes(model), name or "model bytes"))
    kind = type(model)
    label = name or f"{kind.__module__}.{kind.__qualname__}"
    module = kind.__module__.split(".")[0]
    if module == "xgboost":
        booster = model.get_booster() if hasattr(model, "get_booster") else model
        return Model(_native.Model.from_bytes(bytes(booster.save_raw(raw_format="json")), label))
    if module == "lightgbm":
        booster = model.booster_ if hasattr(model, "booster_") else model
        return Model(_native.Model.from_bytes(booster.model_to_string().encode(), label))
    if module == "catboost":
        with tempfile.TemporaryDirectory(prefix="emkern-") as tmp:
            path = Path(tmp) / "model.json"
            model.save_model(str(path), format="json")
            return Model(_native.Model.from_bytes(path.read_bytes(), label))
    if module == "sklearn":
        from . import sklearn_export

        try:
            text = sklearn_export.dumps(model)
        except sklearn_export.ExportError as e:
            raise EmkernError(f"{label}: {e}") from None
        return Model(_native.Model.from_bytes(text.encode(), label))
    if module == "pyspark" and hasattr(model, "write"):
        with tempfile.TemporaryDirectory(prefix="emkern-") as tmp:
            path = Path(tmp) / "model"
            model.write().save(str(path))
            return Model(_native.Model.from_file(str(path)))
    if module == "onnx" and hasattr(model, "SerializeToString"):
        return Model(_native.Model.from_bytes(model.SerializeToString(), label, onnx=True))
    raise TypeError(
        f"emkern.convert: {label} is not a supported model (XGBoost, LightGBM, scikit-learn, CatBoost, ONNX, "
        "Spark ML, model bytes or a path)"
    )


def train(
    X: Any,
    y: Any,
    algo: str = "rf",
    *,
    task: Optional[str] = None,
    feature_names: Optional[Sequence[str]] = None,
    verbose: bool = False,
    **params: Any,
) -> Model:
    """Trains a model with emkern's trainers, as ``emkern train --algo ALGO`` does on the same rows.

    ``algo`` is ``cart``, ``rf``, ``extra-trees``, ``adaboost``, ``gbdt``, ``hist-gbdt`` or ``stack``.
    ``params`` are the options of ``emkern train`` with ``_`` for ``-`` (``n_estimators=100``,
    ``max_depth=6``, ``seed=0``; ``random_state`` is taken for ``seed``, as scikit-learn names it); a bool is a
    switch (``oob=True``, ``bootstrap=False``), a list a comma-separated option (``categorical=["color"]``).
    Defaults, checks and error messages are the command line's.

    ``task`` is ``"classification"`` or ``"regression"``; by default, regression for a float target and
    classification otherwise. Class labels are kept by their text (``model.class_names``), in the trainer's
    order. Feature names come from a DataFrame's columns, ``feature_names``, or are ``f0``, ``f1``, ...
    ``verbose`` prints the run's report lines on standard output.
    """
    x = _rows(X)
    if feature_names is None:
        columns = getattr(X, "columns", None)
        feature_names = [str(c) for c in columns] if columns is not None else [f"f{i}" for i in range(x.shape[1])]
    labels = np.asarray(y)
    if labels.ndim != 1:
        raise EmkernError(f"y must be 1-D, got shape {labels.shape}")
    if task is None:
        task = "regression" if labels.dtype.kind == "f" else "classification"
    if task == "regression":
        text = [repr(float(v)) for v in labels]
    else:
        text = [str(v.item() if hasattr(v, "item") else v) for v in labels]
    options = []
    for key, value in params.items():
        if key == "random_state":
            key = "seed"
        if value is None:
            continue
        options.append((key, value))
    options.append(("task", task))
    return Model(_native.train(x, text, list(feature_names), algo, options, verbose))


# ----------------------------------------------------------------------------------------------------------
# Helpers


def _rows(X: Any) -> np.ndarray:
    """``X`` as a 2-D float64 array."""
    try:
        x = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise EmkernError(f"X: not numbers ({e})") from None
    if x.ndim != 2:
        raise EmkernError(f"X must be 2-D (rows, features), got shape {x.shape}")
    return x


def _identifier(stem: str) -> str:
    """A C/Rust identifier from a file stem (other characters become ``_``; a leading digit gets ``_``)."""
    ident = "".join(c if c.isascii() and c.isalnum() else "_" for c in stem).lower()
    return "_" + ident if not ident or ident[0].isdigit() else ident


def _write(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` through a temporary file in the same folder, renamed into place (the file's
    mode is a new file's: ``0o666`` less the umask)."""
    folder = path.parent if str(path.parent) else Path(".")
    for attempt in range(100):
        tmp = folder / f".{path.name}.{os.getpid()}.{attempt}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    else:
        raise EmkernError(f"{path}: cannot create a temporary file beside it")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
