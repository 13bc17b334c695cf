//! Scratch sizing: how many f32 elements a configuration needs, and how the kernel splits them.

use super::params::Tiles;
use super::shape::{Dims, Dtype, Dtypes};

/// Lengths (in f32 elements) of the scratch regions, in the order they are laid out. `M = group · positions` is
/// the number of query rows in a block (every query head of a group at [`Tiles::positions`] positions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// The block's scaled queries, transposed (`d_k · M`).
    pub qt: usize,
    /// One widened query row (`d_k`; f16/bf16 queries only).
    pub q_row: usize,
    /// One widened K tile (`kv_tile · d_k`; f16/bf16 keys only).
    pub k: usize,
    /// One widened V tile (`kv_tile · d_v`; f16/bf16 values only).
    pub v: usize,
    /// Transposed scores of one tile (`kv_tile · M`).
    pub st: usize,
    /// Scores, then probabilities, of one tile (`M · kv_tile`).
    pub s: usize,
    /// Running states of one block (`M · (d_v + 2)`).
    pub states: usize,
}

const fn min(a: usize, b: usize) -> usize {
    if a < b { a } else { b }
}

const fn at_least_one(a: usize) -> usize {
    if a == 0 { 1 } else { a }
}

const fn widened(dtype: Dtype, n: usize) -> usize {
    match dtype {
        Dtype::F32 => 0,
        Dtype::F16 | Dtype::Bf16 => n,
    }
}

impl Layout {
    /// The layout for a call; every product saturates, so an impossible configuration asks for `usize::MAX`.
    pub const fn new(dims: Dims, dtypes: Dtypes, tiles: Tiles) -> Layout {
        let group = match dims.heads_q.checked_div(dims.heads_kv) {
            Some(g) => g,
            None => 0,
        };
        let q_block = min(tiles.positions(group), dims.len_q);
        let kv_tile = min(at_least_one(tiles.kv), dims.len_kv);
        let rows = group.saturating_mul(q_block);
        let scores = rows.saturating_mul(kv_tile);
        Layout {
            qt: rows.saturating_mul(dims.d_k),
            q_row: widened(dtypes.q, dims.d_k),
            k: widened(dtypes.k, kv_tile.saturating_mul(dims.d_k)),
            v: widened(dtypes.v, kv_tile.saturating_mul(dims.d_v)),
            st: scores,
            s: scores,
            states: rows.saturating_mul(dims.d_v.saturating_add(2)),
        }
    }

    /// Total elements.
    pub const fn total(&self) -> usize {
        self.qt
            .saturating_add(self.q_row)
            .saturating_add(self.k)
            .saturating_add(self.v)
            .saturating_add(self.st)
            .saturating_add(self.s)
            .saturating_add(self.states)
    }
}

/// f32 scratch elements [`attention`](super::attention) needs for these dimensions, storage types and tiles:
///
/// `M·(d_k + 2·kv + d_v + 2)` always, plus `d_k` for f16/bf16 queries, `kv·d_k` for f16/bf16 keys and
/// `kv·d_v` for f16/bf16 values, where `M = group·q`, `group = heads_q / heads_kv`,
/// `q = min(tiles.positions(group), len_q)` and `kv = min(tiles.kv, len_kv)`. Saturates at `usize::MAX` (which
/// no slice satisfies) instead of overflowing.
///
/// Besides scratch, the kernel's only stack buffer is a fixed 64-element f32 array used to narrow f16/bf16
/// output rows.
pub const fn scratch_len(dims: Dims, dtypes: Dtypes, tiles: Tiles) -> usize {
    Layout::new(dims, dtypes, tiles).total()
}

/// f32 scratch elements [`attention_partial`](super::attention_partial) needs: the same as [`scratch_len`] (a
/// block's rows of the caller's [`States`](super::States) are copied into scratch, updated and copied back). `dims.len_kv`
/// is the number of key rows in the views passed to the call.
pub const fn partial_scratch_len(dims: Dims, dtypes: Dtypes, tiles: Tiles) -> usize {
    Layout::new(dims, dtypes, tiles).total()
}
