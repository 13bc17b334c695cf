//! Criterion benchmarks of tree-ensemble prediction through the no_std core: a synthetic binary-logistic model of
//! 100 full trees of depth 6 over 50 features (the shape of the reference latency comparison), single-row calls
//! and one batch call over 1000 rows. `elem/s` is rows per second.
//!
//! Run: `cargo bench -p emkern-benches --bench forest`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use emkern::forest::Forest;
use emkern_host::export::blob;
use emkern_host::synth;

const ROWS: usize = 1000;
const FEATURES: usize = 50;

fn forest(c: &mut Criterion) {
    let model = synth::boosted_binary(100, 6, FEATURES as u32, 1);
    let bytes = blob::write(&model).expect("the synthetic model exports");
    let f = Forest::new(&bytes).expect("the exported blob validates");
    let rows = synth::rows(ROWS, FEATURES, 2);
    let mut out = vec![0.0f32; ROWS];
    let mut group = c.benchmark_group("forest_100x6_50f");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("single_row", |b| {
        b.iter(|| {
            for (row, o) in rows.chunks_exact(FEATURES).zip(out.iter_mut()) {
                let _ = f.predict(black_box(row), std::slice::from_mut(o));
            }
        })
    });
    group.bench_function("batch", |b| {
        b.iter(|| f.predict_batch(black_box(&rows), FEATURES, ROWS, &mut out, false))
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

criterion_group! { name = benches; config = config(); targets = forest }
criterion_main!(benches);
