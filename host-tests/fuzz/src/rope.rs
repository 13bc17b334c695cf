//! RoPE and the other position encodings, with arguments from the input (`arbitrary`): frequency configurations
//! of every scaling (`Frequencies::new` and its accessors, `freq::inv_freq{,_f32}`, `hf_f32::inv_freq`), cos/sin
//! tables (`table::fill_range`, `fill_positions` for every position type, `row_f64`, the `hf_f32` tables), the
//! incremental generator (f32, f64, `F32x2`), sinusoidal encodings, in-place rotation (`apply::apply` on f32,
//! f16 and bf16 rows with fuzzed strides, positions and scratch, at every SIMD level) and RoPE linear attention.
//!
//! Checks: nothing panics or reads out of bounds, and a rotation that returns an error leaves the rows as they
//! were.

use arbitrary::{Arbitrary, Unstructured};
use emkern::rope::apply::{self, Direction, Layout, Positions, Rows, Tables};
use emkern::rope::incremental::{F32x2, Generator, StateFloat};
use emkern::rope::linear_attention::{self, Query};
use emkern::rope::sinusoidal::{self, SinusoidalLayout};
use emkern::rope::{
    Frequencies, Llama3, LongRope, RopeConfig, Scaling, Yarn, angle, freq, hf_f32, table,
};
use emkern::simd::{Simd, bf16, f16};

use super::attention::Len;

/// Largest table or row buffer a case allocates (elements).
const CAP: usize = 1 << 15;

#[derive(Arbitrary, Debug)]
enum ScalingCase {
    Default,
    Linear(f64),
    NtkStatic(f64),
    Dynamic(f64),
    Yarn {
        factor: Option<f64>,
        original: u64,
        beta_fast: f64,
        beta_slow: f64,
        mscale: Option<f64>,
        mscale_all_dim: Option<f64>,
        attention_factor: Option<f64>,
        truncate: bool,
    },
    LongRope {
        short: Vec<f64>,
        long: Vec<f64>,
        original: u64,
        factor: Option<f64>,
        attention_factor: Option<f64>,
    },
    Llama3 {
        factor: f64,
        low: f64,
        high: f64,
        original: u64,
    },
}

#[derive(Arbitrary, Debug)]
struct ConfigCase {
    theta: f64,
    head_dim: u16,
    partial: f64,
    max_pos: Option<u64>,
    scaling: ScalingCase,
    seq_len: Option<u64>,
    out: Len,
}

#[derive(Arbitrary, Debug)]
enum PositionList {
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    Usize(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Op {
    Config(ConfigCase),
    Table {
        half: u8,
        first: u64,
        count: u8,
        scale: f64,
        cos: Len,
        sin: Len,
        positions: Option<PositionList>,
        pytorch: bool,
    },
    Incremental {
        half: u8,
        start: u64,
        reanchor: u32,
        state: Len,
        steps: u8,
        seek: Option<u64>,
        out: Len,
        kind: u8,
    },
    Sinusoidal {
        dim: u8,
        base: f64,
        first: u64,
        count: u8,
        concatenated: bool,
        out: Len,
        positions: Option<Vec<u32>>,
    },
    Apply {
        kind: u8,
        heads: u8,
        rows: u8,
        head_dim: u8,
        half: u8,
        row_stride: Option<u8>,
        head_stride: Option<u8>,
        data: Len,
        table_rows: u8,
        tables: (Len, Len),
        positions: Option<Vec<u8>>,
        first: u8,
        scratch: Len,
        half_split: bool,
        inverse: bool,
    },
    Linear {
        d: u8,
        d_v: u8,
        n: u8,
        half: u8,
        k: Len,
        v: Len,
        out: Len,
        scratch: Len,
        table_rows: u8,
        q_position: u8,
        half_split: bool,
    },
    Angle(u64, f64, f64),
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let mut budget = 4;
    while budget > 0 {
        budget -= 1;
        let Ok(op) = Op::arbitrary(&mut u) else {
            return;
        };
        if std::env::var_os("EMKERN_FUZZ_DEBUG").is_some() {
            eprintln!("{op:#?}");
        }
        run_op(&op);
    }
}

/// Frequencies `ω_i` of a plain configuration, for the table and rotation cases.
fn omegas(half: usize) -> Vec<f64> {
    (0..half)
        .map(|i| 10_000f64.powf(-(2.0 * i as f64) / (2 * half.max(1)) as f64))
        .collect()
}

fn run_op(op: &Op) {
    match op {
        Op::Config(c) => config(c),
        Op::Table {
            half,
            first,
            count,
            scale,
            cos,
            sin,
            positions,
            pytorch,
        } => {
            let half = *half as usize % 70;
            let count = *count as usize % 40;
            let w = omegas(half);
            let w32: Vec<f32> = w.iter().map(|&x| x as f32).collect();
            let rows = positions.as_ref().map_or(count, |p| match p {
                PositionList::U16(v) => v.len(),
                PositionList::U32(v) => v.len(),
                PositionList::U64(v) => v.len(),
                PositionList::Usize(v) => v.len(),
            });
            let needed = rows.checked_mul(half);
            let mut c = vec![0.0f32; cos.of(needed)];
            let mut s = vec![0.0f32; sin.of(needed)];
            let _ = match positions {
                None if *pytorch => hf_f32::fill_range(&w32, *first, count, *scale, &mut c, &mut s),
                None => table::fill_range(&w, *first, count, *scale, &mut c, &mut s),
                Some(p) => match p {
                    PositionList::U16(v) if *pytorch => {
                        hf_f32::fill_positions(&w32, v, *scale, &mut c, &mut s)
                    }
                    PositionList::U16(v) => table::fill_positions(&w, v, *scale, &mut c, &mut s),
                    PositionList::U32(v) => table::fill_positions(&w, v, *scale, &mut c, &mut s),
                    PositionList::U64(v) => table::fill_positions(&w, v, *scale, &mut c, &mut s),
                    PositionList::Usize(v) => {
                        let v: Vec<usize> = v.iter().map(|&x| x as usize).collect();
                        table::fill_positions(&w, &v, *scale, &mut c, &mut s)
                    }
                },
            };
            let (mut c64, mut s64) = (vec![0.0f64; half], vec![0.0f64; half / 2]);
            table::row_f64(&w, *first, *scale, &mut c64, &mut s64);
        }
        Op::Incremental {
            half,
            start,
            reanchor,
            state,
            steps,
            seek,
            out,
            kind,
        } => {
            let half = *half as usize % 70;
            let w = omegas(half);
            let args = (&w[..], *start, *reanchor, *state, *steps, *seek, *out);
            match kind % 3 {
                0 => generator::<f32>(args),
                1 => generator::<f64>(args),
                _ => generator::<F32x2>(args),
            }
        }
        Op::Sinusoidal {
            dim,
            base,
            first,
            count,
            concatenated,
            out,
            positions,
        } => {
            let dim = *dim as usize % 70;
            let layout = if *concatenated {
                SinusoidalLayout::Concatenated
            } else {
                SinusoidalLayout::Interleaved
            };
            let rows = positions.as_ref().map_or(*count as usize, Vec::len);
            let mut o = vec![0.0f32; out.of(rows.checked_mul(dim))];
            let _ = match positions {
                None => sinusoidal::fill_range(dim, *base, *first, *count as usize, layout, &mut o),
                Some(p) => sinusoidal::fill_positions(dim, *base, p, layout, &mut o),
            };
        }
        Op::Apply {
            kind,
            heads,
            rows,
            head_dim,
            half,
            row_stride,
            head_stride,
            data,
            table_rows,
            tables,
            positions,
            first,
            scratch,
            half_split,
            inverse,
        } => {
            let (heads, rows, head_dim) = (
                *heads as usize % 6,
                *rows as usize % 12,
                *head_dim as usize % 40,
            );
            let half = *half as usize % 24;
            let rs = row_stride.map_or(head_dim, |s| s as usize);
            let hs = head_stride.map_or(rows * head_dim, |s| s as usize * 3);
            let len = data.of(super::attention::extent(heads, rows, head_dim, hs, rs));
            let table_rows = *table_rows as usize % 24;
            let (c, s) = (
                vec![0.6f32; tables.0.of(table_rows.checked_mul(half))],
                vec![0.8f32; tables.1.of(table_rows.checked_mul(half))],
            );
            let t = Tables {
                cos: &c,
                sin: &s,
                half,
            };
            let listed: Option<Vec<usize>> = positions
                .as_ref()
                .map(|p| p.iter().map(|&x| x as usize % 32).collect());
            let pos = match &listed {
                Some(l) => Positions::Listed(l),
                None => Positions::Consecutive(*first as usize % 32),
            };
            let layout = if *half_split {
                Layout::HalfSplit
            } else {
                Layout::Interleaved
            };
            let dir = if *inverse {
                Direction::Inverse
            } else {
                Direction::Forward
            };
            let mut sc = vec![0.0f32; scratch.of(Some(apply::scratch_len(2 * half)))];
            for simd in Simd::available() {
                match kind % 3 {
                    0 => rotate::<f32>(
                        simd,
                        layout,
                        dir,
                        len,
                        (heads, rows, head_dim, rs, hs),
                        &t,
                        pos,
                        &mut sc,
                        |i| i as f32 * 0.25,
                    ),
                    1 => rotate::<f16>(
                        simd,
                        layout,
                        dir,
                        len,
                        (heads, rows, head_dim, rs, hs),
                        &t,
                        pos,
                        &mut sc,
                        |i| f16::from_f32(i as f32 * 0.25),
                    ),
                    _ => rotate::<bf16>(
                        simd,
                        layout,
                        dir,
                        len,
                        (heads, rows, head_dim, rs, hs),
                        &t,
                        pos,
                        &mut sc,
                        |i| bf16::from_f32(i as f32 * 0.25),
                    ),
                }
            }
        }
        Op::Linear {
            d,
            d_v,
            n,
            half,
            k,
            v,
            out,
            scratch,
            table_rows,
            q_position,
            half_split,
        } => {
            let (d, d_v, n, half) = (
                *d as usize % 24,
                *d_v as usize % 24,
                *n as usize % 16,
                *half as usize % 16,
            );
            let table_rows = *table_rows as usize % 20;
            let q: Vec<f32> = (0..d).map(|i| i as f32 * 0.1 - 0.5).collect();
            let kv: Vec<f32> = (0..k.of(n.checked_mul(d)))
                .map(|i| (i % 9) as f32 * 0.2 - 0.7)
                .collect();
            let vv: Vec<f32> = (0..v.of(n.checked_mul(d_v)))
                .map(|i| (i % 5) as f32)
                .collect();
            let key_positions: Vec<usize> = (0..n).map(|i| (i * 3) % (table_rows + 2)).collect();
            let (c, s) = (
                vec![0.6f32; table_rows * half],
                vec![0.8f32; table_rows * half],
            );
            let t = Tables {
                cos: &c,
                sin: &s,
                half,
            };
            let query = Query {
                q: &q,
                q_position: *q_position as usize % (table_rows + 2),
                k: &kv,
                key_positions: &key_positions,
                v: &vv,
                d_v,
            };
            let mut o = vec![0.0f32; out.of(Some(d_v))];
            let mut sc = vec![0.0f32; scratch.of(Some(linear_attention::scratch_len(d)))];
            let layout = if *half_split {
                Layout::HalfSplit
            } else {
                Layout::Interleaved
            };
            for simd in Simd::available() {
                let _ = linear_attention::attend(simd, layout, &query, &t, &mut o, &mut sc);
            }
            std::hint::black_box(linear_attention::elu_plus_one(
                q.first().copied().unwrap_or(-1.0),
            ));
        }
        Op::Angle(p, a, b) => {
            std::hint::black_box((angle::sin_cos(*p, *a), angle::two_product(*a, *b)));
        }
    }
}

fn config(c: &ConfigCase) {
    let mut cfg = RopeConfig::new(c.theta, c.head_dim as usize);
    cfg.partial_rotary_factor = c.partial;
    cfg.max_position_embeddings = c.max_pos;
    let (short, long);
    cfg.scaling = match &c.scaling {
        ScalingCase::Default => Scaling::Default,
        ScalingCase::Linear(f) => Scaling::Linear { factor: *f },
        ScalingCase::NtkStatic(f) => Scaling::NtkStatic { factor: *f },
        ScalingCase::Dynamic(f) => Scaling::Dynamic { factor: *f },
        ScalingCase::Yarn {
            factor,
            original,
            beta_fast,
            beta_slow,
            mscale,
            mscale_all_dim,
            attention_factor,
            truncate,
        } => Scaling::Yarn(Yarn {
            factor: *factor,
            original_max_position_embeddings: *original,
            beta_fast: *beta_fast,
            beta_slow: *beta_slow,
            mscale: *mscale,
            mscale_all_dim: *mscale_all_dim,
            attention_factor: *attention_factor,
            truncate: *truncate,
        }),
        ScalingCase::LongRope {
            short: s,
            long: l,
            original,
            factor,
            attention_factor,
        } => {
            // Lists as long as the rotary dimension needs, when the fuzzer gave any values.
            let half = cfg.rotary_dim().map_or(0, |d| d / 2).min(CAP);
            let fill = |v: &Vec<f64>| -> Vec<f64> {
                if v.is_empty() || v.len() % 2 == 1 {
                    v.clone()
                } else {
                    (0..half).map(|i| v[i % v.len()]).collect()
                }
            };
            (short, long) = (fill(s), fill(l));
            Scaling::LongRope(LongRope {
                short_factor: &short,
                long_factor: &long,
                original_max_position_embeddings: *original,
                factor: *factor,
                attention_factor: *attention_factor,
            })
        }
        ScalingCase::Llama3 {
            factor,
            low,
            high,
            original,
        } => Scaling::Llama3(Llama3 {
            factor: *factor,
            low_freq_factor: *low,
            high_freq_factor: *high,
            original_max_position_embeddings: *original,
        }),
    };
    let _ = cfg.rotary_dim();
    let half = cfg.rotary_dim().map_or(0, |d| d / 2);
    if half > CAP {
        return;
    }
    let n = c.out.of(Some(half));
    let (mut o64, mut o32) = (vec![0.0f64; n], vec![0.0f32; n]);
    if let Ok(f) = Frequencies::new(&cfg, c.seq_len) {
        std::hint::black_box((
            f.rotary_dim(),
            f.half(),
            f.attention_factor(),
            f.get(0),
            f.get(half),
        ));
        let _ = f.fill(&mut o64);
        let _ = f.fill_f32(&mut o32);
    }
    let _ = freq::inv_freq(&cfg, c.seq_len, &mut o64);
    let _ = freq::inv_freq_f32(&cfg, c.seq_len, &mut o32);
    let _ = hf_f32::inv_freq(&cfg, c.seq_len, &mut o32);
}

fn generator<T: StateFloat>(args: (&[f64], u64, u32, Len, u8, Option<u64>, Len)) {
    let (w, start, reanchor, state, steps, seek, out) = args;
    let mut st = vec![T::from_f64(0.0); state.of(Some(Generator::<T>::state_len(w.len())))];
    let Ok(mut g) = Generator::new(w, start, reanchor % 40, &mut st) else {
        return;
    };
    let (mut c, mut s) = (vec![0.0f32; out.of(Some(w.len()))], vec![0.0f32; w.len()]);
    for _ in 0..steps % 50 {
        if g.advance().is_err() {
            break;
        }
    }
    if let Some(p) = seek {
        g.seek(p);
    }
    let _ = g.advance();
    std::hint::black_box((g.position(), g.cos().len(), g.sin().len()));
    let _ = g.write(1.5, &mut c, &mut s);
}

#[allow(clippy::too_many_arguments)]
fn rotate<T: apply::Element + PartialEq + std::fmt::Debug>(
    simd: Simd,
    layout: Layout,
    dir: Direction,
    len: usize,
    (heads, rows, head_dim, rs, hs): (usize, usize, usize, usize, usize),
    tables: &Tables<'_>,
    positions: Positions<'_>,
    scratch: &mut [f32],
    value: impl Fn(usize) -> T,
) {
    let mut data: Vec<T> = (0..len).map(&value).collect();
    let before = data.clone();
    let x = Rows {
        data: &mut data,
        heads,
        rows,
        head_dim,
        row_stride: rs,
        head_stride: hs,
    };
    let r = apply::apply(simd, layout, dir, x, tables, positions, scratch);
    if r.is_err() {
        assert_eq!(data, before, "apply wrote the rows and returned {r:?}");
    }
}
