//! Scratch sizing: how many f32 elements a configuration needs, and how the kernel splits them.

use super::params::Tiles;
use super::shape::{Dims, Dtype, Dtypes};

/// Lengths (in f32 elements) of the scratch regions, in the order they are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Widened query rows of one block for every head of a group (`group · q_block · d_k`; f16/bf16 queries only).
    pub q: usize,
    /// One widened K tile (`kv_tile · d_k`; f16/bf16 keys only).
    pub k: usize,
    /// One widened V tile (`kv_tile · d_v`; f16/bf16 values only).
    pub v: usize,
    /// Scores (then probabilities) of one query row against one tile (`kv_tile`).
    pub scores: usize,
    /// Running states of one block (`group · q_block · (d_v + 2)`; [`attention`](super::attention) only).
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
    pub const fn new(dims: Dims, dtypes: Dtypes, tiles: Tiles, with_states: bool) -> Layout {
        let group = match dims.heads_q.checked_div(dims.heads_kv) {
            Some(g) => g,
            None => 0,
        };
        let q_block = min(at_least_one(tiles.q), dims.len_q);
        let kv_tile = min(at_least_one(tiles.kv), dims.len_kv);
        let rows = group.saturating_mul(q_block);
        Layout {
            q: widened(dtypes.q, rows.saturating_mul(dims.d_k)),
            k: widened(dtypes.k, kv_tile.saturating_mul(dims.d_k)),
            v: widened(dtypes.v, kv_tile.saturating_mul(dims.d_v)),
            scores: kv_tile,
            states: if with_states {
                rows.saturating_mul(dims.d_v.saturating_add(2))
            } else {
                0
            },
        }
    }

    /// Total elements.
    pub const fn total(&self) -> usize {
        self.q
            .saturating_add(self.k)
            .saturating_add(self.v)
            .saturating_add(self.scores)
            .saturating_add(self.states)
    }
}

/// f32 scratch elements [`attention`](super::attention) needs for these dimensions, storage types and tiles:
///
/// `kv + group·q·(d_v + 2)` always, plus `group·q·d_k` for f16/bf16 queries, `kv·d_k` for f16/bf16 keys and
/// `kv·d_v` for f16/bf16 values, where `group = heads_q / heads_kv`, `q = min(tiles.q, len_q)` and
/// `kv = min(tiles.kv, len_kv)`. Saturates at `usize::MAX` (which no slice satisfies) instead of overflowing.
///
/// Besides scratch, the kernel's only stack buffer is a fixed 64-element f32 array used to narrow f16/bf16
/// output rows.
pub const fn scratch_len(dims: Dims, dtypes: Dtypes, tiles: Tiles) -> usize {
    Layout::new(dims, dtypes, tiles, true).total()
}

/// f32 scratch elements [`attention_partial`](super::attention_partial) needs: as [`scratch_len`] without the
/// running states (they live in the caller's [`States`](super::States)). `dims.len_kv` is the number of key
/// rows in the views passed to the call.
pub const fn partial_scratch_len(dims: Dims, dtypes: Dtypes, tiles: Tiles) -> usize {
    Layout::new(dims, dtypes, tiles, false).total()
}
