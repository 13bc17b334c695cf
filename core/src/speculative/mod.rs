//! Medusa-style speculative decoding: draft trees, tree-masked verification, acceptance and KV-cache
//! compaction, in the conventions of the Medusa reference (FasterDecoding/Medusa, `medusa/model/utils.py`).
//!
//! One decoding step reads as a straight line:
//!
//! 1. [`tree`]: the candidate paths ("choices") → a [`Tree`] (once per model): per-node ancestor bits, depths,
//!    gather indices and the leaves in retrieve order. [`Tree::gather`] picks the tree's tokens from the base
//!    model's top-1 and each Medusa head's top-k.
//! 2. [`verify`]: the base model runs the tree's `N` tokens after the committed prefix, at positions
//!    `prefix_len + depth` ([`verify::positions`]), with attention masked by the tree ([`verify::params`],
//!    [`verify::attend`]).
//! 3. [`accept`]: the base model's logits judge each drafted token (greedy or typical acceptance) and pick the
//!    best candidate and its accept length ([`accept::evaluate_tree`], or [`accept::evaluate`] on the
//!    reference's `[candidates, length]` layout).
//! 4. [`compact`]: the accepted path's K/V rows move next to the prefix, in place ([`compact::compact`]).
//!
//! Everything is `no_std`, allocation-free and panic-free: trees live in a fixed-size value (at most
//! [`MAX_NODES`] = 64 nodes), other buffers come from the caller, and invalid arguments give typed errors.
//!
//! ```
//! use emkern::attention::{self, Params, Qkv, Tensor, TensorMut};
//! use emkern::rope::apply::Rows;
//! use emkern::simd::Simd;
//! use emkern::speculative::accept::{self, Logits, Rule};
//! use emkern::speculative::{compact, verify, Choices, Tree, TreeConfig};
//!
//! // Two heads, top-2 each: paths [0], [1], [0, 0], [0, 1] -> 5 nodes.
//! let choices: [&[u16]; 4] = [&[0], &[1], &[0, 0], &[0, 1]];
//! let tree = Tree::new(Choices::Paths(&choices), TreeConfig::new(2, 2))?;
//! assert_eq!(tree.ancestors(), &[0b1, 0b11, 0b101, 0b1011, 0b10011]);
//! assert_eq!(tree.depths(), &[0, 1, 1, 2, 2]);
//! assert_eq!(tree.leaves(), &[4, 3, 2]); // retrieve order
//!
//! // Tokens: base top-1, then head 0's top-2, then head 1's top-2.
//! let mut tokens = [0u32; 5];
//! tree.gather(&[7, 11, 12, 21, 22], &mut tokens)?;
//! assert_eq!(tokens, [7, 11, 12, 21, 22]);
//! let mut pos = [0usize; 5];
//! assert_eq!(verify::positions(&tree, 3, &mut pos)?, &[3, 4, 4, 5, 5]);
//!
//! // Attention of the 5 tree queries over a 3-token prefix + the 5 tree keys (1 head, d = 2).
//! let (prefix, n, d) = (3, tree.len(), 2);
//! let q = [0.5f32; 5 * 2];
//! let mut k = [0.25f32; 8 * 2];
//! let v: [f32; 8 * 2] = core::array::from_fn(|i| (i / 2) as f32);
//! let mut out = [0.0f32; 5 * 2];
//! let mut scratch = [0.0f32; 256];
//! let qkv = Qkv {
//!     q: Tensor::new(&q[..], 1, n, d),
//!     k: Tensor::new(&k[..], 1, prefix + n, d),
//!     v: Tensor::new(&v[..], 1, prefix + n, d),
//! };
//! verify::attend(Simd::best(), &tree, &Params::new(), &qkv, TensorMut::new(&mut out[..], 1, n, d), None, &mut scratch)?;
//! // Equal scores: node 3 (path 0 -> 1 -> 3) averages keys 0, 1, 2 (prefix) and 3, 4, 6 (its path).
//! assert!((out[3 * 2] - (0.0 + 1.0 + 2.0 + 3.0 + 4.0 + 6.0) / 6.0).abs() < 1e-5);
//!
//! // Greedy acceptance: the root's logits favour token 11 (node 1), node 1's favour 22 (node 4).
//! let vocab = 32;
//! let mut logits = [0.0f32; 5 * 32];
//! logits[11] = 5.0;
//! logits[vocab + 22] = 5.0;
//! let decision = accept::evaluate_tree(Simd::best(), &Rule::Greedy, &tree, &tokens, Logits::new(&logits, vocab))?;
//! assert_eq!((decision.best, decision.accept_length), (0, 2)); // leaf row 0 is node 4
//!
//! // Keep root, node 1 and node 4: cache rows 3, 4, 7 move to 3, 4, 5.
//! let path = tree.path(decision.best).unwrap().truncate(decision.accept_length + 1);
//! assert_eq!(path.as_slice(), &[0, 1, 4]);
//! k[7 * 2] = 9.0;
//! let len = compact::compact(Rows::new(&mut k[..], 1, prefix + n, d), prefix, path.as_slice())?;
//! assert_eq!((len, k[5 * 2]), (6, 9.0));
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```

pub mod accept;
pub mod compact;
pub mod tree;
pub mod verify;

pub use tree::{Choices, DEFAULT_TOPK, MAX_NODES, Path, Tree, TreeConfig, TreeError};
