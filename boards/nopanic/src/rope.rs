//! `emkern::rope`: frequencies for every scaling, exact and PyTorch-f32 tables for every position type, the
//! incremental generator for every state type, rotation of f32/f16/bf16 rows in both layouts and directions,
//! sinusoidal encodings, RoPE linear attention, the angle helpers and the ALiBi re-exports.

use emkern::rope::apply::{self, Direction, Layout, Positions, Rows, Tables};
use emkern::rope::incremental::{F32x2, Generator, StateFloat};
use emkern::rope::linear_attention::{self, Query};
use emkern::rope::sinusoidal::{self, SinusoidalLayout};
use emkern::rope::{
    Frequencies, Llama3, LongRope, Position, RopeConfig, Scaling, Yarn, angle, freq, hf_f32, table,
};
use emkern::simd::{Simd, bf16, f16};

use crate::{keep, o};

const HALF: usize = 4;

/// One configuration per scaling, chosen opaquely.
fn config<'a>(which: u8, short: &'a [f64], long: &'a [f64]) -> RopeConfig<'a> {
    let mut c = RopeConfig::new(o(10_000.0), o(8));
    c.partial_rotary_factor = o(1.0);
    c.max_position_embeddings = o(Some(4096));
    c.scaling = match which % 7 {
        0 => Scaling::Default,
        1 => Scaling::Linear { factor: 2.0 },
        2 => Scaling::NtkStatic { factor: 2.0 },
        3 => Scaling::Dynamic { factor: 2.0 },
        4 => Scaling::Yarn(Yarn::new(4.0, 1024)),
        5 => Scaling::LongRope(LongRope {
            short_factor: short,
            long_factor: long,
            original_max_position_embeddings: 1024,
            factor: None,
            attention_factor: None,
        }),
        _ => Scaling::Llama3(Llama3 {
            factor: 8.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_max_position_embeddings: 1024,
        }),
    };
    o(c)
}

fn tables_for<P: Position>(
    w: &[f64],
    w32: &[f32],
    positions: &[P],
    cos: &mut [f32],
    sin: &mut [f32],
) {
    keep(table::fill_positions(
        o(w),
        o(positions),
        o(1.0),
        o(&mut *cos),
        o(&mut *sin),
    ));
    keep(hf_f32::fill_positions(
        o(w32),
        o(positions),
        o(1.0),
        o(&mut *cos),
        o(&mut *sin),
    ));
    let mut enc = [0.0f32; 64];
    keep(sinusoidal::fill_positions(
        o(8),
        o(10_000.0),
        o(positions),
        o(SinusoidalLayout::Concatenated),
        o(&mut enc[..]),
    ));
}

fn generator<T: StateFloat>(w: &[f64], state: &mut [T], cos: &mut [f32], sin: &mut [f32]) {
    keep(Generator::<T>::state_len(o(HALF)));
    if let Ok(mut g) = Generator::new(o(w), o(100), o(8), o(state)) {
        keep(g.advance());
        keep(g.advance());
        g.seek(o(u64::MAX));
        keep(g.advance());
        keep((g.position(), g.cos(), g.sin()));
        keep(g.write(o(1.5), o(cos), o(sin)));
    }
}

fn rotate<T: apply::Element>(
    simd: Simd,
    x: &mut [T],
    tables: &Tables<'_>,
    listed: &[usize],
    scratch: &mut [f32],
) {
    let rows = Rows {
        data: o(x),
        heads: o(2),
        rows: o(3),
        head_dim: o(8),
        row_stride: o(8),
        head_stride: o(24),
    };
    let positions = if o(true) {
        Positions::Listed(listed)
    } else {
        Positions::Consecutive(o(1))
    };
    let layout = if o(true) {
        Layout::HalfSplit
    } else {
        Layout::Interleaved
    };
    let direction = if o(true) {
        Direction::Inverse
    } else {
        Direction::Forward
    };
    keep(apply::apply(
        simd,
        layout,
        direction,
        rows,
        o(tables),
        o(positions),
        o(scratch),
    ));
}

/// Runs every call.
pub fn run() {
    let short = [1.0f64; HALF];
    let long = [2.0f64; HALF];
    let mut w = [0.0f64; HALF];
    let mut w32 = [0.0f32; HALF];
    let mut cos = [0.0f32; 8 * HALF];
    let mut sin = [0.0f32; 8 * HALF];
    for which in 0..7u8 {
        let c = config(o(which), &short, &long);
        keep(c.rotary_dim());
        if let Ok(f) = Frequencies::new(&c, o(Some(8192))) {
            keep((f.rotary_dim(), f.half(), f.attention_factor(), f.get(o(3))));
            keep(f.fill(o(&mut w[..])));
            keep(f.fill_f32(o(&mut w32[..])));
        }
        keep(freq::inv_freq(&c, o(None), o(&mut w[..])));
        keep(freq::inv_freq_f32(&c, o(Some(10)), o(&mut w32[..])));
        keep(hf_f32::inv_freq(&c, o(Some(5000)), o(&mut w32[..])));
    }

    keep(table::fill_range(
        o(&w[..]),
        o(7),
        o(8),
        o(1.0),
        o(&mut cos[..]),
        o(&mut sin[..]),
    ));
    keep(hf_f32::fill_range(
        o(&w32[..]),
        o(7),
        o(8),
        o(1.0),
        o(&mut cos[..]),
        o(&mut sin[..]),
    ));
    tables_for(&w, &w32, &[1u16, 2, 3], &mut cos, &mut sin);
    tables_for(&w, &w32, &[1u32, 2, 3], &mut cos, &mut sin);
    tables_for(&w, &w32, &[1u64, 2, 3], &mut cos, &mut sin);
    tables_for(&w, &w32, &[1usize, 2, 3], &mut cos, &mut sin);
    let (mut c64, mut s64) = ([0.0f64; HALF], [0.0f64; HALF]);
    table::row_f64(o(&w[..]), o(9), o(1.0), o(&mut c64[..]), o(&mut s64[..]));
    let mut enc = [0.0f32; 64];
    keep(sinusoidal::fill_range(
        o(8),
        o(10_000.0),
        o(3),
        o(4),
        o(SinusoidalLayout::Interleaved),
        o(&mut enc[..]),
    ));

    let mut s32 = [0.0f32; 4 * HALF];
    let mut s64 = [0.0f64; 4 * HALF];
    let mut sx2 = [F32x2::default(); 4 * HALF];
    generator(&w, &mut s32, &mut cos, &mut sin);
    generator(&w, &mut s64, &mut cos, &mut sin);
    generator(&w, &mut sx2, &mut cos, &mut sin);

    let simd = o(Simd::best());
    let tables = Tables {
        cos: &cos,
        sin: &sin,
        half: HALF,
    };
    let listed = [2usize, 0, 5];
    let mut scratch = [0.0f32; 8];
    let mut x32 = [0.5f32; 48];
    let mut x16 = [f16::from_f32(0.5); 48];
    let mut xb = [bf16::from_f32(0.5); 48];
    rotate(simd, &mut x32, &tables, &listed, &mut scratch);
    rotate(simd, &mut x16, &tables, &listed, &mut scratch);
    rotate(simd, &mut xb, &tables, &listed, &mut scratch);
    keep(apply::scratch_len(o(8)));

    let q = [0.1f32; 8];
    let k = [0.2f32; 3 * 8];
    let v = [1.0f32; 3 * 2];
    let key_positions = [0usize, 1, 2];
    let query = Query {
        q: &q,
        q_position: 3,
        k: &k,
        key_positions: &key_positions,
        v: &v,
        d_v: 2,
    };
    let mut out = [0.0f32; 2];
    let mut lscratch = [0.0f32; 24];
    keep(linear_attention::scratch_len(o(8)));
    keep(linear_attention::attend(
        simd,
        o(Layout::Interleaved),
        &o(query),
        &o(tables),
        o(&mut out[..]),
        o(&mut lscratch[..]),
    ));
    keep(linear_attention::elu_plus_one(o(-0.5)));

    keep(angle::sin_cos(o(123_456_789), o(0.001)));
    keep(angle::two_product(o(1.0 / 3.0), o(3.0)));
    keep(emkern::rope::alibi_slope(o(3), o(8)));
    let mut slopes = [0.0f32; 8];
    emkern::rope::alibi_slopes(o(&mut slopes[..]));
}
