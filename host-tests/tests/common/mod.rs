//! Helpers shared by the fixture tests.

pub mod fixtures;
