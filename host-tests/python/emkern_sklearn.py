"""The scikit-learn exporter as a loose script: ``import emkern_sklearn`` with this folder on ``sys.path``.

The exporter is the module ``emkern.sklearn_export`` of the Python package (``python/emkern/sklearn_export.py``);
this file loads that same file by path, so that scripts run without installing the package (it needs only numpy
and scikit-learn). With the package installed, prefer ``emkern.convert(estimator)`` or
``from emkern.sklearn_export import export, dump, evaluate``.
"""

import importlib.util as _util
import pathlib as _pathlib
import sys as _sys

_PATH = _pathlib.Path(__file__).resolve().parent / "python" / "emkern" / "sklearn_export.py"
_SPEC = _util.spec_from_file_location("emkern_sklearn_export", _PATH)
_MODULE = _util.module_from_spec(_SPEC)
_sys.modules[_SPEC.name] = _MODULE
_SPEC.loader.exec_module(_MODULE)
globals().update({k: v for k, v in vars(_MODULE).items() if not (k.startswith("__") and k.endswith("__"))})
