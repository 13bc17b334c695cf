//! The tiled loop: validation into a [`Plan`], then, per key/value head and query block, K/V tiles streamed once
//! and scored against every query row of every query head of the group.

use emkern_simd::Simd;
use emkern_simd::portable::exp::exp;

use super::alibi;
use super::error::{AttentionError, Operand};
use super::mask::{self, Align, Geometry};
use super::params::{self, Alibi, Params};
use super::scratch::Layout;
use super::shape::{Data, Dtype, KvSpan, Qkv, Tensor, check_tensor, expect};
use super::state::HEADER;

/// Where a block's row states live: row `(hl, r)` (local head `hl` of the group, query row `r` of the block
/// starting at `r0`) starts at `base + hl·head + (r − r0)·row`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StateIndex {
    pub base: usize,
    pub head: usize,
    pub row: usize,
}

/// The scratch regions of one call.
pub(crate) struct Bufs<'s> {
    pub q: &'s mut [f32],
    pub k: &'s mut [f32],
    pub v: &'s mut [f32],
    pub scores: &'s mut [f32],
    pub states: &'s mut [f32],
}

impl<'s> Bufs<'s> {
    /// Splits `scratch` per `layout`; `None` if it is too short.
    pub fn split(scratch: &'s mut [f32], layout: &Layout) -> Option<Bufs<'s>> {
        let (q, rest) = scratch.split_at_mut_checked(layout.q)?;
        let (k, rest) = rest.split_at_mut_checked(layout.k)?;
        let (v, rest) = rest.split_at_mut_checked(layout.v)?;
        let (scores, rest) = rest.split_at_mut_checked(layout.scores)?;
        let (states, _) = rest.split_at_mut_checked(layout.states)?;
        Some(Bufs {
            q,
            k,
            v,
            scores,
            states,
        })
    }
}

/// A validated call: every index the loops form is inside its slice.
pub(crate) struct Plan<'a> {
    pub simd: Simd,
    pub qkv: Qkv<'a>,
    pub params: Params<'a>,
    pub heads_kv: usize,
    pub group: usize,
    pub len_q: usize,
    pub d_k: usize,
    pub d_v: usize,
    /// Global index of the first key row of the views.
    pub span_start: usize,
    /// One past the global index of the last key row of the views.
    pub span_end: usize,
    pub geo: Geometry,
    pub scale: f32,
    pub layout: Layout,
}

impl<'a> Plan<'a> {
    /// Checks the views, the parameters, the masks and the span, once.
    pub fn new(
        simd: Simd,
        qkv: &Qkv<'a>,
        params: &Params<'a>,
        span: KvSpan,
        with_states: bool,
    ) -> Result<Plan<'a>, AttentionError> {
        let Qkv { q, k, v } = *qkv;
        check_tensor(Operand::Q, &q)?;
        check_tensor(Operand::K, &k)?;
        check_tensor(Operand::V, &v)?;
        expect(Operand::K, "d_k", q.dim, k.dim)?;
        expect(Operand::V, "heads", k.heads, v.heads)?;
        expect(Operand::V, "len_kv", k.rows, v.rows)?;
        let (heads_q, heads_kv) = (q.heads, k.heads);
        let group = match heads_q.checked_rem(heads_kv) {
            Some(0) => heads_q / heads_kv,
            None if heads_q == 0 => 0,
            _ => return Err(AttentionError::HeadGroups { heads_q, heads_kv }),
        };
        let bad_span = AttentionError::BadSpan {
            start: span.start,
            len: k.rows,
            total: span.total,
        };
        let span_end = span.start.checked_add(k.rows).ok_or(bad_span)?;
        let total = span.total;
        if span_end > total || i64::try_from(total).is_err() || i64::try_from(q.rows).is_err() {
            return Err(bad_span);
        }
        params::check(params, heads_q)?;
        mask::check(&params.mask, heads_q, q.rows, total)?;
        let scale = params::effective_scale(params.scale, q.dim)?;
        // Both fit in i64 (checked above).
        let q_pos0 = match params.align {
            Align::BottomRight => total as i64 - q.rows as i64,
            Align::TopLeft => 0,
        };
        let geo = Geometry {
            q_pos0,
            total,
            len_q: q.rows,
            window: params
                .mask
                .window
                .map(|w| i64::try_from(w).unwrap_or(i64::MAX)),
            causal: params.mask.causal,
        };
        let layout = Layout::new(qkv.dims(), qkv.dtypes(), params.tiles, with_states);
        Ok(Plan {
            simd,
            qkv: *qkv,
            params: *params,
            heads_kv,
            group,
            len_q: q.rows,
            d_k: q.dim,
            d_v: v.dim,
            span_start: span.start,
            span_end,
            geo,
            scale,
            layout,
        })
    }

    /// Query rows per block.
    pub fn q_block(&self) -> usize {
        self.params.tiles.q
    }

    /// Elements per row state.
    pub fn width(&self) -> usize {
        self.d_v + HEADER
    }

    /// Runs query rows `r0..r1` of key/value head `g` over every key of the views, updating the row states in
    /// `states` (located by `idx`).
    pub fn run_block(
        &self,
        g: usize,
        r0: usize,
        r1: usize,
        bufs: &mut Bufs<'_>,
        states: &mut [f32],
        idx: StateIndex,
    ) {
        let q = &self.qkv.q;
        if q.dtype() != Dtype::F32 {
            let rows = r1 - r0;
            for hl in 0..self.group {
                let h = g * self.group + hl;
                for r in r0..r1 {
                    let at = (hl * rows + (r - r0)) * self.d_k;
                    if let Some(dst) = bufs.q.get_mut(at..at + self.d_k) {
                        widen(self.simd, q.data, q.offset(h, r), dst);
                    }
                }
            }
        }
        // The keys any row of the block may see under the position masks.
        let (mut lo, mut hi) = (usize::MAX, 0);
        for r in r0..r1 {
            let (a, b) = self.geo.row_range(r, self.span_start, self.span_end);
            if a < b {
                lo = lo.min(a);
                hi = hi.max(b);
            }
        }
        let tile = self.params.tiles.kv;
        let mut t0 = lo;
        while t0 < hi {
            let t1 = t0 + tile.min(hi - t0);
            // Skip tiles that no row sees (a window leaves gaps in the union): their K/V are never read.
            let seen = (r0..r1).any(|r| {
                let (a, b) = self.geo.row_range(r, t0, t1);
                a < b
            });
            if seen {
                self.run_tile(g, r0, r1, t0, t1, bufs, states, idx);
            }
            t0 = t1;
        }
    }

    /// One K/V tile (global keys `t0..t1`) against every row of the block, for every query head of group `g`.
    #[allow(clippy::too_many_arguments)]
    fn run_tile(
        &self,
        g: usize,
        r0: usize,
        r1: usize,
        t0: usize,
        t1: usize,
        bufs: &mut Bufs<'_>,
        states: &mut [f32],
        idx: StateIndex,
    ) {
        let simd = self.simd;
        let Qkv { q, k, v } = self.qkv;
        let (d_k, d_v, s0, rows) = (self.d_k, self.d_v, self.span_start, r1 - r0);
        let Bufs {
            q: qbuf,
            k: kbuf,
            v: vbuf,
            scores: sbuf,
            ..
        } = bufs;
        if k.dtype() != Dtype::F32 {
            widen_rows(simd, &k, g, t0 - s0, t1 - t0, kbuf);
        }
        let mut v_ready = v.dtype() == Dtype::F32;
        for hl in 0..self.group {
            let h = g * self.group + hl;
            for r in r0..r1 {
                let (lo, hi) = self.geo.row_range(r, t0, t1);
                if lo >= hi {
                    continue;
                }
                let n = hi - lo;
                let Some(scores) = sbuf.get_mut(..n) else {
                    continue;
                };
                if d_k == 0 {
                    scores.fill(0.0);
                } else {
                    let q_row = match q.data {
                        Data::F32(s) => {
                            let at = q.offset(h, r);
                            s.get(at..at + d_k)
                        }
                        _ => {
                            let at = (hl * rows + (r - r0)) * d_k;
                            qbuf.get(at..at + d_k)
                        }
                    };
                    let (k_rows, stride) = match k.data {
                        Data::F32(s) => (s.get(k.offset(g, lo - s0)..), k.row_stride),
                        _ => (kbuf.get((lo - t0) * d_k..), d_k),
                    };
                    let (Some(q_row), Some(k_rows)) = (q_row, k_rows) else {
                        continue;
                    };
                    if simd.dot_rows(q_row, k_rows, stride, scores) != n {
                        continue;
                    }
                }
                self.transform(h, r, lo, scores);
                let m_tile = simd.max(scores);
                if m_tile == f32::NEG_INFINITY {
                    // Every key of this tile is hidden from this row: nothing to add, no V read.
                    continue;
                }
                if !v_ready {
                    widen_rows(simd, &v, g, t0 - s0, t1 - t0, vbuf);
                    v_ready = true;
                }
                let at = idx.base + hl * idx.head + (r - r0) * idx.row;
                let Some([m, l, o @ ..]) = states.get_mut(at..at + d_v + HEADER) else {
                    continue;
                };
                let m_old = *m;
                let m_new = if m_tile > m_old { m_tile } else { m_old };
                for s in scores.iter_mut() {
                    *s -= m_new;
                }
                simd.exp_in_place(scores);
                let tile_sum = simd.sum(scores);
                if m_old == f32::NEG_INFINITY {
                    // Empty state: ℓ = 0 and O = 0 already.
                    *l = tile_sum;
                } else if m_new != m_old {
                    let alpha = exp(m_old - m_new);
                    *l = *l * alpha + tile_sum;
                    simd.scale(alpha, o);
                } else {
                    *l += tile_sum;
                }
                *m = m_new;
                for (j, &p) in (lo..).zip(scores.iter()) {
                    // Hidden keys have p = 0 exactly and are skipped: their V rows are never read.
                    if p == 0.0 {
                        continue;
                    }
                    let v_row = match v.data {
                        Data::F32(s) => {
                            let at = v.offset(g, j - s0);
                            s.get(at..at + d_v)
                        }
                        _ => {
                            let at = (j - t0) * d_v;
                            vbuf.get(at..at + d_v)
                        }
                    };
                    if let Some(v_row) = v_row {
                        simd.axpy(p, v_row, o);
                    }
                }
            }
        }
    }

    /// Scale, soft-cap, ALiBi and masks for query head `h`, row `r`, over keys `lo .. lo + scores.len()`.
    #[inline]
    fn transform(&self, h: usize, r: usize, lo: usize, scores: &mut [f32]) {
        if self.scale != 1.0 {
            self.simd.scale(self.scale, scores);
        }
        if let Some(c) = self.params.softcap {
            for s in scores.iter_mut() {
                *s = c * libm::tanhf(*s / c);
            }
        }
        if let Some(a) = self.params.alibi {
            let slope = match a {
                Alibi::Standard => alibi::slope(h, self.qkv.q.heads),
                Alibi::Slopes(s) => s.get(h).copied().unwrap_or(0.0),
            };
            let p = self.geo.q_pos(r);
            for (j, s) in (lo..).zip(scores.iter_mut()) {
                // Positions fit in i64 (checked when planning); the distance saturates.
                let dist = (j as i64).saturating_sub(p);
                *s += slope * dist as f32;
            }
        }
        mask::apply(&self.params.mask, &self.geo, h, r, lo, scores);
    }
}

/// Widens `dst.len()` elements of `data` starting at `off` into `dst` (a copy for f32). Does nothing if the range
/// is outside `data` (callers validated it).
#[inline]
fn widen(simd: Simd, data: Data<'_>, off: usize, dst: &mut [f32]) {
    let Some(end) = off.checked_add(dst.len()) else {
        return;
    };
    match data {
        Data::F32(s) => {
            if let Some(src) = s.get(off..end) {
                dst.copy_from_slice(src);
            }
        }
        Data::F16(s) => {
            if let Some(src) = s.get(off..end) {
                simd.f16_to_f32(src, dst);
            }
        }
        Data::Bf16(s) => {
            if let Some(src) = s.get(off..end) {
                simd.bf16_to_f32(src, dst);
            }
        }
    }
}

/// Widens rows `row0 .. row0 + n` of head `h` of `t` into `dst` (row-major, `t.dim` per row): one conversion
/// call when the rows are contiguous, one per row otherwise.
fn widen_rows(simd: Simd, t: &Tensor<'_>, h: usize, row0: usize, n: usize, dst: &mut [f32]) {
    let d = t.dim;
    if d == 0 || n == 0 {
        return;
    }
    if t.row_stride == d {
        if let Some(dst) = dst.get_mut(..n * d) {
            widen(simd, t.data, t.offset(h, row0), dst);
        }
        return;
    }
    for (i, dst) in dst.chunks_exact_mut(d).take(n).enumerate() {
        widen(simd, t.data, t.offset(h, row0 + i), dst);
    }
}
