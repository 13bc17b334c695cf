//! RoPE benchmarks (`emkern bench --rope`): rotation in place in GB/s against a copy of the same working set, per
//! level and layout, and cos/sin table construction in entries per second, measured in the same run.

use std::hint::black_box;

use emkern::rope::apply::{self, Direction, Layout, Positions, Rows, Tables};
use emkern::rope::{RopeConfig, freq, table};
use emkern_simd::Simd;

use crate::bench::{Timing, copy_bandwidth, pseudo_random, seconds_per_call};

/// The tables, for every level of `levels`. The rotation runs on `[32 heads, 4096 positions, 128]` f32 (64 MiB:
/// main memory, as Q/K of a long prefill are), or `[32, 256, 128]` when `quick`. Lines go to `emit` as they are
/// measured.
pub fn report(levels: &[Simd], quick: bool, emit: &mut dyn FnMut(&str)) {
    let timing = Timing::new(quick);
    let (heads, positions, dim) = (32usize, if quick { 256 } else { 4096 }, 128usize);
    let half = dim / 2;
    let config = RopeConfig::new(10_000.0, dim);
    let mut inv_freq = vec![0.0f64; half];
    let scale = match freq::inv_freq(&config, None, &mut inv_freq) {
        Ok(s) => s,
        Err(e) => {
            emit(&format!("rope: {e}"));
            return;
        }
    };
    let (mut cos, mut sin) = (
        vec![0.0f32; positions * half],
        vec![0.0f32; positions * half],
    );
    let t_table = seconds_per_call(timing, || {
        let _ = table::fill_range(&inv_freq, 0, positions, scale, &mut cos, &mut sin);
        black_box((&mut cos, &mut sin));
    });
    emit(&format!(
        "rope tables: {positions} positions x {half} frequencies, exact angle: {:.1} M entries/s ({:.2} ms)",
        (positions * half) as f64 / t_table / 1e6,
        t_table * 1e3
    ));
    let tables = Tables {
        cos: &cos,
        sin: &sin,
        half,
    };
    let mut x = pseudo_random(heads * positions * dim, 11);
    // Read and written once per call.
    let bytes = 2 * x.len() * 4;
    let copy = copy_bandwidth(bytes, timing);
    emit(&format!(
        "rope apply in place, [{heads}, {positions}, {dim}] f32 ({} MiB), copy of the same working set {:.1} GB/s",
        (x.len() * 4) >> 20,
        copy / 1e9
    ));
    for &simd in levels {
        for (name, layout) in [
            ("half-split", Layout::HalfSplit),
            ("interleaved", Layout::Interleaved),
        ] {
            let t = seconds_per_call(timing, || {
                let rows = Rows::new(&mut x[..], heads, positions, dim);
                let _ = apply::apply(
                    simd,
                    layout,
                    Direction::Forward,
                    rows,
                    &tables,
                    Positions::Consecutive(0),
                    &mut [],
                );
                black_box(&mut x);
            });
            emit(&format!(
                "  {:<7} {name:<12} {:>6.1} GB/s ({:>3.0}% of copy)",
                simd.level().name(),
                bytes as f64 / t / 1e9,
                100.0 * bytes as f64 / t / copy
            ));
        }
    }
}
