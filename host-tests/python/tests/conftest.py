"""Shared data for the package's tests: seeded datasets with missing values, and the framework imports.

A framework that is not installed skips its tests with the reason printed (``pytest -rs`` lists them); the
harness (``scripts/test.sh``) installs all of them, and fails when a test it expects to run was skipped.
"""

import numpy as np
import pytest


def rows(n_rows: int, n_features: int, seed: int, nan_fraction: float = 0.0) -> np.ndarray:
    """Seeded float64 rows with some exact duplicates of thresholds' neighbourhoods (integers and halves) and,
    optionally, NaNs."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_rows, n_features))
    x[:, 0] = np.round(x[:, 0] * 4) / 2  # a feature with ties
    if nan_fraction:
        x[rng.random(x.shape) < nan_fraction] = np.nan
    return x


@pytest.fixture(scope="session")
def binary():
    """600 rows, 8 features, 5% missing; a binary label."""
    x = rows(600, 8, 1, 0.05)
    y = (np.nan_to_num(x[:, 1]) + 0.5 * np.nan_to_num(x[:, 2]) ** 2 > 0.3).astype(int)
    return x, y


@pytest.fixture(scope="session")
def multiclass():
    """600 rows, 6 features, 5% missing; three classes."""
    x = rows(600, 6, 2, 0.05)
    z = np.nan_to_num(x[:, 0]) + np.nan_to_num(x[:, 3])
    y = np.digitize(z, [-0.5, 0.5])
    return x, y


@pytest.fixture(scope="session")
def regression():
    """500 rows, 7 features, no missing values; a real target."""
    x = rows(500, 7, 3)
    y = x[:, 0] * 2 - x[:, 1] ** 2 + np.sin(x[:, 2] * 3) + 0.1 * x[:, 4]
    return x, y


def need(module: str):
    """Imports `module`, or skips the test naming it."""
    return pytest.importorskip(module, reason=f"{module} is not installed: SKIPPED")
