//! `emkern::attention`: both kernels (every storage type, every mask, ALiBi, sinks, soft-capping, spans), the
//! row and call states, the views and their helpers, the sizing functions and the ALiBi slopes.

use emkern::attention::{
    self, AdditiveMask, Alibi, Align, BitMask, Data, DataMut, Dims, Dtype, Dtypes, KvSpan, Operand,
    Params, Qkv, RowState, States, Tensor, TensorMut, Tiles, TreeMask, alibi,
};
use emkern::simd::{Level, Simd, bf16, f16};

use crate::{keep, o};

/// Two query heads sharing one key/value head, 3 queries over 5 keys, `d_k = 4`, `d_v = 2`.
const HQ: usize = 2;
const LQ: usize = 3;
const LKV: usize = 5;
const DK: usize = 4;
const DV: usize = 2;

/// The three inputs in one of the storage types, chosen by an opaque selector.
fn qkv<'a>(
    which: u8,
    f: &'a [[f32; 64]; 3],
    h: &'a [[f16; 64]; 3],
    b: &'a [[bf16; 64]; 3],
) -> Qkv<'a> {
    let data = |i: usize, sel: u8| -> Data<'a> {
        match sel % 3 {
            0 => Data::F32(&f[i]),
            1 => Data::F16(&h[i]),
            _ => Data::Bf16(&b[i]),
        }
    };
    let q = Tensor::new(data(0, which), HQ, LQ, DK);
    let k = Tensor::new(data(1, which >> 2), 1, LKV, DK).with_strides(o(LKV * DK), o(DK));
    let v = Tensor::new(data(2, which >> 4), 1, LKV, DV);
    o(Qkv { q, k, v })
}

/// Parameters with every option set (opaquely, so every branch is live).
fn params<'a>(
    slopes: &'a [f32],
    sinks: &'a [f32],
    bits: &'a [u64],
    add: &'a [f32],
    tree: &'a [u64],
) -> Params<'a> {
    let mut p = Params::new();
    p.scale = Some(0.5);
    p.softcap = Some(30.0);
    p.alibi = Some(if o(true) {
        Alibi::Slopes(slopes)
    } else {
        Alibi::Standard
    });
    p.sinks = Some(sinks);
    p.align = Align::TopLeft;
    p.mask.causal = true;
    p.mask.window = Some(4);
    p.mask.bits = Some(BitMask {
        words: bits,
        row_stride: 1,
        head_stride: 0,
    });
    p.mask.additive = Some(AdditiveMask {
        values: add,
        row_stride: LKV,
        head_stride: 0,
    });
    p.mask.tree = Some(TreeMask { ancestors: tree });
    p.tiles = Tiles::new(o(2), o(2));
    o(p)
}

/// Runs every call.
pub fn run() {
    let f = [[0.25f32; 64]; 3];
    let h = [[f16::from_f32(0.25); 64]; 3];
    let b = [[bf16::from_f32(0.25); 64]; 3];
    let slopes = [0.5f32; HQ];
    let sinks = [0.1f32; HQ];
    let bits = [u64::MAX; LQ];
    let add = [0.0f32; LQ * LKV];
    let tree = [1u64, 3];
    let mut scratch = [0.0f32; 512];
    let mut lse = [0.0f32; HQ * LQ];
    let mut out32 = [0.0f32; 32];
    let mut out16 = [f16::ZERO; 32];
    let mut outb = [bf16::ZERO; 32];

    let simd = o(Simd::best());
    let p = params(&slopes, &sinks, &bits, &add, &tree);
    for which in [0u8, 0b01_01_01, 0b10_10_10] {
        let x = qkv(o(which), &f, &h, &b);
        let out = match o(which) % 3 {
            0 => DataMut::F32(&mut out32),
            1 => DataMut::F16(&mut out16),
            _ => DataMut::Bf16(&mut outb),
        };
        keep((out.len(), out.is_empty(), out.dtype()));
        let out = TensorMut::new(out, HQ, LQ, DV).with_strides(o(LQ * DV), o(DV));
        keep(attention::attention(
            simd,
            &x,
            &p,
            out,
            Some(o(&mut lse[..])),
            o(&mut scratch[..]),
        ));
        keep(attention::attention(
            simd,
            &x,
            &o(Params::default()),
            TensorMut::new(o(&mut out32[..]), HQ, LQ, DV),
            None,
            o(&mut scratch[..]),
        ));
        keep(attention::scratch_len(x.dims(), x.dtypes(), p.tiles));
        keep(attention::partial_scratch_len(
            o(Dims::default()),
            o(Dtypes::all(Dtype::F16)),
            o(Tiles::DEFAULT),
        ));
        keep(Dtypes::F32);
        keep((
            x.q.data.len(),
            x.q.data.is_empty(),
            x.q.data.dtype(),
            x.q.data.tail(o(7)),
            x.k.dtype(),
        ));
    }

    // Split keys: two spans into two states, merged, finalized; the row-state API.
    let x = qkv(o(0), &f, &h, &b);
    let mut buf0 = [0.0f32; HQ * LQ * (DV + 2)];
    let mut buf1 = [0.0f32; HQ * LQ * (DV + 2)];
    keep(attention::state_len(o(HQ * LQ), o(DV)));
    if let (Ok(mut s0), Ok(mut s1)) = (
        States::new(o(&mut buf0[..]), o(HQ), o(LQ), o(DV)),
        States::wrap(o(&mut buf1[..]), o(HQ), o(LQ), o(DV)),
    ) {
        s1.reset();
        let split = o(2);
        if let (Some(k0), Some(v0), Some(k1), Some(v1)) = (
            x.k.narrow_rows(0, split),
            x.v.narrow_rows(0, split),
            x.k.narrow_rows(split, LKV - split),
            x.v.narrow_rows(split, LKV - split),
        ) {
            let first = Qkv {
                q: x.q,
                k: k0,
                v: v0,
            };
            let second = Qkv {
                q: x.q,
                k: k1,
                v: v1,
            };
            keep(attention::attention_partial(
                simd,
                &first,
                &p,
                o(KvSpan::whole(LKV)),
                &mut s0,
                o(&mut scratch[..]),
            ));
            let span = KvSpan {
                start: split,
                total: LKV,
            };
            keep(attention::attention_partial(
                simd,
                &second,
                &p,
                o(span),
                &mut s1,
                o(&mut scratch[..]),
            ));
        }
        keep(s0.merge(simd, &s1));
        keep((s0.heads(), s0.len_q(), s0.d_v()));
        let out = TensorMut::new(o(&mut out16[..]), HQ, LQ, DV);
        keep(s0.finalize(simd, Some(o(&sinks[..])), out, Some(o(&mut lse[..]))));
        let mut other = [0.0f32; DV + 2];
        if let (Some(mut row), Some(mut other)) =
            (s0.row(o(1), o(2)), RowState::wrap(o(&mut other[..])))
        {
            other.reset();
            other.add_sink(o(0.5));
            keep(row.merge(simd, &other));
            row.add_sink(o(-1.0));
            keep((row.m(), row.l(), row.o(), row.d_v(), row.lse(o(Some(0.5)))));
            row.finalize(simd, o(Some(0.25)), o(&mut out32[..]));
        }
    }

    keep(Tiles::for_level(o(Level::Helium)).positions(o(3)));
    keep(Operand::name(o(Operand::TreeMask)));
    let mut all = [0.0f32; 12];
    alibi::slopes(o(&mut all[..]));
    keep(alibi::slope(o(5), o(12)));
}
