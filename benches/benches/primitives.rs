//! Criterion benchmarks: every primitive × level × length (64, 1 Ki, 64 Ki elements), peers for the dot product
//! (a naive iterator loop and `pulp`'s portable SIMD), and the machine ceilings.
//!
//! Run: `cargo bench -p emkern-benches` (all), or e.g. `cargo bench -p emkern-benches -- dot/`.
//! Rates: `elem/s` is FLOP/s for arithmetic kernels (criterion's element count is set to the flop count), elements/s
//! for `exp`, and bytes/s (read + written) for conversions.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use emkern_host::bench::{self, Buffers, Primitive, Unit, pseudo_random};
use emkern_simd::{GemmShape, Simd, calibrate};

const LENGTHS: [usize; 3] = [64, 1024, 65536];

fn throughput(prim: Primitive, elements: usize) -> Option<Throughput> {
    let (unit, per) = bench::work_per_element(prim)?;
    let work = (elements as f64 * per) as u64;
    Some(match unit {
        Unit::Flops | Unit::Elements => Throughput::Elements(work),
        Unit::Bytes => Throughput::Bytes(work),
    })
}

fn primitives(c: &mut Criterion) {
    for prim in bench::primitives() {
        let mut group = c.benchmark_group(prim.name());
        for n in LENGTHS {
            let mut bufs = Buffers::new(n);
            if let Some(t) = throughput(prim, bufs.elements(prim)) {
                group.throughput(t);
            }
            for simd in Simd::available() {
                group.bench_with_input(BenchmarkId::new(simd.level().name(), n), &n, |b, _| {
                    b.iter(|| bufs.run(simd, prim))
                });
            }
        }
        group.finish();
    }
}

/// The dot product against peers: a naive iterator loop (what hand-rolled ports do) and `pulp`'s generic SIMD.
fn dot_peers(c: &mut Criterion) {
    let mut group = c.benchmark_group("dot_peers");
    for n in LENGTHS {
        let a = pseudo_random(n, 1);
        let b = pseudo_random(n, 2);
        group.throughput(Throughput::Elements(2 * n as u64));
        group.bench_with_input(BenchmarkId::new("naive", n), &n, |bch, _| {
            bch.iter(|| black_box(a.iter().zip(&b).map(|(x, y)| x * y).sum::<f32>()))
        });
        group.bench_with_input(BenchmarkId::new("pulp", n), &n, |bch, _| {
            bch.iter(|| black_box(pulp_dot(black_box(&a), &b)))
        });
        group.bench_with_input(BenchmarkId::new("emkern", n), &n, |bch, _| {
            bch.iter(|| black_box(Simd::best().dot(black_box(&a), &b)))
        });
    }
    group.finish();
}

/// A straightforward dot product written against `pulp`'s portable SIMD API, dispatched to its best level.
fn pulp_dot(a: &[f32], b: &[f32]) -> f32 {
    struct Dot<'a> {
        a: &'a [f32],
        b: &'a [f32],
    }
    impl pulp::WithSimd for Dot<'_> {
        type Output = f32;
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, simd: S) -> f32 {
            let (ha, ta) = S::as_simd_f32s(self.a);
            let (hb, tb) = S::as_simd_f32s(self.b);
            let mut acc0 = simd.splat_f32s(0.0);
            let mut acc1 = simd.splat_f32s(0.0);
            let mut i = 0;
            while i + 1 < ha.len().min(hb.len()) {
                acc0 = simd.mul_add_f32s(ha[i], hb[i], acc0);
                acc1 = simd.mul_add_f32s(ha[i + 1], hb[i + 1], acc1);
                i += 2;
            }
            if i < ha.len().min(hb.len()) {
                acc0 = simd.mul_add_f32s(ha[i], hb[i], acc0);
            }
            let tail: f32 = ta.iter().zip(tb).map(|(x, y)| x * y).sum();
            simd.reduce_sum_f32s(simd.add_f32s(acc0, acc1)) + tail
        }
    }
    pulp::Arch::new().dispatch(Dot { a, b })
}

/// Machine ceilings: the FMA-throughput loop per level (`elem/s` = FLOP/s) and copy bandwidth (bytes read + written).
fn ceilings(c: &mut Criterion) {
    let mut group = c.benchmark_group("ceiling");
    const ITER: u32 = 4096;
    for simd in Simd::available() {
        if let Some((_, flops)) = calibrate::fma_peak(simd, ITER) {
            group.throughput(Throughput::Elements(flops));
            group.bench_function(BenchmarkId::new("fma_peak", simd.level().name()), |b| {
                b.iter(|| black_box(calibrate::fma_peak(simd, black_box(ITER))))
            });
        }
    }
    for (name, bytes) in [("L1", 16usize << 10), ("L2", 256 << 10), ("DRAM", 64 << 20)] {
        let src = pseudo_random(bytes / 4, 5);
        let mut dst = vec![0.0f32; bytes / 4];
        group.throughput(Throughput::Bytes(2 * bytes as u64));
        group.bench_function(BenchmarkId::new("copy", name), |b| {
            b.iter(|| {
                dst.copy_from_slice(black_box(&src));
                black_box(&mut dst);
            })
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
}

/// The register-tiled `gemm` on the shapes attention gives it: a K tile against a block's packed queries
/// (`m` keys × `n` query rows × `k = d_k`), P·V for a chunk of rows (`m` rows × `n = d_v` × `k` keys) and the
/// decode shape (8 query heads of one group). FLOP/s (`2·m·n·k`).
fn gemm_shapes(c: &mut Criterion) {
    let mut group = c.benchmark_group("gemm");
    for (name, m, n, k) in [
        ("scores_64x32x128", 64, 32, 128),
        ("scores_64x64x128", 64, 64, 128),
        ("pv_8x128x64", 8, 128, 64),
        ("pv_16x128x64", 16, 128, 64),
        ("decode_scores_64x8x128", 64, 8, 128),
    ] {
        let shape = GemmShape {
            m,
            n,
            k,
            lda: k,
            ldb: n,
            ldc: n,
        };
        let a = pseudo_random(m * k, 1);
        let b = pseudo_random(k * n, 2);
        let mut out = vec![0.0f32; m * n];
        group.throughput(Throughput::Elements(2 * (m * n * k) as u64));
        for simd in Simd::available() {
            group.bench_with_input(
                BenchmarkId::new(simd.level().name(), name),
                &name,
                |bch, _| bch.iter(|| simd.gemm(shape, black_box(&a), &b, &mut out, true)),
            );
        }
    }
    group.finish();
}

criterion_group! { name = benches; config = config(); targets = ceilings, dot_peers, primitives, gemm_shapes }
criterion_main!(benches);
