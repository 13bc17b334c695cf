//! `emkern._native`: the Rust side of the Python package `emkern`.
//!
//! The package's public API is the pure-Python module `emkern` (`python/emkern/__init__.py`), which turns
//! fitted framework objects into model bytes and hands them here. This module holds no logic of its own: every
//! call goes to the same library functions the `emkern` command line uses ([`emkern_host::model`] to import,
//! the `no_std` core to predict, [`emkern_host::export`] to write sources, [`emkern_host::train`] to train), so
//! that the package and the command line give the same numbers.

mod model;
mod train;

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

create_exception!(
    _native,
    EmkernError,
    PyValueError,
    "An emkern error: a model that cannot be read or exported, rows of the wrong shape, bad training options. \
     The message is the one the `emkern` command line prints."
);

/// An [`EmkernError`] with `message`.
pub(crate) fn error(message: impl std::fmt::Display) -> PyErr {
    EmkernError::new_err(message.to_string())
}

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("EmkernError", m.py().get_type::<EmkernError>())?;
    m.add_class::<model::Model>()?;
    m.add_function(wrap_pyfunction!(train::train, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
