//! Attention argument validation and kernels: shapes, strides, storage types, parameters, masks, tiles and buffer
//! lengths derived from the input (`arbitrary`), at every SIMD level this CPU has. Buffers are sized from the
//! view extents with a fuzzed slack, so most calls sit at the boundary between "fits" and "one short".
//!
//! Checks: no call panics or reads out of bounds (sanitizers), and a call that returns an error has written
//! nothing (output, log-sum-exp, states). Entry points: `attention`, `attention_partial` over one span or over
//! two spans split with `Tensor::narrow_rows` and merged with `States::merge`, `States::{new, wrap, row,
//! finalize}`, every `RowState` method, `scratch_len`, `partial_scratch_len`, `state_len`, the ALiBi slopes.

use arbitrary::{Arbitrary, Unstructured};
use emkern::attention::{
    self, AdditiveMask, Alibi, Align, BitMask, Data, DataMut, Dims, Dtype, Dtypes, KvSpan, Params,
    Qkv, RowState, States, Tensor, TensorMut, Tiles, TreeMask,
};
use emkern::simd::{Simd, bf16, f16};

/// Largest buffer a case allocates (elements); views reaching further get a short buffer and must be refused.
pub const CAP: usize = 1 << 15;

/// A stride: the dense one, a small one, zero (rows or heads repeat), or one that overflows the index range.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Stride {
    /// The packed layout's stride.
    Dense,
    /// An explicit small stride.
    Small(u8),
    /// Zero.
    Zero,
    /// A stride whose products overflow `usize`.
    Huge,
}

impl Stride {
    /// The stride in elements, `dense` for [`Stride::Dense`].
    pub fn get(self, dense: usize) -> usize {
        match self {
            Stride::Dense => dense,
            Stride::Small(s) => s as usize,
            Stride::Zero => 0,
            Stride::Huge => usize::MAX / 3,
        }
    }
}

/// A buffer length relative to what the shape needs.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Len {
    /// Exactly the elements needed.
    Exact,
    /// This many fewer (saturating).
    Short(u8),
    /// This many more.
    Long(u8),
}

impl Len {
    /// The length for `needed` elements (`None`: the shape overflows or exceeds [`CAP`]; then a small buffer).
    pub fn of(self, needed: Option<usize>) -> usize {
        let base = needed.filter(|&n| n <= CAP).unwrap_or(64);
        match self {
            Len::Exact => base,
            Len::Short(k) => base.saturating_sub(k as usize % 4 + 1),
            Len::Long(k) => base + k as usize % 8,
        }
    }
}

/// Storage type of a buffer.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Kind {
    /// f32.
    F32,
    /// f16.
    F16,
    /// bf16.
    Bf16,
}

/// An owned buffer of one storage type.
#[derive(Clone, Debug, PartialEq)]
pub enum Buf {
    /// f32.
    F32(Vec<f32>),
    /// f16.
    F16(Vec<f16>),
    /// bf16.
    Bf16(Vec<bf16>),
}

impl Buf {
    /// `len` elements of `kind` cycled from `values` (or a default pattern).
    pub fn new(kind: Kind, len: usize, values: &[f32]) -> Buf {
        let v = |i: usize| {
            if values.is_empty() {
                ((i * 37) % 19) as f32 * 0.125 - 1.0
            } else {
                values[i % values.len()]
            }
        };
        match kind {
            Kind::F32 => Buf::F32((0..len).map(v).collect()),
            Kind::F16 => Buf::F16((0..len).map(|i| f16::from_f32(v(i))).collect()),
            Kind::Bf16 => Buf::Bf16((0..len).map(|i| bf16::from_f32(v(i))).collect()),
        }
    }

    /// The elements as an input.
    pub fn data(&self) -> Data<'_> {
        match self {
            Buf::F32(b) => Data::F32(b),
            Buf::F16(b) => Data::F16(b),
            Buf::Bf16(b) => Data::Bf16(b),
        }
    }

    /// The elements as an output.
    pub fn data_mut(&mut self) -> DataMut<'_> {
        match self {
            Buf::F32(b) => DataMut::F32(b),
            Buf::F16(b) => DataMut::F16(b),
            Buf::Bf16(b) => DataMut::Bf16(b),
        }
    }
}

/// Elements a `[heads, rows, dim]` view with these strides reaches (`None` on overflow).
pub fn extent(heads: usize, rows: usize, dim: usize, hs: usize, rs: usize) -> Option<usize> {
    if heads == 0 || rows == 0 || dim == 0 {
        return Some(0);
    }
    (heads - 1)
        .checked_mul(hs)?
        .checked_add((rows - 1).checked_mul(rs)?)?
        .checked_add(dim)
}

/// Layout and length of one tensor.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct View {
    /// Storage type.
    pub kind: Kind,
    /// Head stride.
    pub head_stride: Stride,
    /// Row stride.
    pub row_stride: Stride,
    /// Buffer length.
    pub len: Len,
}

impl View {
    /// The strides and buffer for `[heads, rows, dim]`.
    pub fn build(
        &self,
        heads: usize,
        rows: usize,
        dim: usize,
        values: &[f32],
    ) -> (Buf, usize, usize) {
        let rs = self.row_stride.get(dim);
        let hs = self.head_stride.get(rows.saturating_mul(dim));
        let len = self.len.of(extent(heads, rows, dim, hs, rs));
        (Buf::new(self.kind, len, values), hs, rs)
    }
}

/// A mask buffer's layout (strides in words or elements) and length.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct MaskView {
    /// Head stride.
    pub head_stride: Stride,
    /// Row stride.
    pub row_stride: Stride,
    /// Buffer length.
    pub len: Len,
    /// Word pattern (bit masks) or the index of a `−inf` entry (additive masks).
    pub pattern: u64,
}

/// Everything one attention call is made of.
#[derive(Arbitrary, Debug)]
pub struct Case {
    dims: [u8; 6],
    /// One dimension replaced by `usize::MAX − delta` (views with another dimension 0 stay empty and valid).
    huge: Option<(u8, u8)>,
    q: View,
    k: View,
    v: View,
    out: View,
    values: Vec<f32>,
    scale: Option<f32>,
    softcap: Option<f32>,
    alibi: Option<Option<Len>>,
    sinks: Option<Len>,
    top_left: bool,
    causal: bool,
    window: Option<u8>,
    bits: Option<MaskView>,
    additive: Option<MaskView>,
    tree: Option<Vec<u64>>,
    tiles: (u8, u8),
    lse: Option<Len>,
    scratch: Len,
    mode: Mode,
}

/// Which entry point a case calls.
#[derive(Arbitrary, Debug)]
enum Mode {
    /// `attention`.
    Whole,
    /// `attention_partial` over keys `start .. start + len_kv` of `start + len_kv + extra`, states buffer length.
    Partial { start: u8, extra: u8, states: Len },
    /// Two spans split at `at` (through `narrow_rows`), one `States` each, merged and finalized.
    Split { at: u8, states: Len },
}

/// The owned buffers of a case, from which views are borrowed.
pub struct Built {
    /// `[heads_q, heads_kv, len_q, len_kv, d_k, d_v]`.
    pub dims: [usize; 6],
    q: (Buf, usize, usize),
    k: (Buf, usize, usize),
    v: (Buf, usize, usize),
    /// The output buffer and its strides.
    pub out: (Buf, usize, usize),
    slopes: Option<Vec<f32>>,
    standard_alibi: bool,
    sinks: Option<Vec<f32>>,
    bits: Option<(Vec<u64>, usize, usize)>,
    additive: Option<(Vec<f32>, usize, usize)>,
    tree: Option<Vec<u64>>,
    /// The log-sum-exp buffer.
    pub lse: Option<Vec<f32>>,
    /// The scratch buffer.
    pub scratch: Vec<f32>,
    scale: Option<f32>,
    softcap: Option<f32>,
    top_left: bool,
    causal: bool,
    window: Option<usize>,
    tiles: Tiles,
}

impl Built {
    /// Builds the buffers of `case`.
    pub fn new(c: &Case) -> Built {
        let d = c.dims;
        // heads_q, heads_kv, len_q, len_kv (past 64 for multi-word bit masks), d_k, d_v.
        let mut dims = [
            d[0] as usize % 9,
            d[1] as usize % 5,
            d[2] as usize % 24,
            d[3] as usize % 80,
            d[4] as usize % 36,
            d[5] as usize % 36,
        ];
        if let Some((which, delta)) = c.huge {
            dims[which as usize % 6] = usize::MAX - delta as usize;
        }
        let [hq, hkv, lq, lkv, dk, dv] = dims;
        let vals = &c.values[..c.values.len().min(64)];
        let q = c.q.build(hq, lq, dk, vals);
        let k = c.k.build(hkv, lkv, dk, vals);
        let v = c.v.build(hkv, lkv, dv, vals);
        let out = c.out.build(hq, lq, dv, &[]);
        let words = lkv.div_ceil(64);
        let bits = c.bits.map(|m| {
            let rs = m.row_stride.get(words);
            let hs = m.head_stride.get(lq.saturating_mul(words));
            let len = m.len.of(extent(hq, lq, words, hs, rs));
            let w: Vec<u64> = (0..len)
                .map(|i| m.pattern.rotate_left(i as u32 * 7) | (i as u64 & 1))
                .collect();
            (w, hs, rs)
        });
        let additive = c.additive.map(|m| {
            let rs = m.row_stride.get(lkv);
            let hs = m.head_stride.get(lq.saturating_mul(lkv));
            let len = m.len.of(extent(hq, lq, lkv, hs, rs));
            let hidden = m.pattern as usize % (len.max(1));
            let a: Vec<f32> = (0..len)
                .map(|i| {
                    if i == hidden || i % 5 == 3 {
                        f32::NEG_INFINITY
                    } else {
                        (i % 7) as f32 * -0.25
                    }
                })
                .collect();
            (a, hs, rs)
        });
        let per_head = |l: Len| -> Vec<f32> {
            (0..l.of(Some(hq)))
                .map(|i| vals.get(i).copied().unwrap_or(i as f32 * 0.5 - 1.0))
                .collect()
        };
        let scratch_needed = attention::scratch_len(
            Dims {
                heads_q: hq,
                heads_kv: hkv,
                len_q: lq,
                len_kv: lkv,
                d_k: dk,
                d_v: dv,
            },
            Dtypes {
                q: dtype(c.q.kind),
                k: dtype(c.k.kind),
                v: dtype(c.v.kind),
            },
            Tiles::new(c.tiles.0 as usize % 40, c.tiles.1 as usize % 40),
        );
        let _ = attention::partial_scratch_len(Dims::default(), Dtypes::F32, Tiles::DEFAULT);
        Built {
            dims,
            q,
            k,
            v,
            out,
            slopes: c.alibi.flatten().map(per_head),
            standard_alibi: matches!(c.alibi, Some(None)),
            sinks: c.sinks.map(per_head),
            bits,
            additive,
            tree: c.tree.as_ref().map(|t| t[..t.len().min(70)].to_vec()),
            lse: c.lse.map(|l| vec![0.0; l.of(hq.checked_mul(lq))]),
            scratch: vec![0.0; c.scratch.of(Some(scratch_needed))],
            scale: c.scale,
            softcap: c.softcap,
            top_left: c.top_left,
            causal: c.causal,
            window: c.window.map(|w| w as usize % 40),
            tiles: Tiles::new(c.tiles.0 as usize % 40, c.tiles.1 as usize % 40),
        }
    }

    /// The query, key and value views.
    pub fn qkv(&self) -> Qkv<'_> {
        let [hq, hkv, lq, lkv, dk, dv] = self.dims;
        fn view(b: &(Buf, usize, usize), h: usize, r: usize, d: usize) -> Tensor<'_> {
            Tensor::new(b.0.data(), h, r, d).with_strides(b.1, b.2)
        }
        Qkv {
            q: view(&self.q, hq, lq, dk),
            k: view(&self.k, hkv, lkv, dk),
            v: view(&self.v, hkv, lkv, dv),
        }
    }

    /// The parameters.
    pub fn params(&self) -> Params<'_> {
        let mut p = Params::new();
        p.scale = self.scale;
        p.softcap = self.softcap;
        p.alibi = match (&self.slopes, self.standard_alibi) {
            (Some(s), _) => Some(Alibi::Slopes(s)),
            (None, true) => Some(Alibi::Standard),
            (None, false) => None,
        };
        p.sinks = self.sinks.as_deref();
        p.align = if self.top_left {
            Align::TopLeft
        } else {
            Align::BottomRight
        };
        p.mask.causal = self.causal;
        p.mask.window = self.window;
        p.mask.bits = self.bits.as_ref().map(|(w, hs, rs)| BitMask {
            words: w,
            row_stride: *rs,
            head_stride: *hs,
        });
        p.mask.additive = self.additive.as_ref().map(|(a, hs, rs)| AdditiveMask {
            values: a,
            row_stride: *rs,
            head_stride: *hs,
        });
        p.mask.tree = self.tree.as_ref().map(|t| TreeMask { ancestors: t });
        p.tiles = self.tiles;
        p
    }
}

fn dtype(k: Kind) -> Dtype {
    match k {
        Kind::F32 => Dtype::F32,
        Kind::F16 => Dtype::F16,
        Kind::Bf16 => Dtype::Bf16,
    }
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(case) = Case::arbitrary(&mut u) else {
        return;
    };
    if std::env::var_os("EMKERN_FUZZ_DEBUG").is_some() {
        eprintln!("{case:#?}");
    }
    let mut b = Built::new(&case);
    for simd in Simd::available() {
        match case.mode {
            Mode::Whole => whole(simd, &mut b),
            Mode::Partial {
                start,
                extra,
                states,
            } => partial(simd, &mut b, start, extra, states),
            Mode::Split { at, states } => split(simd, &mut b, at, states),
        }
    }
    for heads in [0usize, 1, 7, 64] {
        let mut s = vec![0.0f32; heads];
        emkern::rope::alibi_slopes(&mut s);
        std::hint::black_box(emkern::rope::alibi_slope(heads / 2, heads));
    }
}

fn whole(simd: Simd, b: &mut Built) {
    let out_before = b.out.0.clone();
    let lse_before = b.lse.clone();
    let [hq, _, lq, _, _, dv] = b.dims;
    let mut out = b.out.0.clone();
    let mut lse = b.lse.clone();
    let mut scratch = b.scratch.clone();
    let r = attention::attention(
        simd,
        &b.qkv(),
        &b.params(),
        TensorMut::new(out.data_mut(), hq, lq, dv).with_strides(b.out.1, b.out.2),
        lse.as_deref_mut(),
        &mut scratch,
    );
    if r.is_err() {
        assert_eq!(
            out, out_before,
            "attention wrote the output and returned {r:?}"
        );
        assert!(
            same_f32s(&lse, &lse_before),
            "attention wrote lse and returned {r:?}"
        );
    }
}

fn partial(simd: Simd, b: &mut Built, start: u8, extra: u8, states_len: Len) {
    let [hq, _, lq, lkv, _, dv] = b.dims;
    let span = KvSpan {
        start: start as usize % 16,
        total: (start as usize % 16)
            .saturating_add(lkv)
            .saturating_add(extra as usize % 8),
    };
    let mut buf = vec![0.0f32; states_len.of(states_needed(hq, lq, dv))];
    let Ok(mut states) = States::new(&mut buf, hq, lq, dv) else {
        return;
    };
    let before = states_snapshot(&mut states);
    let r = attention::attention_partial(
        simd,
        &b.qkv(),
        &b.params(),
        span,
        &mut states,
        &mut b.scratch.clone(),
    );
    if r.is_err() {
        assert!(
            same_f32s(&Some(states_snapshot(&mut states)), &Some(before)),
            "attention_partial wrote the states and returned {r:?}"
        );
        return;
    }
    finish_states(simd, b, &mut states);
}

fn split(simd: Simd, b: &mut Built, at: u8, states_len: Len) {
    let [hq, _, lq, lkv, _, dv] = b.dims;
    let at = at as usize % lkv.saturating_add(1).max(1);
    let qkv = b.qkv();
    let (Some(k0), Some(v0), Some(k1), Some(v1)) = (
        qkv.k.narrow_rows(0, at),
        qkv.v.narrow_rows(0, at),
        qkv.k.narrow_rows(at, lkv - at),
        qkv.v.narrow_rows(at, lkv - at),
    ) else {
        return;
    };
    let needed = states_needed(hq, lq, dv);
    let (mut buf0, mut buf1) = (
        vec![0.0f32; states_len.of(needed)],
        vec![0.0f32; states_len.of(needed)],
    );
    let (Ok(mut s0), Ok(mut s1)) = (
        States::new(&mut buf0, hq, lq, dv),
        States::new(&mut buf1, hq, lq, dv),
    ) else {
        return;
    };
    let params = b.params();
    let mut scratch = b.scratch.clone();
    let first = Qkv {
        q: qkv.q,
        k: k0,
        v: v0,
    };
    let second = Qkv {
        q: qkv.q,
        k: k1,
        v: v1,
    };
    let r0 = attention::attention_partial(
        simd,
        &first,
        &params,
        KvSpan {
            start: 0,
            total: lkv,
        },
        &mut s0,
        &mut scratch,
    );
    let r1 = attention::attention_partial(
        simd,
        &second,
        &params,
        KvSpan {
            start: at,
            total: lkv,
        },
        &mut s1,
        &mut scratch,
    );
    if r0.is_ok() && r1.is_ok() {
        s0.merge(simd, &s1).expect("states of the same shape merge");
        finish_states(simd, b, &mut s0);
    }
}

/// Finalizes states into the case's output (checking that an error writes nothing) and reads every row state.
fn finish_states(simd: Simd, b: &mut Built, states: &mut States<'_>) {
    let [hq, _, lq, _, _, dv] = b.dims;
    let out_before = b.out.0.clone();
    let mut out = b.out.0.clone();
    let mut lse = b.lse.clone();
    let r = states.finalize(
        simd,
        b.sinks.as_deref(),
        TensorMut::new(out.data_mut(), hq, lq, dv).with_strides(b.out.1, b.out.2),
        lse.as_deref_mut(),
    );
    if r.is_err() {
        assert_eq!(
            out, out_before,
            "finalize wrote the output and returned {r:?}"
        );
        assert!(
            same_f32s(&lse, &b.lse),
            "finalize wrote lse and returned {r:?}"
        );
    }
    if dv > CAP {
        return;
    }
    let mut other = vec![0.0f32; dv + 2];
    let mut other = RowState::wrap(&mut other).expect("two elements or more");
    other.reset();
    other.add_sink(0.5);
    let mut row_out = vec![0.0f32; dv + 1];
    for (h, i) in [
        (0, 0),
        (hq.saturating_sub(1), lq.saturating_sub(1)),
        (hq, 0),
        (0, lq),
    ] {
        if let Some(mut row) = states.row(h, i) {
            std::hint::black_box((
                row.m(),
                row.l(),
                row.o().len(),
                row.d_v(),
                row.lse(None),
                row.lse(Some(1.0)),
            ));
            row.finalize(simd, None, &mut row_out);
            row.finalize(simd, Some(-2.0), &mut row_out[..dv.min(1)]);
            row.merge(simd, &other).expect("same d_v");
            row.add_sink(f32::NEG_INFINITY);
            row.add_sink(3.0);
        }
    }
    let mut short = [0.0f32; 1];
    assert!(RowState::wrap(&mut short).is_none());
    std::hint::black_box((states.heads(), states.len_q(), states.d_v()));
    std::hint::black_box(attention::state_len(hq.saturating_mul(lq), dv));
}

/// Elements of a `States` buffer (`None` on overflow).
fn states_needed(hq: usize, lq: usize, dv: usize) -> Option<usize> {
    hq.checked_mul(lq)?.checked_mul(dv.checked_add(2)?)
}

fn states_snapshot(states: &mut States<'_>) -> Vec<f32> {
    let (hq, lq) = (states.heads(), states.len_q());
    let mut v = Vec::new();
    if hq.checked_mul(lq).is_none_or(|n| n == 0 || n > CAP) {
        return v;
    }
    for h in 0..hq {
        for i in 0..lq {
            if let Some(r) = states.row(h, i) {
                v.push(r.m());
                v.push(r.l());
                v.extend_from_slice(r.o());
            }
        }
    }
    v
}

fn same_f32s(a: &Option<Vec<f32>>, b: &Option<Vec<f32>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
        }
        (None, None) => true,
        _ => false,
    }
}
