//! Model importers: each reads one framework's saved model and translates its semantics into the
//! [ensemble IR](crate::ir).
//!
//! Every importer reports problems through the shared [`ImportError`], which names the file, where in it the
//! problem is (a line, a JSON path, a byte offset) and what was expected.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where in a model file a problem was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// The file as a whole (or the position is unknown).
    Whole,
    /// A 1-based line of a text format.
    Line(usize),
    /// A path into a JSON-like document, e.g. `learner.gradient_booster.model.trees[3].left_children[7]`.
    Path(String),
    /// A byte offset into a binary format.
    Byte(usize),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Whole => Ok(()),
            Location::Line(n) => write!(f, "line {n}"),
            Location::Path(p) if p.is_empty() => write!(f, "(document root)"),
            Location::Path(p) => f.write_str(p),
            Location::Byte(o) => write!(f, "byte {o}"),
        }
    }
}

/// Why a model could not be imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportError {
    /// The file being read (`None` when importing from bytes or a string).
    pub file: Option<PathBuf>,
    /// Where in the file the problem is.
    pub location: Location,
    /// What is wrong, or what was expected.
    pub message: String,
}

impl ImportError {
    /// An error at `location` with `message`, not yet tied to a file.
    pub fn new(location: Location, message: impl Into<String>) -> ImportError {
        ImportError {
            file: None,
            location,
            message: message.into(),
        }
    }

    /// An error at a JSON-like `path`.
    pub fn at_path(path: impl Into<String>, message: impl Into<String>) -> ImportError {
        ImportError::new(Location::Path(path.into()), message)
    }

    /// An error at 1-based `line` of a text format.
    pub fn at_line(line: usize, message: impl Into<String>) -> ImportError {
        ImportError::new(Location::Line(line), message)
    }

    /// An error about the file as a whole.
    pub fn whole(message: impl Into<String>) -> ImportError {
        ImportError::new(Location::Whole, message)
    }

    /// The same error, attributed to `file`.
    pub fn in_file(mut self, file: &Path) -> ImportError {
        self.file = Some(file.to_path_buf());
        self
    }

    /// Reads a whole file, mapping an I/O failure to an error naming the file.
    pub fn read_file(path: &Path) -> Result<Vec<u8>, ImportError> {
        std::fs::read(path)
            .map_err(|e| ImportError::whole(format!("cannot read the file: {e}")).in_file(path))
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}: ", file.display())?;
        }
        if self.location != Location::Whole {
            write!(f, "{}: ", self.location)?;
        }
        // Messages quote text from the model file: control characters must not reach a terminal raw.
        f.write_str(&crate::io::printable(&self.message))
    }
}

impl std::error::Error for ImportError {}

pub mod catboost;
pub mod format;
pub mod json_text;
pub mod lightgbm;
pub mod onnx;
pub mod sklearn;
pub mod spark;
pub mod ubjson;
pub mod xgboost;
pub mod xgboost_binary;
