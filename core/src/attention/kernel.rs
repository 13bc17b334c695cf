//! The tiled loop: validation into a [`Plan`], then, per key/value head and block of query rows, K/V tiles
//! streamed once for every query head of the group, with both products (`Q·Kᵀ` and `P·V`) as register-tiled
//! [`Simd::gemm`] calls.
//!
//! # One block
//! The `M = group · rows` query rows of a block (every query head of the group, `rows` consecutive positions)
//! are numbered position-major: row `mi = (r − r0)·group + hl` is query head `g·group + hl` at position row `r`,
//! so rows that share a position (and hence their position masks) are neighbours. Per block:
//! 1. the queries are scaled by `scale` and packed transposed, `Qᵀ[d_k × M]`;
//! 2. per K/V tile of `n` keys: `Sᵀ[n × M] = K·Qᵀ` (one gemm: each K element is broadcast against all `M` rows),
//!    transposed into `S[M × n]`; each row is soft-capped, biased (ALiBi), masked and folded into its running
//!    state `(m, ℓ, O)` — its entries become the probabilities `p = e^(s − m)`, exactly 0 for hidden keys;
//! 3. `O += P·V` by chunks of rows: a gemm over every run of keys that all rows of the chunk see with `p ≠ 0`,
//!    and a per-row `axpy` for the other keys with `p ≠ 0`, so a V row is never read or multiplied for a row that
//!    does not see it (not even by 0).
//!
//! The block's states live in scratch, `M` rows of `[m, ℓ, O]`.

use emkern_simd::portable::exp::exp;
use emkern_simd::{GemmShape, Simd};

use super::alibi;
use super::error::{AttentionError, Operand};
use super::mask::{self, Align, Geometry};
use super::params::{self, Alibi, Params};
use super::scratch::Layout;
use super::shape::{Data, KvSpan, Qkv, Tensor, check_tensor, expect};
use super::state::HEADER;

/// Rows of a block per `P·V` chunk: the rows of one gemm call, whose keys seen by all of them go through the
/// gemm and the others row by row.
const PV_CHUNK: usize = 12;

/// How many tiles ahead of the current one the K and V rows are prefetched.
const PREFETCH_TILES: usize = 1;

/// The scratch regions of one call.
pub(crate) struct Bufs<'s> {
    /// `Qᵀ` of the block, `d_k × M`, scaled.
    pub qt: &'s mut [f32],
    /// One widened query row (f16/bf16 queries only).
    pub q_row: &'s mut [f32],
    /// One widened K tile, `n × d_k` (f16/bf16 keys only).
    pub k: &'s mut [f32],
    /// One widened V tile, `n × d_v` (f16/bf16 values only).
    pub v: &'s mut [f32],
    /// `Sᵀ` of one tile, `n × M`.
    pub st: &'s mut [f32],
    /// `S`, then `P`, of one tile, `M × n`.
    pub s: &'s mut [f32],
    /// The block's row states, `M × (d_v + 2)`.
    pub states: &'s mut [f32],
}

impl<'s> Bufs<'s> {
    /// Splits `scratch` per `layout`; `None` if it is too short.
    pub fn split(scratch: &'s mut [f32], layout: &Layout) -> Option<Bufs<'s>> {
        let (qt, rest) = scratch.split_at_mut_checked(layout.qt)?;
        let (q_row, rest) = rest.split_at_mut_checked(layout.q_row)?;
        let (k, rest) = rest.split_at_mut_checked(layout.k)?;
        let (v, rest) = rest.split_at_mut_checked(layout.v)?;
        let (st, rest) = rest.split_at_mut_checked(layout.st)?;
        let (s, rest) = rest.split_at_mut_checked(layout.s)?;
        let (states, _) = rest.split_at_mut_checked(layout.states)?;
        Some(Bufs {
            qt,
            q_row,
            k,
            v,
            st,
            s,
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
        let layout = Layout::new(qkv.dims(), qkv.dtypes(), params.tiles);
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

    /// Query rows (positions) per block.
    pub fn q_block(&self) -> usize {
        self.params.tiles.positions(self.group)
    }

    /// Elements per row state (at least 2; saturating, so that it never wraps to 0).
    pub fn width(&self) -> usize {
        self.d_v.saturating_add(HEADER)
    }

    /// Query head and position row of block row `mi` of key/value head `g`, for a block starting at `r0`.
    /// Blocks only run with `group ≥ 1` (a call without query heads returns first); the checked division
    /// keeps this total without a panic path.
    #[inline]
    pub fn row_of(&self, g: usize, r0: usize, mi: usize) -> (usize, usize) {
        let (q, r) = (
            mi.checked_div(self.group).unwrap_or(0),
            mi.checked_rem(self.group).unwrap_or(0),
        );
        (g * self.group + r, r0 + q)
    }

    /// Runs query rows `r0..r1` of every query head of key/value head `g` over every key of the views, updating
    /// the block's states in `bufs.states` (row `mi` as in the [module documentation](self)).
    pub fn run_block(&self, g: usize, r0: usize, r1: usize, bufs: &mut Bufs<'_>) {
        let rows = self.group * (r1 - r0);
        self.pack_queries(g, r0, rows, bufs);
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
                self.run_tile(g, r0, rows, t0, t1, bufs);
            }
            t0 = t1;
        }
    }

    /// Writes `scale · q` of the block's rows, transposed, into `bufs.qt` (`d_k × rows`).
    fn pack_queries(&self, g: usize, r0: usize, rows: usize, bufs: &mut Bufs<'_>) {
        let q = &self.qkv.q;
        let d_k = self.d_k;
        for mi in 0..rows {
            let (h, r) = self.row_of(g, r0, mi);
            let at = q.offset(h, r);
            let src: &[f32] = match q.data {
                Data::F32(s) => s.get(at..at + d_k).unwrap_or_default(),
                _ => {
                    widen(self.simd, q.data, at, bufs.q_row);
                    &bufs.q_row[..]
                }
            };
            for (p, &x) in src.iter().enumerate() {
                if let Some(t) = bufs.qt.get_mut(p * rows + mi) {
                    *t = self.scale * x;
                }
            }
        }
    }

    /// One K/V tile (global keys `t0..t1`) against the block's `rows` rows.
    fn run_tile(
        &self,
        g: usize,
        r0: usize,
        rows: usize,
        t0: usize,
        t1: usize,
        bufs: &mut Bufs<'_>,
    ) {
        let simd = self.simd;
        let Qkv { k, v, .. } = self.qkv;
        let (d_k, d_v, s0, n) = (self.d_k, self.d_v, self.span_start, t1 - t0);
        let w = self.width();
        let Bufs {
            qt,
            k: kbuf,
            v: vbuf,
            st,
            s,
            states,
            ..
        } = bufs;

        // The K and V rows PREFETCH_TILES tiles ahead are requested now, so that they stream in while this tile
        // and the next ones compute.
        let ahead = t0 + PREFETCH_TILES * n;
        let ahead_end = (ahead + n).min(self.span_end);
        self.prefetch_rows(&k, g, ahead, ahead_end);
        self.prefetch_rows(&v, g, ahead, ahead_end);
        // Sᵀ = K·Qᵀ, then S.
        let (k_rows, k_stride) = match k.data {
            Data::F32(x) => (
                x.get(k.offset(g, t0 - s0)..).unwrap_or_default(),
                k.row_stride,
            ),
            _ => {
                widen_rows(simd, &k, g, t0 - s0, n, kbuf);
                (&kbuf[..], d_k)
            }
        };
        let score_shape = GemmShape {
            m: n,
            n: rows,
            k: d_k,
            lda: k_stride,
            ldb: rows,
            ldc: rows,
        };
        if !simd.gemm(score_shape, k_rows, qt, st, false) {
            return;
        }
        if !simd.transpose(n, rows, st, rows, s, n) {
            return;
        }

        // Softmax update per row: S becomes P.
        let mut any = false;
        for (mi, (s_row, state)) in s
            .chunks_exact_mut(n.max(1))
            .zip(states.chunks_exact_mut(w))
            .take(rows)
            .enumerate()
        {
            let (h, r) = self.row_of(g, r0, mi);
            let (lo, hi) = self.geo.row_range(r, t0, t1);
            any |= self.update_row(h, r, lo - t0, hi - t0, t0, s_row, state);
        }
        if !any || d_v == 0 {
            // No row sees a key of this tile with p > 0, or there is no value to add: V is not needed. (With
            // d_v = 0 the V view's strides are unconstrained, so V offsets must not even be computed.)
            return;
        }

        // O += P·V.
        let (v_rows, v_stride) = match v.data {
            Data::F32(x) => (
                x.get(v.offset(g, t0 - s0)..).unwrap_or_default(),
                v.row_stride,
            ),
            _ => {
                widen_rows(simd, &v, g, t0 - s0, n, vbuf);
                (&vbuf[..], d_v)
            }
        };
        let mut c0 = 0;
        while c0 < rows {
            let c1 = rows.min(c0 + PV_CHUNK);
            self.pv_chunk(g, r0, (c0, c1), (t0, t1), s, v_rows, v_stride, states);
            c0 = c1;
        }
    }

    /// Asks the memory system for rows `from..to` (global key indices) of key/value head `g` of `t`: one hint
    /// per cache line, over one contiguous range when the rows are packed (one call instead of one per row).
    fn prefetch_rows(&self, t: &Tensor<'_>, g: usize, from: usize, to: usize) {
        let (a, b) = (
            from.saturating_sub(self.span_start),
            to.saturating_sub(self.span_start),
        );
        if a >= b {
            return;
        }
        let d = t.dim;
        if t.row_stride == d {
            hint(self.simd, t.data, t.offset(g, a), (b - a) * d);
        } else {
            for row in a..b {
                hint(self.simd, t.data, t.offset(g, row), d);
            }
        }
    }

    /// Folds row `s_row` of a tile (keys `t0 + j`) into the row's `state`: the keys `lo..hi` (tile-relative) are
    /// the ones the position masks leave to this row. Leaves `s_row` holding `p = e^(s − m)`, exactly 0 for every
    /// key the row does not see. Returns whether some `p` is non-zero.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn update_row(
        &self,
        h: usize,
        r: usize,
        lo: usize,
        hi: usize,
        t0: usize,
        s_row: &mut [f32],
        state: &mut [f32],
    ) -> bool {
        let simd = self.simd;
        let Some(seen) = s_row.get_mut(lo..hi).filter(|x| !x.is_empty()) else {
            s_row.fill(0.0);
            return false;
        };
        self.transform(h, r, t0 + lo, seen);
        let m_tile = simd.max(seen);
        let [m, l, o @ ..] = state else {
            s_row.fill(0.0);
            return false;
        };
        if m_tile == f32::NEG_INFINITY {
            // Every key of this tile is hidden from this row.
            s_row.fill(0.0);
            return false;
        }
        let m_old = *m;
        let m_new = if m_tile > m_old { m_tile } else { m_old };
        let tile_sum = simd.exp_shifted_sum(m_new, seen);
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
        let len = s_row.len();
        if let Some(x) = s_row.get_mut(..lo) {
            x.fill(0.0);
        }
        if let Some(x) = s_row.get_mut(hi.min(len)..) {
            x.fill(0.0);
        }
        true
    }

    /// `O += P·V` for block rows `c0..c1` over the tile's keys `t0..t1`.
    ///
    /// Fast path: the keys that the position masks leave to every row of the chunk, if no row has a zero `p`
    /// among them, go through one gemm, and each row's remaining visible keys through `axpy`. Otherwise (bit,
    /// additive or tree masks, or underflow) the keys are split into runs that every row sees with `p ≠ 0`
    /// (gemm) and single keys that only some rows see (`axpy` for those rows).
    #[allow(clippy::too_many_arguments)]
    fn pv_chunk(
        &self,
        g: usize,
        r0: usize,
        (c0, c1): (usize, usize),
        (t0, t1): (usize, usize),
        p: &[f32],
        v_rows: &[f32],
        v_stride: usize,
        states: &mut [f32],
    ) {
        let n = t1 - t0;
        let row_keys = |mi: usize| {
            let (_, r) = self.row_of(g, r0, mi);
            let (lo, hi) = self.geo.row_range(r, t0, t1);
            (lo - t0, hi - t0)
        };
        // Keys every row of the chunk may see.
        let (mut a, mut b) = (0, n);
        for mi in c0..c1 {
            let (lo, hi) = row_keys(mi);
            a = a.max(lo);
            b = b.min(hi);
        }
        let dense = a < b
            && (c0..c1).all(|mi| {
                p.get(mi * n + a..mi * n + b)
                    .is_some_and(|x| !x.contains(&0.0))
            });
        if !dense {
            self.pv_runs(c0, c1, n, p, v_rows, v_stride, states);
            return;
        }
        self.pv_gemm(c0, c1, (a, b), n, p, v_rows, v_stride, states);
        for mi in c0..c1 {
            let (lo, hi) = row_keys(mi);
            for j in (lo..a).chain(b.max(lo)..hi) {
                self.pv_one(mi, j, n, p, v_rows, v_stride, states);
            }
        }
    }

    /// The general case of [`Plan::pv_chunk`]: runs of keys that every row sees with `p ≠ 0` (gemm), and single
    /// keys for the rows that see them.
    #[allow(clippy::too_many_arguments)]
    fn pv_runs(
        &self,
        c0: usize,
        c1: usize,
        n: usize,
        p: &[f32],
        v_rows: &[f32],
        v_stride: usize,
        states: &mut [f32],
    ) {
        let all_see = |j: usize| (c0..c1).all(|mi| p.get(mi * n + j).is_some_and(|&x| x != 0.0));
        let mut j = 0;
        while j < n {
            if all_see(j) {
                let mut end = j + 1;
                while end < n && all_see(end) {
                    end += 1;
                }
                self.pv_gemm(c0, c1, (j, end), n, p, v_rows, v_stride, states);
                j = end;
            } else {
                for mi in c0..c1 {
                    self.pv_one(mi, j, n, p, v_rows, v_stride, states);
                }
                j += 1;
            }
        }
    }

    /// `O[c0..c1] += P[c0..c1, a..b]·V[a..b]` as one gemm (tile-relative keys).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn pv_gemm(
        &self,
        c0: usize,
        c1: usize,
        (a, b): (usize, usize),
        n: usize,
        p: &[f32],
        v_rows: &[f32],
        v_stride: usize,
        states: &mut [f32],
    ) {
        let w = self.width();
        let shape = GemmShape {
            m: c1 - c0,
            n: self.d_v,
            k: b - a,
            lda: n,
            ldb: v_stride,
            ldc: w,
        };
        let pa = p.get(c0 * n + a..).unwrap_or_default();
        let vb = v_rows.get(a * v_stride..).unwrap_or_default();
        let o = states.get_mut(c0 * w + HEADER..).unwrap_or_default();
        self.simd.gemm(shape, pa, vb, o, true);
    }

    /// `O[mi] += p·V[j]` for one row and one tile-relative key, if `p ≠ 0` (V is not read otherwise).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn pv_one(
        &self,
        mi: usize,
        j: usize,
        n: usize,
        p: &[f32],
        v_rows: &[f32],
        v_stride: usize,
        states: &mut [f32],
    ) {
        let pj = p.get(mi * n + j).copied().unwrap_or(0.0);
        if pj == 0.0 {
            return;
        }
        let w = self.width();
        let v_row = v_rows.get(j * v_stride..j * v_stride + self.d_v);
        let o = states.get_mut(mi * w + HEADER..(mi + 1) * w);
        if let (Some(v_row), Some(o)) = (v_row, o) {
            self.simd.axpy(pj, v_row, o);
        }
    }

    /// Soft-cap, ALiBi and masks for query head `h`, row `r`, over keys `lo .. lo + scores.len()` (the scale is
    /// already in the packed queries).
    #[inline]
    fn transform(&self, h: usize, r: usize, lo: usize, scores: &mut [f32]) {
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

/// Prefetch hint for `len` elements of `data` from `at` (clipped to the data).
#[inline]
fn hint(simd: Simd, data: Data<'_>, at: usize, len: usize) {
    let end = at.saturating_add(len);
    match data {
        Data::F32(x) => simd.prefetch(x.get(at..end.min(x.len())).unwrap_or_default()),
        Data::F16(x) => simd.prefetch(x.get(at..end.min(x.len())).unwrap_or_default()),
        Data::Bf16(x) => simd.prefetch(x.get(at..end.min(x.len())).unwrap_or_default()),
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
