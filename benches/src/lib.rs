//! Benchmarks for emkern (see `benches/`): criterion groups for every `emkern-simd` primitive × level × length,
//! with a naive loop and `pulp`'s portable SIMD as peers, and the machine ceilings (FMA-throughput loop and copy
//! bandwidth) measured in the same run. The same workloads back the `emkern bench` table
//! ([`emkern_host::bench`]), which adds speed-ups and fractions of the ceilings.
#![warn(missing_docs)]

pub mod quickscorer;
