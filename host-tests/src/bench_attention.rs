//! Attention benchmarks (`emkern bench --attention`): prefill in GFLOP/s against the measured FMA peak, decode in
//! GB/s of K/V streamed against a copy of the same working set, both beside a naive Rust baseline that
//! materializes the score matrix, measured in the same run.

use std::hint::black_box;

use emkern::attention::{self, Params, Qkv, Tensor, TensorMut};
use emkern_simd::{Simd, f16};

use crate::bench::{Timing, copy_bandwidth, peak_flops, pseudo_random, seconds_per_call};

/// Floating-point operations of attention over the visible (query, key) pairs: `2·(d_k + d_v)` per pair.
pub fn attention_flops(
    heads_q: usize,
    len_q: usize,
    len_kv: usize,
    d_k: usize,
    d_v: usize,
    causal: bool,
) -> f64 {
    let pairs: usize = if causal {
        // Bottom-right: query i sees keys 0..=i + len_kv − len_q.
        (0..len_q)
            .map(|i| {
                (i + len_kv)
                    .saturating_sub(len_q)
                    .saturating_add(1)
                    .min(len_kv)
            })
            .sum()
    } else {
        len_q * len_kv
    };
    (heads_q * pairs * 2 * (d_k + d_v)) as f64
}

/// The naive baseline: for each head, the whole `[len_q, len_kv]` score matrix, a row softmax, then `P·V`
/// (plain Rust loops over f32, as a straightforward port would write it).
#[allow(clippy::too_many_arguments)]
pub fn naive_attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    heads_q: usize,
    heads_kv: usize,
    len_q: usize,
    len_kv: usize,
    d: usize,
    causal: bool,
    scores: &mut [f32],
    out: &mut [f32],
) {
    let group = heads_q / heads_kv;
    let scale = 1.0 / (d as f32).sqrt();
    for h in 0..heads_q {
        let kv = h / group;
        let (kh, vh) = (
            &k[kv * len_kv * d..][..len_kv * d],
            &v[kv * len_kv * d..][..len_kv * d],
        );
        for i in 0..len_q {
            let qi = &q[(h * len_q + i) * d..][..d];
            let row = &mut scores[i * len_kv..][..len_kv];
            let last = if causal {
                i + len_kv - len_q
            } else {
                len_kv - 1
            };
            for (j, s) in row.iter_mut().enumerate() {
                *s = if j <= last {
                    qi.iter()
                        .zip(&kh[j * d..][..d])
                        .map(|(a, b)| a * b)
                        .sum::<f32>()
                        * scale
                } else {
                    f32::NEG_INFINITY
                };
            }
            let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0.0;
            for s in row.iter_mut() {
                *s = (*s - m).exp();
                sum += *s;
            }
            let o = &mut out[(h * len_q + i) * d..][..d];
            o.fill(0.0);
            for (j, p) in row.iter().enumerate() {
                for (oc, vc) in o.iter_mut().zip(&vh[j * d..][..d]) {
                    *oc += p / sum * vc;
                }
            }
        }
    }
}

/// The prefill and decode tables, as text, at every level of `levels` (each against the FMA peak measured at
/// that level in the same run). `quick` uses short samples and short sequences. Lines are passed to `emit` as
/// soon as they are measured (a full run takes minutes).
pub fn report(levels: &[Simd], quick: bool, emit: &mut dyn FnMut(&str)) {
    for &simd in levels {
        report_level(simd, quick, emit);
    }
}

/// The tables for one level. The scalar level skips sequences longer than 1024 (minutes per call otherwise).
fn report_level(simd: Simd, quick: bool, emit: &mut dyn FnMut(&str)) {
    let timing = Timing::new(quick);
    let peak = peak_flops(simd, timing).unwrap_or(f64::NAN);
    emit(&format!(
        "attention, one core, level {} (FMA peak measured in this run: {:.1} GFLOP/s)",
        simd.level(),
        peak / 1e9
    ));
    emit("\nprefill (heads 8, GQA 1:1)   emkern                         naive (materialized)");
    let max_len = if simd.level() == emkern_simd::Level::Scalar {
        1024
    } else {
        usize::MAX
    };
    let lens: &[usize] = if quick { &[256] } else { &[256, 1024, 4096] };
    for &d in &[64usize, 128] {
        for &len in lens.iter().filter(|&&l| l <= max_len) {
            for causal in [false, true] {
                let (h, hkv) = (8, 8);
                let q = pseudo_random(h * len * d, 1);
                let k = pseudo_random(hkv * len * d, 2);
                let v = pseudo_random(hkv * len * d, 3);
                let mut out = vec![0.0f32; h * len * d];
                let qkv = Qkv {
                    q: Tensor::new(&q[..], h, len, d),
                    k: Tensor::new(&k[..], hkv, len, d),
                    v: Tensor::new(&v[..], hkv, len, d),
                };
                let mut params = Params::for_level(simd.level());
                params.mask.causal = causal;
                let mut scratch =
                    vec![0.0f32; attention::scratch_len(qkv.dims(), qkv.dtypes(), params.tiles)];
                let t = seconds_per_call(timing, || {
                    let _ = attention::attention(
                        simd,
                        &qkv,
                        &params,
                        TensorMut::new(&mut out[..], h, len, d),
                        None,
                        &mut scratch,
                    );
                    black_box(&mut out);
                });
                let flops = attention_flops(h, len, len, d, d, causal);
                let naive = if len <= 1024 {
                    let mut scores = vec![0.0f32; len * len];
                    let tn = seconds_per_call(timing, || {
                        naive_attention(
                            &q,
                            &k,
                            &v,
                            h,
                            hkv,
                            len,
                            len,
                            d,
                            causal,
                            &mut scores,
                            &mut out,
                        );
                        black_box(&mut out);
                    });
                    format!("{:>7.1} GFLOP/s ({:.1}x slower)", flops / tn / 1e9, tn / t)
                } else {
                    "(skipped: long)".to_string()
                };
                emit(&format!(
                    "  d {d:>3} len {len:>5} {:<7} {:>7.1} GFLOP/s {:>4.0}% peak    {naive}",
                    if causal { "causal" } else { "full" },
                    flops / t / 1e9,
                    100.0 * flops / t / peak
                ));
            }
        }
    }
    emit("\ndecode (len_q 1, 8 query heads sharing 1 KV head, d 128): K/V streamed");
    let kv_lens: &[usize] = if quick { &[4096] } else { &[1024, 8192, 32768] };
    for &len in kv_lens {
        for half in [false, true] {
            let (h, hkv, d) = (8, 1, 128);
            let q = pseudo_random(h * d, 4);
            let k = pseudo_random(len * d, 5);
            let v = pseudo_random(len * d, 6);
            let (k16, v16): (Vec<f16>, Vec<f16>) = (
                k.iter().map(|&x| f16::from_f32(x)).collect(),
                v.iter().map(|&x| f16::from_f32(x)).collect(),
            );
            let qkv = if half {
                Qkv {
                    q: Tensor::new(&q[..], h, 1, d),
                    k: Tensor::new(&k16[..], hkv, len, d),
                    v: Tensor::new(&v16[..], hkv, len, d),
                }
            } else {
                Qkv {
                    q: Tensor::new(&q[..], h, 1, d),
                    k: Tensor::new(&k[..], hkv, len, d),
                    v: Tensor::new(&v[..], hkv, len, d),
                }
            };
            let params = Params::for_level(simd.level());
            let mut scratch =
                vec![0.0f32; attention::scratch_len(qkv.dims(), qkv.dtypes(), params.tiles)];
            let mut out = vec![0.0f32; h * d];
            let t = seconds_per_call(timing, || {
                let _ = attention::attention(
                    simd,
                    &qkv,
                    &params,
                    TensorMut::new(&mut out[..], h, 1, d),
                    None,
                    &mut scratch,
                );
                black_box(&mut out);
            });
            let bytes = 2 * len * d * if half { 2 } else { 4 };
            let copy = copy_bandwidth(bytes, timing);
            let mut scores = vec![0.0f32; len];
            let mut out_naive = vec![0.0f32; h * d];
            let tn = seconds_per_call(timing, || {
                naive_attention(
                    &q,
                    &k,
                    &v,
                    h,
                    hkv,
                    1,
                    len,
                    d,
                    false,
                    &mut scores,
                    &mut out_naive,
                );
                black_box(&mut out_naive);
            });
            // Decoding does 4·h·d flops per key (2·h·d for the scores, 2·h·d for P·V) on 2·d stored elements,
            // so at the FMA peak it cannot stream faster than peak · bytes / flops, whatever the memory does.
            let bound = peak * bytes as f64 / (4 * h * d * len) as f64;
            let rate = bytes as f64 / t;
            emit(&format!(
                "  len_kv {len:>6} {} {:>7.1} GB/s ({:>3.0}% of copy {:.1} GB/s; FMA bound {:.1} GB/s; \
                 {:>3.0}% of the lower)   naive f32: {:.1}x slower",
                if half { "f16" } else { "f32" },
                rate / 1e9,
                100.0 * rate / copy,
                copy / 1e9,
                bound / 1e9,
                100.0 * rate / copy.min(bound),
                tn / t
            ));
        }
    }
    emit("");
}
