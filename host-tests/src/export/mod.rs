//! Exporters from the [ensemble IR](crate::ir): the `.emk` blob, and source files that embed it in firmware.

pub mod blob;
pub mod source;
pub mod xgboost_json;
