//! Helpers shared by the fixture tests.

pub mod cli;
pub mod fixtures;
pub mod scratch;
