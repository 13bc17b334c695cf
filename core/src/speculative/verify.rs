//! One verification step: the base model runs the `N` tree tokens as a batch after the committed prefix, each
//! token attending to the whole prefix and to its own ancestors in the tree (itself included), at the position
//! `prefix_len + depth`.
//!
//! The attention half is [`attention`](crate::attention::attention) with the tree's ancestor bits as its
//! [`TreeMask`](crate::attention::TreeMask): the `N` tree tokens are the last `N` queries and the last `N` keys
//! (after the prefix's `prefix_len` keys, whatever the cache holds beyond them must not be in the key view).
//! [`params`] sets that up on top of the caller's parameters (scale, soft-cap, sinks, tiles), and [`positions`]
//! gives the RoPE positions for [`rope::apply`](crate::rope::apply::apply) with
//! [`Positions::Listed`](crate::rope::apply::Positions::Listed).

use emkern_simd::Simd;

use crate::attention::{self, Align, AttentionError, Params, Qkv, TensorMut};

use super::tree::Tree;

/// Why a verification helper was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum VerifyError {
    /// The attention call rejected its arguments.
    Attention(AttentionError),
    /// A buffer is shorter than the tree.
    TooShort {
        /// Elements needed.
        needed: usize,
        /// Elements given.
        got: usize,
    },
    /// The views hold fewer queries or keys than the tree has tokens.
    TooFewRows {
        /// `"queries"` or `"keys"`.
        what: &'static str,
        /// The tree's node count.
        needed: usize,
        /// Rows in the view.
        got: usize,
    },
    /// `prefix_len + depth` overflows.
    PositionOverflow,
}

impl From<AttentionError> for VerifyError {
    fn from(e: AttentionError) -> Self {
        VerifyError::Attention(e)
    }
}

impl core::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            VerifyError::Attention(e) => write!(f, "attention: {e}"),
            VerifyError::TooShort { needed, got } => {
                write!(f, "buffer: {got} elements, {needed} needed")
            }
            VerifyError::TooFewRows { what, needed, got } => {
                write!(f, "{got} {what}, the tree has {needed} tokens")
            }
            VerifyError::PositionOverflow => write!(f, "prefix length + depth overflows"),
        }
    }
}

impl core::error::Error for VerifyError {}

/// `base` with the tree's mask: tree query `t` sees the prefix and its ancestors. The causal mask is enabled
/// with bottom-right alignment too, which changes nothing for the tree queries (their ancestors come before
/// them) and keeps any queries before the tree (a chunk of new prompt tokens in the same call) causal.
pub fn params<'a>(base: &Params<'a>, tree: &'a Tree) -> Params<'a> {
    let mut p = *base;
    p.mask.tree = Some(tree.mask());
    p.mask.causal = true;
    p.align = Align::BottomRight;
    p
}

/// Writes the position of every tree token, `prefix_len + depth`, to the start of `out` and returns those `N`
/// entries (for [`Positions::Listed`](crate::rope::apply::Positions::Listed)).
pub fn positions<'o>(
    tree: &Tree,
    prefix_len: usize,
    out: &'o mut [usize],
) -> Result<&'o [usize], VerifyError> {
    let n = tree.len();
    let got = out.len();
    let out = out
        .get_mut(..n)
        .ok_or(VerifyError::TooShort { needed: n, got })?;
    for (slot, &d) in out.iter_mut().zip(tree.depths()) {
        *slot = prefix_len
            .checked_add(d as usize)
            .ok_or(VerifyError::PositionOverflow)?;
    }
    Ok(out)
}

/// The attention of a verification step: `qkv.q` holds the queries (the tree's `N` tokens last), `qkv.k` and
/// `qkv.v` the prefix followed by the tree's `N` tokens; `base` supplies scale, soft-cap, sinks, ALiBi and tiles
/// (its masks are kept, its causal flag and alignment are set as [`params`] says). Output and scratch as
/// [`attention::attention`].
pub fn attend(
    simd: Simd,
    tree: &Tree,
    base: &Params<'_>,
    qkv: &Qkv<'_>,
    out: TensorMut<'_>,
    lse: Option<&mut [f32]>,
    scratch: &mut [f32],
) -> Result<(), VerifyError> {
    let n = tree.len();
    if qkv.q.rows < n {
        return Err(VerifyError::TooFewRows {
            what: "queries",
            needed: n,
            got: qkv.q.rows,
        });
    }
    if qkv.k.rows < n {
        return Err(VerifyError::TooFewRows {
            what: "keys",
            needed: n,
            got: qkv.k.rows,
        });
    }
    let p = params(base, tree);
    attention::attention(simd, qkv, &p, out, lse, scratch)?;
    Ok(())
}
