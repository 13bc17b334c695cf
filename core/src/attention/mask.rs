//! Masks: which keys a query row may attend to. None is ever materialized; position masks become loop bounds,
//! the others are tested per key.
//!
//! # Positions
//! Key `j` (global index in the sequence of `len_kv` keys) is at position `j`. Query `i` is at position
//! `i + len_kv − len_q` under [`Align::BottomRight`] (the last query lines up with the last key: decoding and
//! chunked prefill against a cache) and at position `i` under [`Align::TopLeft`]. Positions drive the causal
//! mask, the sliding window and ALiBi. Under bottom-right alignment with `len_q > len_kv`, the first
//! `len_q − len_kv` queries sit at negative positions and, with a causal mask, see no key at all.
//!
//! # Kinds (all optional; a key is visible only if every enabled kind allows it)
//! - causal: the query at position `p` sees keys at positions `≤ p`;
//! - sliding window `W ≥ 1`: the query at position `p` sees keys at positions `≥ p − W + 1`. Together with
//!   causal this is exactly `[p − W + 1, p]`: `W` keys including the query's own position (the Mistral /
//!   Hugging Face `sliding_window` and llama.cpp `n_swa` convention). Without causal the window only bounds the
//!   past;
//! - [`BitMask`]: bit-packed boolean rows, bit `j` of row `i` set = query `i` may attend to key `j`;
//! - [`AdditiveMask`]: f32 values added to the scores; `−inf` masks the key (like a cleared bit);
//! - [`TreeMask`]: ancestor bits for the last `T ≤ 64` queries over the last `T` keys (speculative decoding);
//!   earlier keys stay visible to them and earlier queries are not affected.

use super::error::{AttentionError, Operand};
use super::shape::check_extent;

/// How query rows line up with key rows (see the [module documentation](self) for positions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Align {
    /// Query `i` is at position `i + len_kv − len_q` and, under a causal mask, sees keys `≤ i + len_kv − len_q`
    /// (FlashAttention ≥ 2.1, llama.cpp, decoding against a KV cache).
    #[default]
    BottomRight,
    /// Query `i` is at position `i` and, under a causal mask, sees keys `≤ i` (PyTorch `is_causal` on CPU,
    /// `torch.tril` of a rectangular matrix).
    TopLeft,
}

/// Bit-packed boolean mask: for query head `h`, query row `i` and key `j` (global index), the key is visible iff
/// bit `j % 64` of `words[h·head_stride + i·row_stride + j / 64]` is set. `head_stride = 0` shares one mask
/// across heads. Each row needs `⌈len_kv / 64⌉` words; strides are in words.
#[derive(Clone, Copy, Debug)]
pub struct BitMask<'a> {
    /// The words.
    pub words: &'a [u64],
    /// Words from one query row to the next (at least `⌈len_kv / 64⌉` for disjoint rows).
    pub row_stride: usize,
    /// Words from one query head to the next; 0 to share the mask across heads.
    pub head_stride: usize,
}

/// Additive f32 mask `[heads, len_q, len_kv]`: `values[h·head_stride + i·row_stride + j]` is added to the scaled
/// (and soft-capped) score of query head `h`, row `i`, key `j`. `−inf` masks the key exactly like a cleared bit:
/// the key's K and V values never reach the output. `head_stride = 0` shares one mask across heads. Other
/// values, including large negative ones, are ordinary biases.
#[derive(Clone, Copy, Debug)]
pub struct AdditiveMask<'a> {
    /// The values.
    pub values: &'a [f32],
    /// Elements from one query row to the next (at least `len_kv` for disjoint rows).
    pub row_stride: usize,
    /// Elements from one query head to the next; 0 to share the mask across heads.
    pub head_stride: usize,
}

/// Tree-attention mask for speculative decoding. With `T = ancestors.len()` (`T ≤ 64`, `T ≤ len_q`,
/// `T ≤ len_kv`): the last `T` queries are the tree tokens `t = 0..T` and the last `T` keys are the same tokens.
/// Tree query `t` sees tree key `u` iff bit `u` of `ancestors[t]` is set (its ancestors and, normally, itself);
/// every key before the last `T` (the committed prefix) stays visible to it. Queries before the last `T` are not
/// affected. The tree is shared by all heads.
#[derive(Clone, Copy, Debug)]
pub struct TreeMask<'a> {
    /// One word of ancestor bits per tree query.
    pub ancestors: &'a [u64],
}

/// The masks of a call. The default masks nothing. Every enabled kind must allow a key for it to be visible.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mask<'a> {
    /// Causal: the query at position `p` sees keys at positions `≤ p` (positions per [`Align`]).
    pub causal: bool,
    /// Sliding window `W ≥ 1`: the query at position `p` sees keys at positions `≥ p − W + 1`.
    pub window: Option<usize>,
    /// Bit-packed boolean mask.
    pub bits: Option<BitMask<'a>>,
    /// Additive f32 mask.
    pub additive: Option<AdditiveMask<'a>>,
    /// Tree mask for speculative decoding.
    pub tree: Option<TreeMask<'a>>,
}

/// Per-call mask geometry derived once: positions as `i64`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    /// Position of query row 0.
    pub q_pos0: i64,
    /// Keys in the whole sequence.
    pub total: usize,
    /// Query rows.
    pub len_q: usize,
    /// Window length, saturated to `i64::MAX`.
    pub window: Option<i64>,
    /// Causal mask enabled.
    pub causal: bool,
}

impl Geometry {
    /// Position of query row `r`.
    #[inline]
    pub fn q_pos(&self, r: usize) -> i64 {
        self.q_pos0.saturating_add(r as i64)
    }

    /// The global key range `[lo, hi)` that the position masks leave visible to query row `r`, intersected with
    /// `[from, to)`. Empty ranges come back with `lo >= hi`.
    #[inline]
    pub fn row_range(&self, r: usize, from: usize, to: usize) -> (usize, usize) {
        let p = self.q_pos(r);
        let mut lo = from as i64;
        let mut hi = to as i64;
        if self.causal {
            hi = hi.min(p.saturating_add(1));
        }
        if let Some(w) = self.window {
            lo = lo.max(p.saturating_sub(w).saturating_add(1));
        }
        if lo >= hi {
            return (from, from);
        }
        // Both lie in [from, to] here, so the casts are exact.
        (lo as usize, hi as usize)
    }
}

/// Validates the masks against the call's shape (`heads_q` heads, `len_q` queries, `total` keys).
pub(crate) fn check(
    mask: &Mask<'_>,
    heads_q: usize,
    len_q: usize,
    total: usize,
) -> Result<(), AttentionError> {
    if mask.window == Some(0) {
        return Err(AttentionError::BadParam(
            "sliding window must be at least 1",
        ));
    }
    if let Some(b) = mask.bits {
        check_extent(
            Operand::BitMask,
            b.words.len(),
            heads_q,
            len_q,
            total.div_ceil(64),
            b.head_stride,
            b.row_stride,
        )?;
    }
    if let Some(a) = mask.additive {
        check_extent(
            Operand::AdditiveMask,
            a.values.len(),
            heads_q,
            len_q,
            total,
            a.head_stride,
            a.row_stride,
        )?;
    }
    if let Some(t) = mask.tree {
        let n = t.ancestors.len();
        if n > 64 {
            return Err(AttentionError::BadParam(
                "tree mask has more than 64 tokens",
            ));
        }
        if n > len_q || n > total {
            return Err(AttentionError::BadParam(
                "tree mask has more tokens than queries or keys",
            ));
        }
    }
    Ok(())
}

/// Sets to `−inf` the scores of keys `lo .. lo + scores.len()` that a bit, additive or tree mask hides from query
/// head `h`, row `r`, and adds the additive mask to the others. Runs after every other score transform, so a
/// hidden key's score is `−inf` whatever its K row held (NaN included).
#[inline]
pub(crate) fn apply(
    mask: &Mask<'_>,
    geo: &Geometry,
    h: usize,
    r: usize,
    lo: usize,
    scores: &mut [f32],
) {
    if let Some(a) = mask.additive {
        // In range for every row and key of a validated call; wrapping keeps anything else a failed `get`.
        let base = h
            .wrapping_mul(a.head_stride)
            .wrapping_add(r.wrapping_mul(a.row_stride))
            .wrapping_add(lo);
        if let Some(row) = base
            .checked_add(scores.len())
            .and_then(|end| a.values.get(base..end))
        {
            for (s, &m) in scores.iter_mut().zip(row) {
                *s = if m == f32::NEG_INFINITY {
                    f32::NEG_INFINITY
                } else {
                    *s + m
                };
            }
        }
    }
    if let Some(b) = mask.bits {
        let base = h
            .wrapping_mul(b.head_stride)
            .wrapping_add(r.wrapping_mul(b.row_stride));
        for (j, s) in (lo..).zip(scores.iter_mut()) {
            let word = b.words.get(base.wrapping_add(j / 64)).copied().unwrap_or(0);
            if (word >> (j % 64)) & 1 == 0 {
                *s = f32::NEG_INFINITY;
            }
        }
    }
    if let Some(t) = mask.tree {
        let n = t.ancestors.len();
        // Tree query index of row r, if r is among the last n queries.
        if let Some(tq) = r.checked_sub(geo.len_q - n) {
            let bits = t.ancestors.get(tq).copied().unwrap_or(0);
            let first_tree_key = geo.total - n;
            for (j, s) in (lo..).zip(scores.iter_mut()) {
                if let Some(u) = j.checked_sub(first_tree_key)
                    && (bits >> u) & 1 == 0
                {
                    *s = f32::NEG_INFINITY;
                }
            }
        }
    }
}
