//! The online-softmax state of a query row, merging partial states, and turning a state into output and
//! log-sum-exp.
//!
//! A row's state is three things, stored contiguously as `[m, ℓ, O₀ … O_{d_v−1}]` (f32):
//! - `m`: the largest score seen so far (`−inf` before any visible key);
//! - `ℓ`: `Σ e^(s_j − m)` over the visible keys seen so far;
//! - `O`: `Σ e^(s_j − m)·v_j`, the unnormalized output.
//!
//! Invariant: `m = −inf` if and only if no key was visible, and then `ℓ = 0` and `O = 0`. Every operation keeps
//! it and never evaluates `(−inf) − (−inf)`.
//!
//! Two states over disjoint key sets merge into the state over their union:
//! `M = max(m₁, m₂)`, `ℓ = ℓ₁e^(m₁−M) + ℓ₂e^(m₂−M)`, `O = O₁e^(m₁−M) + O₂e^(m₂−M)`; an empty side (`m = −inf`)
//! contributes nothing. Merging is commutative and associative up to f32 rounding. The output is `O / ℓ` and the
//! log-sum-exp `m + ln ℓ`; an empty state gives exact zeros and `−inf`.

use emkern_simd::portable::exp::exp;
use emkern_simd::{Simd, bf16, f16};

use super::error::{AttentionError, Operand};
use super::shape::{DataMut, TensorMut, check_len, check_output, expect};

/// Elements of a row state before `O`: `m` and `ℓ`.
pub(crate) const HEADER: usize = 2;

/// Elements a narrowed (f16/bf16) output row is staged through on the stack.
const STAGE: usize = 64;

/// f32 elements of a [`States`] buffer for `rows` query rows (`heads_q · len_q`) of `d_v` values:
/// `rows · (d_v + 2)`. Saturates at `usize::MAX` instead of overflowing.
pub const fn state_len(rows: usize, d_v: usize) -> usize {
    rows.saturating_mul(d_v.saturating_add(HEADER))
}

/// Sets a row to the empty state.
#[inline]
pub(crate) fn reset_row(row: &mut [f32]) {
    if let [m, l, o @ ..] = row {
        *m = f32::NEG_INFINITY;
        *l = 0.0;
        o.fill(0.0);
    }
}

/// Merges state `src` into state `dst` (same layout; a shorter `O` merges the common prefix).
pub(crate) fn merge_rows(simd: Simd, dst: &mut [f32], src: &[f32]) {
    let ([m1, l1, o1 @ ..], [m2, l2, o2 @ ..]) = (dst, src) else {
        return;
    };
    if *m2 == f32::NEG_INFINITY {
        return;
    }
    if *m1 == f32::NEG_INFINITY {
        *m1 = *m2;
        *l1 = *l2;
        for (d, &s) in o1.iter_mut().zip(o2) {
            *d = s;
        }
        return;
    }
    let m = if *m2 > *m1 { *m2 } else { *m1 };
    let a1 = exp(*m1 - m);
    let a2 = exp(*m2 - m);
    *m1 = m;
    *l1 = *l1 * a1 + *l2 * a2;
    if a1 != 1.0 {
        simd.scale(a1, o1);
    }
    if a2 != 0.0 {
        simd.axpy(a2, o2, o1);
    }
}

/// The factor that turns `O` into the output and the log-sum-exp, for a state `(m, ℓ)` and an optional sink
/// logit. `None` for an empty state (zeros out; the log-sum-exp is then the sink, or `−inf`).
#[inline]
pub(crate) fn finish(m: f32, l: f32, sink: Option<f32>) -> (Option<f32>, f32) {
    let sink = sink.filter(|&s| s != f32::NEG_INFINITY);
    if m == f32::NEG_INFINITY || l == 0.0 {
        return (None, sink.unwrap_or(f32::NEG_INFINITY));
    }
    match sink {
        None => (Some(1.0 / l), m + libm::logf(l)),
        Some(s) => {
            let mm = if s > m { s } else { m };
            let a = exp(m - mm);
            let total = l * a + exp(s - mm);
            (Some(a / total), mm + libm::logf(total))
        }
    }
}

/// Writes `factor · o` (or zeros when `factor` is `None`) to `out[off .. off + o.len()]`, narrowing to the
/// output's storage type. Does nothing if that range is outside `out` (callers validated it).
pub(crate) fn write_row(
    simd: Simd,
    out: &mut DataMut<'_>,
    off: usize,
    o: &[f32],
    factor: Option<f32>,
) {
    let n = o.len();
    match out {
        DataMut::F32(s) => {
            if let Some(dst) = off.checked_add(n).and_then(|end| s.get_mut(off..end)) {
                match factor {
                    None => dst.fill(0.0),
                    Some(f) => {
                        dst.copy_from_slice(o);
                        simd.scale(f, dst);
                    }
                }
            }
        }
        DataMut::F16(s) => {
            if let Some(dst) = off.checked_add(n).and_then(|end| s.get_mut(off..end)) {
                match factor {
                    None => dst.fill(f16::ZERO),
                    Some(f) => narrow(o, f, dst, |src, d| simd.f32_to_f16(src, d)),
                }
            }
        }
        DataMut::Bf16(s) => {
            if let Some(dst) = off.checked_add(n).and_then(|end| s.get_mut(off..end)) {
                match factor {
                    None => dst.fill(bf16::ZERO),
                    Some(f) => narrow(o, f, dst, |src, d| simd.f32_to_bf16(src, d)),
                }
            }
        }
    }
}

/// `dst = convert(f · o)` through a fixed stack buffer of [`STAGE`] elements.
fn narrow<T>(o: &[f32], f: f32, dst: &mut [T], mut convert: impl FnMut(&[f32], &mut [T])) {
    let mut stage = [0.0f32; STAGE];
    for (src, d) in o.chunks(STAGE).zip(dst.chunks_mut(STAGE)) {
        for (t, &v) in stage.iter_mut().zip(src) {
            *t = v * f;
        }
        if let Some(t) = stage.get(..src.len()) {
            convert(t, d);
        }
    }
}

/// The state of one query row, borrowed from a buffer laid out as `[m, ℓ, O₀ … O_{d_v−1}]` (see the
/// [module documentation](self)).
#[derive(Debug)]
pub struct RowState<'a> {
    row: &'a mut [f32],
}

impl<'a> RowState<'a> {
    /// Views `row` (at least 2 elements; `d_v = row.len() − 2`) as a state, keeping its contents. Call
    /// [`RowState::reset`] to start an empty state. `None` if `row` is shorter than 2.
    pub fn wrap(row: &'a mut [f32]) -> Option<Self> {
        if row.len() < HEADER {
            None
        } else {
            Some(RowState { row })
        }
    }

    /// Sets the empty state: `m = −inf`, `ℓ = 0`, `O = 0`.
    pub fn reset(&mut self) {
        reset_row(self.row);
    }

    /// The running maximum `m`.
    pub fn m(&self) -> f32 {
        self.row.first().copied().unwrap_or(f32::NEG_INFINITY)
    }

    /// The running sum `ℓ` (relative to `m`).
    pub fn l(&self) -> f32 {
        self.row.get(1).copied().unwrap_or(0.0)
    }

    /// The unnormalized output `O` (relative to `m`).
    pub fn o(&self) -> &[f32] {
        self.row.get(HEADER..).unwrap_or(&[])
    }

    /// The value dimension `d_v`.
    pub fn d_v(&self) -> usize {
        self.o().len()
    }

    /// Merges `other` (the state of the same query over a disjoint set of keys) into `self`.
    pub fn merge(&mut self, simd: Simd, other: &RowState<'_>) -> Result<(), AttentionError> {
        expect(Operand::States, "d_v", self.d_v(), other.d_v())?;
        merge_rows(simd, self.row, other.row);
        Ok(())
    }

    /// Adds an attention sink: a logit that joins the softmax denominator with no value row (the state merged
    /// with `(m = sink, ℓ = 1, O = 0)`). `−inf` does nothing. Add each sink once, after all keys are merged in,
    /// or pass it to [`RowState::finalize`] instead.
    pub fn add_sink(&mut self, sink: f32) {
        if sink == f32::NEG_INFINITY {
            return;
        }
        if let [m, l, o @ ..] = &mut *self.row {
            if *m == f32::NEG_INFINITY {
                *m = sink;
                *l = 1.0;
                o.fill(0.0);
                return;
            }
            let mm = if sink > *m { sink } else { *m };
            let a = exp(*m - mm);
            *l = *l * a + exp(sink - mm);
            *m = mm;
            if a != 1.0 {
                for v in o.iter_mut() {
                    *v *= a;
                }
            }
        }
    }

    /// The log-sum-exp of the row's scores (plus the sink, if given): `m + ln ℓ`; `−inf` for an empty state
    /// without a sink.
    pub fn lse(&self, sink: Option<f32>) -> f32 {
        finish(self.m(), self.l(), sink).1
    }

    /// Writes the attention output `O / ℓ` (with the sink, if given, in the denominator) to
    /// `out[..min(out.len(), d_v)]`. An empty state writes exact zeros.
    pub fn finalize(&self, simd: Simd, sink: Option<f32>, out: &mut [f32]) {
        let (factor, _) = finish(self.m(), self.l(), sink);
        let o = self.o();
        let n = o.len().min(out.len());
        if let (Some(dst), Some(src)) = (out.get_mut(..n), o.get(..n)) {
            write_row(simd, &mut DataMut::F32(dst), 0, src, factor);
        }
    }
}

/// The states of all `heads_q · len_q` query rows of a call, in a caller-provided buffer of
/// [`state_len`]`(heads_q · len_q, d_v)` f32: row `(h, i)` is at `(h·len_q + i)·(d_v + 2)`.
///
/// Use it to split the keys of one attention: run [`attention_partial`](super::attention_partial) over key spans
/// into one `States` (resuming: spans processed in sequence accumulate) or into several (split-KV: one per
/// span, possibly on different cores) and [`States::merge`] them, then [`States::finalize`].
#[derive(Debug)]
pub struct States<'a> {
    buf: &'a mut [f32],
    heads: usize,
    len_q: usize,
    d_v: usize,
}

impl<'a> States<'a> {
    /// Empty states (`m = −inf`, `ℓ = 0`, `O = 0`) for `heads` query heads of `len_q` rows and `d_v` values, in
    /// `buf` (at least [`state_len`]`(heads·len_q, d_v)` elements; extra elements are left alone).
    pub fn new(
        buf: &'a mut [f32],
        heads: usize,
        len_q: usize,
        d_v: usize,
    ) -> Result<Self, AttentionError> {
        let mut s = States::wrap(buf, heads, len_q, d_v)?;
        s.reset();
        Ok(s)
    }

    /// Views `buf` as states, keeping its contents (states written earlier by this module: resuming after the
    /// view was dropped). Other contents give meaningless but memory-safe results.
    pub fn wrap(
        buf: &'a mut [f32],
        heads: usize,
        len_q: usize,
        d_v: usize,
    ) -> Result<Self, AttentionError> {
        let needed = heads
            .checked_mul(len_q)
            .and_then(|rows| rows.checked_mul(d_v.checked_add(HEADER)?));
        check_len(Operand::States, needed, buf.len())?;
        Ok(States {
            buf,
            heads,
            len_q,
            d_v,
        })
    }

    /// Resets every row to the empty state.
    pub fn reset(&mut self) {
        for row in self.rows_mut() {
            reset_row(row);
        }
    }

    /// Query heads.
    pub fn heads(&self) -> usize {
        self.heads
    }

    /// Query rows per head.
    pub fn len_q(&self) -> usize {
        self.len_q
    }

    /// Value dimension.
    pub fn d_v(&self) -> usize {
        self.d_v
    }

    /// Elements per row state (`d_v + 2`).
    pub(crate) fn width(&self) -> usize {
        self.d_v.saturating_add(HEADER)
    }

    /// The used part of the buffer.
    pub(crate) fn raw_mut(&mut self) -> &mut [f32] {
        let n = self.heads * self.len_q * self.width();
        let len = self.buf.len();
        self.buf.get_mut(..n.min(len)).unwrap_or(&mut [])
    }

    fn raw(&self) -> &[f32] {
        let n = self.heads * self.len_q * self.width();
        self.buf.get(..n.min(self.buf.len())).unwrap_or(&[])
    }

    fn rows_mut(&mut self) -> core::slice::ChunksExactMut<'_, f32> {
        let w = self.width();
        self.raw_mut().chunks_exact_mut(w)
    }

    /// The state of query head `h`, row `i`, or `None` out of range.
    pub fn row(&mut self, h: usize, i: usize) -> Option<RowState<'_>> {
        if h >= self.heads || i >= self.len_q {
            return None;
        }
        let w = self.width();
        let start = (h * self.len_q + i) * w;
        RowState::wrap(self.buf.get_mut(start..start + w)?)
    }

    /// Merges `other` (states of the same queries over a disjoint set of keys) into `self`, row by row.
    pub fn merge(&mut self, simd: Simd, other: &States<'_>) -> Result<(), AttentionError> {
        expect(Operand::States, "heads", self.heads, other.heads)?;
        expect(Operand::States, "len_q", self.len_q, other.len_q)?;
        expect(Operand::States, "d_v", self.d_v, other.d_v)?;
        let w = self.width();
        for (dst, src) in self.rows_mut().zip(other.raw().chunks_exact(w)) {
            merge_rows(simd, dst, src);
        }
        Ok(())
    }

    /// Writes the attention output of every row to `out` (`[heads, len_q, d_v]`, any storage type) and, if
    /// given, the log-sum-exp to `lse` (`[heads, len_q]` contiguous). `sinks` (one logit per head) join the
    /// denominators here, once. Fully masked rows give exact zeros and a log-sum-exp of `−inf` (or the sink).
    pub fn finalize(
        &self,
        simd: Simd,
        sinks: Option<&[f32]>,
        mut out: TensorMut<'_>,
        mut lse: Option<&mut [f32]>,
    ) -> Result<(), AttentionError> {
        check_output(&out, self.heads, self.len_q, self.d_v)?;
        if let Some(s) = sinks {
            check_len(Operand::Sinks, Some(self.heads), s.len())?;
        }
        if let Some(l) = lse.as_deref() {
            check_len(Operand::Lse, self.heads.checked_mul(self.len_q), l.len())?;
        }
        let w = self.width();
        let rows = self.raw().chunks_exact(w);
        for (idx, row) in rows.enumerate() {
            let (h, i) = (idx / self.len_q, idx % self.len_q);
            let sink = sinks.and_then(|s| s.get(h).copied());
            if let [m, l, o @ ..] = row {
                let (factor, row_lse) = finish(*m, *l, sink);
                let off = out.offset(h, i);
                write_row(simd, &mut out.data, off, o, factor);
                if let Some(slot) = lse.as_deref_mut().and_then(|l| l.get_mut(idx)) {
                    *slot = row_lse;
                }
            }
        }
        Ok(())
    }
}
