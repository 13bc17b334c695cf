//! Helpers shared by emkern's benchmarks: deterministic inputs and measured machine ceilings.
#![warn(missing_docs)]
