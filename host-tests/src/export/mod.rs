//! Exporters from the [ensemble IR](crate::ir): the `.emk` blob, the compact `.emkc` blob, the integer `.emki` blob, source files that embed it in firmware, and
//! source files that are the model as code.

pub mod blob;
pub mod codegen;
pub mod compact;
pub mod int;
pub mod source;
pub mod xgboost_json;
