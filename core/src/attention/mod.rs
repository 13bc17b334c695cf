//! Streaming softmax attention over fixed key/value tiles (the FlashAttention-2 online softmax), for any mix of
//! f32, f16 and bf16 storage, without allocating.
//!
//! For every query head `h` and query row `i`:
//!
//! `out[h, i] = Σ_j e^(s_j) v[g, j] / (Σ_j e^(s_j) + e^(sink_h))`,
//! `s_j = softcap(scale · q[h, i]·k[g, j]) + alibi_h(i, j) + additive[h, i, j]`
//!
//! over the keys `j` the masks leave visible, where `g = h / (heads_q / heads_kv)` is the key/value head of `h`'s
//! group (grouped-query and multi-query attention); each term is optional ([`Params`]). The log-sum-exp
//! `ln(Σ_j e^(s_j) + e^(sink_h))` can be returned too.
//!
//! # Shapes and storage
//! `q` is `[heads_q, len_q, d_k]`, `k` is `[heads_kv, len_kv, d_k]`, `v` is `[heads_kv, len_kv, d_v]` and the
//! output is `[heads_q, len_q, d_v]` ([`Tensor`], [`TensorMut`]), each with its own head and row strides (a KV
//! cache with capacity > length, token-major or packed layouts need no copy) and its own storage type
//! ([`Data`]: f32, f16 or bf16; the output too). `d_k ≠ d_v` is allowed.
//!
//! # Numerics
//! Scores, running maxima, sums and outputs are always f32, also when decoding one token. f16/bf16 inputs are
//! widened exactly (the SIMD conversions), once per K/V tile and once per block of queries; f16/bf16 outputs are
//! rounded once at the end. Per row the kernel keeps the state `(m, ℓ, O)` of [`state`]: each tile raises the
//! running maximum `m` and rescales `ℓ` and `O` by `e^(m_old − m_new)`. The scale is applied to the queries once
//! per block (`(scale·q)·k`, which differs from `scale·(q·k)` by f32 rounding only). All arithmetic goes through
//! the [`Simd`] primitives — the register-tiled `gemm` for `Q·Kᵀ` and `P·V`, `max`, `exp_in_place`, `sum`,
//! `scale`, `axpy`, the conversions — so every SIMD level runs the same algorithm.
//!
//! # Contract
//! - A row that sees no key (fully masked, or `len_kv = 0`) outputs exact zeros and a log-sum-exp of `−inf`
//!   (or its sink logit, with sinks), never NaN.
//! - Hidden keys cannot reach the output: tiles no row of a block sees are skipped (their K and V rows are never
//!   read); a key hidden from one row but not from another row of the block is scored for both (one K tile
//!   serves the whole block), and the hidden row's score is then replaced: by `−inf` after every other
//!   transform, or outright for keys outside the position masks, whatever NaN or infinity the K row held. A V
//!   row is only read and multiplied for the rows that see its key with a non-zero probability (never
//!   multiplied by 0). `(−inf) − (−inf)` is never evaluated.
//! - Arguments are checked once per call with checked arithmetic against the slice lengths; a bad shape,
//!   stride, parameter or a short buffer gives an [`AttentionError`] and writes nothing. No call panics,
//!   allocates or reads out of bounds, and there is no `unsafe` code in this module.
//! - NaN or infinite inputs in *visible* positions (or scores that overflow f32) give unspecified values in the
//!   affected rows, without any other effect.
//!
//! # Memory
//! All working memory is the caller's `scratch` slice, sized by [`scratch_len`] (or [`partial_scratch_len`]) from
//! the dimensions, storage types and [`Tiles`]; its size does not depend on `len_kv`. The only stack array is a
//! fixed 64-element f32 staging buffer for narrowing f16/bf16 output rows.
//!
//! # Loop order
//! For each key/value head, for each block of [`Tiles::q`] query positions (times every query head of the group:
//! `M` rows): pack the block's scaled queries transposed; then for each K/V tile of [`Tiles::kv`] keys, widen
//! the tile (f16/bf16), compute the `kv × M` scores with one `gemm` (each K element is broadcast against all `M`
//! rows, so a K tile is read once per block, GQA groups included), transform and mask them row by row and fold
//! them into the rows' states, and add `P·V` with `gemm` over the keys every row of a chunk sees and `axpy` for
//! the others; V is widened only when some row actually sees a key of the tile. While a tile computes, the next
//! tile's K and V rows are prefetched. A block's states are then finalized into the output.
//!
//! # Splitting the keys
//! [`attention_partial`] runs the same loop over the keys of a [`KvSpan`] (a page of a paged cache, one part of
//! a ring buffer, a chunk for another core) into caller-owned [`States`]; spans processed into the same
//! `States` accumulate (resumable), separate `States` combine with [`States::merge`], and
//! [`States::finalize`] writes the output and log-sum-exp. Positions and masks always use global key indices.
//!
//! ```
//! use emkern::attention::{self, Params, Qkv, Tensor, TensorMut};
//! use emkern::simd::{Simd, f16};
//!
//! // Two query heads sharing one key/value head; 3 queries decoding against 5 cached keys.
//! let (heads_q, heads_kv, len_q, len_kv, d_k, d_v) = (2, 1, 3, 5, 4, 2);
//! let q = [0.1f32; 2 * 3 * 4];
//! let k: [f16; 5 * 4] = core::array::from_fn(|i| f16::from_f32(i as f32 * 0.01));
//! let v = [1.0f32; 5 * 2];
//! let qkv = Qkv {
//!     q: Tensor::new(&q[..], heads_q, len_q, d_k),
//!     k: Tensor::new(&k[..], heads_kv, len_kv, d_k),
//!     v: Tensor::new(&v[..], heads_kv, len_kv, d_v),
//! };
//! let mut params = Params::new();
//! params.mask.causal = true; // bottom-right: query i sees keys <= i + 2
//!
//! let mut scratch = [0.0f32; 128];
//! assert!(attention::scratch_len(qkv.dims(), qkv.dtypes(), params.tiles) <= scratch.len());
//! let mut out = [0.0f32; 2 * 3 * 2];
//! let mut lse = [0.0f32; 2 * 3];
//! attention::attention(
//!     Simd::best(),
//!     &qkv,
//!     &params,
//!     TensorMut::new(&mut out[..], heads_q, len_q, d_v),
//!     Some(&mut lse),
//!     &mut scratch,
//! )?;
//! assert!(out.iter().all(|&o| (o - 1.0).abs() < 1e-6)); // a convex combination of all-ones rows
//! # Ok::<(), attention::AttentionError>(())
//! ```

pub mod alibi;
mod error;
mod kernel;
pub mod mask;
mod params;
mod scratch;
mod shape;
pub mod state;

pub use error::{AttentionError, Operand};
pub use mask::{AdditiveMask, Align, BitMask, Mask, TreeMask};
pub use params::{Alibi, Params, Tiles};
pub use scratch::{partial_scratch_len, scratch_len};
pub use shape::{Data, DataMut, Dims, Dtype, Dtypes, KvSpan, Qkv, Tensor, TensorMut};
pub use state::{RowState, States, state_len};

use emkern_simd::Simd;

use kernel::{Bufs, Plan};
use shape::{check_len, check_output};
use state::{finish, reset_row, write_row};

/// Attention of every query row over all keys of the views, written to `out` (`[heads_q, len_q, d_v]`, any
/// storage type) and, if given, the log-sum-exp to `lse` (`[heads_q, len_q]` contiguous, natural log).
///
/// `scratch` must hold at least [`scratch_len`]`(qkv.dims(), qkv.dtypes(), params.tiles)` elements; its
/// contents on entry do not matter. Sinks, masks, ALiBi and soft-capping are as in [`Params`]. Errors are
/// reported before anything is written.
pub fn attention(
    simd: Simd,
    qkv: &Qkv<'_>,
    params: &Params<'_>,
    mut out: TensorMut<'_>,
    mut lse: Option<&mut [f32]>,
    scratch: &mut [f32],
) -> Result<(), AttentionError> {
    let plan = Plan::new(simd, qkv, params, KvSpan::whole(qkv.k.rows))?;
    let heads_q = qkv.q.heads;
    check_output(&out, heads_q, plan.len_q, plan.d_v)?;
    if let Some(l) = lse.as_deref() {
        check_len(Operand::Lse, heads_q.checked_mul(plan.len_q), l.len())?;
    }
    let needed = plan.layout.total();
    let got = scratch.len();
    let Some(mut bufs) = Bufs::split(scratch, &plan.layout) else {
        return Err(AttentionError::TooShort {
            operand: Operand::Scratch,
            needed,
            got,
        });
    };
    let (group, w, q_block) = (plan.group, plan.width(), plan.q_block());
    if group == 0 {
        // No query heads: nothing to compute (and no loop over key/value heads).
        return Ok(());
    }
    for g in 0..plan.heads_kv {
        let mut r0 = 0;
        while r0 < plan.len_q {
            let r1 = r0 + q_block.min(plan.len_q - r0);
            let used = group * (r1 - r0) * w;
            for row in bufs.states.chunks_exact_mut(w).take(group * (r1 - r0)) {
                reset_row(row);
            }
            plan.run_block(g, r0, r1, &mut bufs);
            for (mi, row) in bufs
                .states
                .get(..used)
                .unwrap_or_default()
                .chunks_exact(w)
                .enumerate()
            {
                let (h, r) = plan.row_of(g, r0, mi);
                if let [m, l, o @ ..] = row {
                    let sink = params.sinks.and_then(|s| s.get(h).copied());
                    let (factor, row_lse) = finish(*m, *l, sink);
                    let off = out.offset(h, r);
                    write_row(simd, &mut out.data, off, o, factor);
                    if let Some(slot) = lse
                        .as_deref_mut()
                        .and_then(|l| l.get_mut(h * plan.len_q + r))
                    {
                        *slot = row_lse;
                    }
                }
            }
            r0 = r1;
        }
    }
    Ok(())
}

/// Folds the keys of the views — global keys `span.start .. span.start + qkv.k.rows` of a sequence of
/// `span.total` keys — into `states` (`heads_q × len_q` rows of `d_v`), continuing whatever the states already
/// hold. Nothing is normalized; call [`States::finalize`] after the last span (merging [`States`] of other spans
/// first, if any).
///
/// Masks, positions and ALiBi use global key indices: the bit and additive masks are `[.., len_q, span.total]`
/// and the tree mask covers the last keys of the whole sequence. `params.sinks` is not used here (a sink must
/// join each row once: pass it to [`States::finalize`]). `scratch` must hold at least
/// [`partial_scratch_len`]`(qkv.dims(), qkv.dtypes(), params.tiles)` elements.
///
/// Splitting keys into spans changes results only by f32 rounding.
pub fn attention_partial(
    simd: Simd,
    qkv: &Qkv<'_>,
    params: &Params<'_>,
    span: KvSpan,
    states: &mut States<'_>,
    scratch: &mut [f32],
) -> Result<(), AttentionError> {
    let plan = Plan::new(simd, qkv, params, span)?;
    shape::expect(Operand::States, "heads", qkv.q.heads, states.heads())?;
    shape::expect(Operand::States, "len_q", plan.len_q, states.len_q())?;
    shape::expect(Operand::States, "d_v", plan.d_v, states.d_v())?;
    let needed = plan.layout.total();
    let got = scratch.len();
    let Some(mut bufs) = Bufs::split(scratch, &plan.layout) else {
        return Err(AttentionError::TooShort {
            operand: Operand::Scratch,
            needed,
            got,
        });
    };
    let (group, w, q_block, len_q) = (plan.group, plan.width(), plan.q_block(), plan.len_q);
    if group == 0 {
        return Ok(());
    }
    let raw = states.raw_mut();
    for g in 0..plan.heads_kv {
        let mut r0 = 0;
        while r0 < len_q {
            let r1 = r0 + q_block.min(len_q - r0);
            let rows = group * (r1 - r0);
            // The caller's rows (h, r) are at (h·len_q + r)·w.
            let at = |mi: usize| {
                let (h, r) = plan.row_of(g, r0, mi);
                (h * len_q + r) * w
            };
            for (mi, row) in bufs.states.chunks_exact_mut(w).take(rows).enumerate() {
                if let Some(src) = raw.get(at(mi)..at(mi) + w) {
                    row.copy_from_slice(src);
                }
            }
            plan.run_block(g, r0, r1, &mut bufs);
            for (mi, row) in bufs.states.chunks_exact(w).take(rows).enumerate() {
                if let Some(dst) = raw.get_mut(at(mi)..at(mi) + w) {
                    dst.copy_from_slice(row);
                }
            }
            r0 = r1;
        }
    }
    Ok(())
}
