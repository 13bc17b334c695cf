//! The draft tree of Medusa-style speculative decoding, built from its candidate paths ("choices"), with the
//! buffers verification needs in the conventions of the Medusa reference (`generate_medusa_buffers` in
//! FasterDecoding/Medusa, `medusa/model/utils.py`).
//!
//! # Choices
//! A choice is a path of top-k indices, one per Medusa head: `[0]` is head 0's most likely token after the base
//! model's token, `[0, 1]` is head 1's second most likely token after that, and so on. Every proper prefix of a
//! choice must itself be a choice (its parent), and no choice may appear twice.
//!
//! # Nodes
//! The choices are sorted by `(length, values)` (lexicographic values); node 0 is the root (the base model's
//! token) and node `i ≥ 1` is the `i`-th sorted choice, so `N = choices + 1 ≤ 64` and every node's parent has a
//! smaller index than the node. For every node the tree records:
//!
//! - its ancestor bits ([`Tree::ancestors`]): bit `u` set iff node `u` is the node itself or one of its
//!   ancestors (the root included). Row `t` of the reference's attention mask is these bits (identity, column 0,
//!   every ancestor), and the slice is exactly what
//!   [`TreeMask`] takes;
//! - its depth ([`Tree::depths`]): the root is 0, a choice of length `d` is at depth `d`. The reference's
//!   `medusa_position_ids`; the token's position in the sequence is `prefix_len + depth`;
//! - its gather index ([`Tree::tree_indices`]): `topk·(d − 1) + last + 1` for a choice of length `d` ending in
//!   `last`, 0 for the root: the index of the node's token in `[base_top1, head0_top0 .. head0_top(k−1),
//!   head1_top0, ..]`;
//! - the leaves, in the reference's retrieve order ([`Tree::leaves`]): the reference walks the sorted choices
//!   from the last one and keeps the paths that are not a prefix of a path already kept, which are the leaves in
//!   decreasing node order. Row `r` of `retrieve_indices` is the root-to-leaf node path of leaf `r`, padded
//!   with −1 to `depth + 1` entries ([`Tree::retrieve_row`], [`Tree::retrieve_indices`]).
//!
//! Everything lives in the fixed-size [`Tree`] value (about 1.2 KiB); building it allocates nothing and sorts
//! the choices with an insertion sort of at most 63 indices.

use core::cmp::Ordering;

use crate::attention::TreeMask;

/// The largest number of nodes a tree can have, root included: one `u64` of ancestor bits per node.
pub const MAX_NODES: usize = 64;

/// The number of top-k entries per Medusa head that the gather indices assume (the reference's `TOPK`).
pub const DEFAULT_TOPK: u16 = 10;

/// The candidate paths of a tree, in one of two layouts.
#[derive(Clone, Copy, Debug)]
pub enum Choices<'a> {
    /// One slice per path.
    Paths(&'a [&'a [u16]]),
    /// All paths back to back in `values`; path `i` has `lengths[i]` entries.
    Flat {
        /// The concatenated paths.
        values: &'a [u16],
        /// The length of each path; they must add up to `values.len()`.
        lengths: &'a [u8],
    },
}

impl Choices<'_> {
    /// Number of paths.
    pub const fn len(&self) -> usize {
        match self {
            Choices::Paths(p) => p.len(),
            Choices::Flat { lengths, .. } => lengths.len(),
        }
    }

    /// Whether there are no paths.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How a tree is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TreeConfig {
    /// Top-k entries per head: every path value must be below it, and it is the stride of the gather indices.
    pub topk: u16,
    /// The longest path allowed (normally the number of Medusa heads).
    pub max_depth: usize,
}

impl TreeConfig {
    /// The reference's settings: `topk = 10`, any depth that fits in [`MAX_NODES`].
    pub const DEFAULT: TreeConfig = TreeConfig {
        topk: DEFAULT_TOPK,
        max_depth: MAX_NODES - 1,
    };

    /// `topk` entries per head and paths of at most `max_depth` entries.
    pub const fn new(topk: u16, max_depth: usize) -> TreeConfig {
        TreeConfig { topk, max_depth }
    }
}

impl Default for TreeConfig {
    fn default() -> Self {
        TreeConfig::DEFAULT
    }
}

/// Why a tree could not be built or a buffer could not be filled. `choice` is the index of the offending path in
/// the caller's [`Choices`] (not in sorted order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TreeError {
    /// There are no choices.
    NoChoices,
    /// More than [`MAX_NODES`] nodes (root included).
    TooManyNodes {
        /// Nodes the choices would make.
        nodes: usize,
    },
    /// A path with no entries.
    EmptyPath {
        /// The path.
        choice: usize,
    },
    /// A path longer than [`TreeConfig::max_depth`].
    TooDeep {
        /// The path.
        choice: usize,
        /// Its length.
        depth: usize,
        /// The limit.
        limit: usize,
    },
    /// A path entry is not below [`TreeConfig::topk`].
    TopkIndex {
        /// The path.
        choice: usize,
        /// The entry.
        value: u16,
        /// The limit.
        topk: u16,
    },
    /// A path appears twice.
    Duplicate {
        /// The later occurrence.
        choice: usize,
        /// The first occurrence.
        first: usize,
    },
    /// A path whose parent (the path without its last entry) is not among the choices.
    MissingParent {
        /// The path.
        choice: usize,
    },
    /// [`Choices::Flat`] lengths do not add up to the number of values.
    FlatLengths {
        /// The sum of the lengths (saturating).
        total: usize,
        /// The number of values.
        values: usize,
    },
    /// An output or input buffer is too short.
    TooShort {
        /// Which buffer.
        buffer: &'static str,
        /// Elements needed.
        needed: usize,
        /// Elements given.
        got: usize,
    },
    /// A leaf row beyond [`Tree::num_leaves`].
    NoSuchLeaf {
        /// The row asked for.
        row: usize,
        /// The number of leaves.
        leaves: usize,
    },
}

impl core::fmt::Display for TreeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            TreeError::NoChoices => write!(f, "no choices"),
            TreeError::TooManyNodes { nodes } => write!(
                f,
                "{nodes} nodes (root included); at most {MAX_NODES} are supported"
            ),
            TreeError::EmptyPath { choice } => write!(f, "choice {choice} is an empty path"),
            TreeError::TooDeep {
                choice,
                depth,
                limit,
            } => write!(
                f,
                "choice {choice} has {depth} entries, more than the {limit} allowed"
            ),
            TreeError::TopkIndex {
                choice,
                value,
                topk,
            } => write!(
                f,
                "choice {choice} holds top-k index {value} >= topk {topk}"
            ),
            TreeError::Duplicate { choice, first } => {
                write!(f, "choice {choice} repeats choice {first}")
            }
            TreeError::MissingParent { choice } => write!(
                f,
                "choice {choice}: its parent (the path without its last entry) is not a choice"
            ),
            TreeError::FlatLengths { total, values } => write!(
                f,
                "path lengths add up to {total}, but there are {values} values"
            ),
            TreeError::TooShort {
                buffer,
                needed,
                got,
            } => write!(f, "{buffer}: {got} elements, {needed} needed"),
            TreeError::NoSuchLeaf { row, leaves } => {
                write!(f, "leaf row {row} does not exist ({leaves} leaves)")
            }
        }
    }
}

impl core::error::Error for TreeError {}

/// The nodes of one root-to-leaf (or root-to-node) path, root first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Path {
    nodes: [u8; MAX_NODES],
    len: usize,
}

impl Path {
    /// The node indices, root (0) first; strictly increasing.
    pub fn as_slice(&self) -> &[u8] {
        self.nodes.get(..self.len).unwrap_or_default()
    }

    /// The first `n` nodes (all of them if `n` is larger).
    pub fn truncate(mut self, n: usize) -> Path {
        self.len = self.len.min(n);
        self
    }

    /// Number of nodes.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether the path has no nodes (never the case for a path returned by a [`Tree`]).
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A draft tree: the per-node buffers verification needs (see the [module documentation](self)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tree {
    len: usize,
    ancestors: [u64; MAX_NODES],
    parents: [u8; MAX_NODES],
    depths: [u8; MAX_NODES],
    ranks: [u16; MAX_NODES],
    choice_of: [u8; MAX_NODES],
    tree_indices: [u32; MAX_NODES],
    leaves: [u8; MAX_NODES],
    num_leaves: usize,
    depth: usize,
    topk: u16,
}

/// Path `i` of `choices`, given the start offsets of the flat layout.
fn path_of<'a>(choices: &Choices<'a>, starts: &[usize; MAX_NODES], i: usize) -> &'a [u16] {
    match *choices {
        Choices::Paths(p) => p.get(i).copied().unwrap_or_default(),
        Choices::Flat { values, lengths } => {
            let start = starts.get(i).copied().unwrap_or(0);
            let len = lengths.get(i).copied().unwrap_or(0) as usize;
            values.get(start..start + len).unwrap_or_default()
        }
    }
}

/// The reference's sort key: length first, then the values lexicographically.
fn order(a: &[u16], b: &[u16]) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

impl Tree {
    /// Builds the tree of `choices` under `config`.
    ///
    /// Errors: no choices, more than 63 choices, an empty path, a path longer than `config.max_depth`, an entry
    /// `≥ config.topk`, a repeated path, a path whose parent is missing, flat lengths that do not match.
    pub fn new(choices: Choices<'_>, config: TreeConfig) -> Result<Tree, TreeError> {
        let n = choices.len();
        if n == 0 {
            return Err(TreeError::NoChoices);
        }
        if n >= MAX_NODES {
            return Err(TreeError::TooManyNodes {
                nodes: n.saturating_add(1),
            });
        }
        let mut starts = [0usize; MAX_NODES];
        if let Choices::Flat { values, lengths } = choices {
            let mut total = 0usize;
            for (s, &l) in starts.iter_mut().zip(lengths) {
                *s = total;
                total = total.saturating_add(l as usize);
            }
            if total != values.len() {
                return Err(TreeError::FlatLengths {
                    total,
                    values: values.len(),
                });
            }
        }
        // Validate each path on its own, in the caller's order.
        for i in 0..n {
            let p = path_of(&choices, &starts, i);
            if p.is_empty() {
                return Err(TreeError::EmptyPath { choice: i });
            }
            if p.len() > config.max_depth {
                return Err(TreeError::TooDeep {
                    choice: i,
                    depth: p.len(),
                    limit: config.max_depth,
                });
            }
            if let Some(&value) = p.iter().find(|&&v| v >= config.topk) {
                return Err(TreeError::TopkIndex {
                    choice: i,
                    value,
                    topk: config.topk,
                });
            }
        }
        // Stable insertion sort of the indices by (length, values).
        let mut sorted = [0u8; MAX_NODES];
        for (k, slot) in sorted.iter_mut().enumerate().take(n) {
            *slot = k as u8;
        }
        for k in 1..n {
            let mut j = k;
            while j > 0 {
                let (Some(&a), Some(&b)) = (sorted.get(j - 1), sorted.get(j)) else {
                    break;
                };
                let pa = path_of(&choices, &starts, a as usize);
                let pb = path_of(&choices, &starts, b as usize);
                if order(pa, pb) != Ordering::Greater {
                    break;
                }
                sorted.swap(j - 1, j);
                j -= 1;
            }
        }
        let sorted = sorted.get(..n).unwrap_or_default();
        for pair in sorted.windows(2) {
            if let [a, b] = *pair
                && path_of(&choices, &starts, a as usize) == path_of(&choices, &starts, b as usize)
            {
                return Err(TreeError::Duplicate {
                    choice: b as usize,
                    first: a as usize,
                });
            }
        }

        let mut tree = Tree {
            len: n + 1,
            ancestors: [0; MAX_NODES],
            parents: [0; MAX_NODES],
            depths: [0; MAX_NODES],
            ranks: [0; MAX_NODES],
            choice_of: [0; MAX_NODES],
            tree_indices: [0; MAX_NODES],
            leaves: [0; MAX_NODES],
            num_leaves: 0,
            depth: 0,
            topk: config.topk,
        };
        if let Some(a) = tree.ancestors.get_mut(0) {
            *a = 1;
        }
        let mut has_child = [false; MAX_NODES];
        for (k, &c) in sorted.iter().enumerate() {
            let node = k + 1;
            let p = path_of(&choices, &starts, c as usize);
            let (depth, last) = (p.len(), p.last().copied().unwrap_or(0));
            let parent = if depth == 1 {
                0
            } else {
                // The parent sorts before the node: search the nodes sorted so far.
                let prefix = p.get(..depth - 1).unwrap_or_default();
                let found = sorted
                    .iter()
                    .take(k)
                    .position(|&q| path_of(&choices, &starts, q as usize) == prefix);
                match found {
                    Some(q) => q + 1,
                    None => return Err(TreeError::MissingParent { choice: c as usize }),
                }
            };
            let parent_bits = tree.ancestors.get(parent).copied().unwrap_or(0);
            if let Some(slot) = tree.ancestors.get_mut(node) {
                *slot = parent_bits | (1u64 << node);
            }
            if let Some(slot) = tree.parents.get_mut(node) {
                *slot = parent as u8;
            }
            if let Some(slot) = has_child.get_mut(parent) {
                *slot = true;
            }
            // depth ≤ 63 (n ≤ 63 and every prefix is a distinct choice).
            if let Some(slot) = tree.depths.get_mut(node) {
                *slot = depth as u8;
            }
            if let Some(slot) = tree.ranks.get_mut(node) {
                *slot = last;
            }
            if let Some(slot) = tree.choice_of.get_mut(node) {
                *slot = c;
            }
            // ≤ 65535·62 + 65535 + 1 < 2^32.
            let index = u32::from(config.topk) * (depth as u32 - 1) + u32::from(last) + 1;
            if let Some(slot) = tree.tree_indices.get_mut(node) {
                *slot = index;
            }
            tree.depth = tree.depth.max(depth);
        }
        for node in (1..=n).rev() {
            if !has_child.get(node).copied().unwrap_or(true)
                && let Some(slot) = tree.leaves.get_mut(tree.num_leaves)
            {
                *slot = node as u8;
                tree.num_leaves += 1;
            }
        }
        Ok(tree)
    }

    /// Number of nodes `N`, root included (`2 ..= 64`).
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Always `false`: a tree has at least the root and one choice.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The longest path (the deepest node's depth).
    pub const fn depth(&self) -> usize {
        self.depth
    }

    /// Top-k entries per head the gather indices assume.
    pub const fn topk(&self) -> u16 {
        self.topk
    }

    /// Per node, bit `u` set iff node `u` is the node or one of its ancestors: row `t` of the attention mask.
    pub fn ancestors(&self) -> &[u64] {
        self.ancestors.get(..self.len).unwrap_or_default()
    }

    /// The mask for [`Params::mask`](crate::attention::Params::mask) (`tree`).
    pub fn mask(&self) -> TreeMask<'_> {
        TreeMask {
            ancestors: self.ancestors(),
        }
    }

    /// Per node, its parent node (the root's entry is 0).
    pub fn parents(&self) -> &[u8] {
        self.parents.get(..self.len).unwrap_or_default()
    }

    /// Per node, its depth (root 0): the reference's position ids.
    pub fn depths(&self) -> &[u8] {
        self.depths.get(..self.len).unwrap_or_default()
    }

    /// Per node, the last entry of its path (its top-k rank within its head; 0 for the root).
    pub fn ranks(&self) -> &[u16] {
        self.ranks.get(..self.len).unwrap_or_default()
    }

    /// Per node, the index of its token in `[base_top1, head0_topk.., head1_topk.., ..]`.
    pub fn tree_indices(&self) -> &[u32] {
        self.tree_indices.get(..self.len).unwrap_or_default()
    }

    /// The index in the caller's [`Choices`] of node `node`'s path (`None` for the root and beyond `N`).
    pub fn choice(&self, node: usize) -> Option<usize> {
        if node == 0 || node >= self.len {
            return None;
        }
        self.choice_of.get(node).map(|&c| c as usize)
    }

    /// The leaves in retrieve order (decreasing node index): leaf row `r` is candidate `r` of the reference.
    pub fn leaves(&self) -> &[u8] {
        self.leaves.get(..self.num_leaves).unwrap_or_default()
    }

    /// Number of leaves (rows of `retrieve_indices`, candidates of the acceptance step).
    pub const fn num_leaves(&self) -> usize {
        self.num_leaves
    }

    /// Width of a `retrieve_indices` row: `depth + 1`.
    pub const fn retrieve_width(&self) -> usize {
        self.depth + 1
    }

    /// The root-to-node path of `node` (`None` beyond `N`).
    pub fn path_to(&self, node: usize) -> Option<Path> {
        if node >= self.len {
            return None;
        }
        let len = self.depths.get(node).map(|&d| d as usize + 1)?;
        let mut nodes = [0u8; MAX_NODES];
        let mut at = node;
        for slot in nodes.get_mut(..len)?.iter_mut().rev() {
            *slot = at as u8;
            at = self.parents.get(at).copied().unwrap_or(0) as usize;
        }
        Some(Path { nodes, len })
    }

    /// The root-to-leaf path of leaf row `row` (`None` beyond [`Tree::num_leaves`]).
    pub fn path(&self, row: usize) -> Option<Path> {
        let leaf = self.leaves().get(row)?;
        self.path_to(*leaf as usize)
    }

    /// Row `row` of the reference's `retrieve_indices`: the path's nodes, then −1 up to
    /// [`Tree::retrieve_width`] entries, written to the start of `out`.
    pub fn retrieve_row(&self, row: usize, out: &mut [i32]) -> Result<(), TreeError> {
        let width = self.retrieve_width();
        let path = self.path(row).ok_or(TreeError::NoSuchLeaf {
            row,
            leaves: self.num_leaves,
        })?;
        let got = out.len();
        let out = out.get_mut(..width).ok_or(TreeError::TooShort {
            buffer: "retrieve row",
            needed: width,
            got,
        })?;
        let mut nodes = path.as_slice().iter();
        for slot in out {
            *slot = nodes.next().map_or(-1, |&v| i32::from(v));
        }
        Ok(())
    }

    /// The reference's `retrieve_indices`, `[num_leaves, depth + 1]` row-major, written to the start of `out`.
    pub fn retrieve_indices(&self, out: &mut [i32]) -> Result<(), TreeError> {
        let width = self.retrieve_width();
        let needed = self.num_leaves * width;
        if out.len() < needed {
            return Err(TreeError::TooShort {
                buffer: "retrieve indices",
                needed,
                got: out.len(),
            });
        }
        for (row, chunk) in out
            .chunks_exact_mut(width.max(1))
            .take(self.num_leaves)
            .enumerate()
        {
            self.retrieve_row(row, chunk)?;
        }
        Ok(())
    }

    /// Gathers the tree's tokens (or any per-candidate value): `out[node] = candidates[tree_indices[node]]`
    /// for the `N` nodes, where `candidates` is `[base_top1, head0_top0 .., head1_top0 .., ..]`
    /// (`1 + topk·heads` entries, at least `1 + topk·depth`).
    pub fn gather<T: Copy>(&self, candidates: &[T], out: &mut [T]) -> Result<(), TreeError> {
        let got = out.len();
        let out = out.get_mut(..self.len).ok_or(TreeError::TooShort {
            buffer: "gathered tokens",
            needed: self.len,
            got,
        })?;
        let needed = self
            .tree_indices()
            .iter()
            .map(|&i| i as usize + 1)
            .max()
            .unwrap_or(1);
        if candidates.len() < needed {
            return Err(TreeError::TooShort {
                buffer: "candidates",
                needed,
                got: candidates.len(),
            });
        }
        for (slot, &i) in out.iter_mut().zip(self.tree_indices()) {
            if let Some(&v) = candidates.get(i as usize) {
                *slot = v;
            }
        }
        Ok(())
    }
}
