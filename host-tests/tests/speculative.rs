//! `emkern::speculative` against independent computations:
//!
//! - tree buffers: the golden JSON of `fixtures/medusa/generate.py` (a NumPy re-implementation of Medusa's
//!   `generate_medusa_buffers`, for `mc_sim_7b_63`, `vicuna_7b_stage2`, `zephyr_stage2` and small sets), and a
//!   direct Rust transcription of the same reference steps on random trees (proptest);
//! - verification: tree-masked attention of every node equals the last row of a causal run over the prefix and
//!   the node's root-to-node path (with and without RoPE at the verification positions), and an f64 reference;
//! - acceptance: the streaming softmax summary and both entropies against two-pass f64 sums (extreme and `−∞`
//!   logits included), greedy and typical decisions against an f64 transcription of `evaluate_posterior`,
//!   tie-breaking, the tree form against the candidate form, the golden acceptance cases;
//! - compaction: random caches in several layouts and element types, moved rows bit-exact, other rows untouched.

#[path = "common/proptest_config.rs"]
mod proptest_config;
use std::path::Path;

use emkern::attention::{self, Params, Qkv, Tensor, TensorMut, Tiles};
use emkern::rope::apply::{self, Direction, Layout, Positions, Rows, Tables};
use emkern::rope::{RopeConfig, freq, table};
use emkern::simd::{Simd, bf16, f16};
use emkern::speculative::accept::{
    self, AcceptError, Decision, Entropy, Logits, Rule, Softmax, Typical,
};
use emkern::speculative::compact::{self, CompactError};
use emkern::speculative::{Choices, MAX_NODES, Tree, TreeConfig, TreeError, verify};
use emkern_host::io::npy;
use emkern_host::speculative::choices::MC_SIM_7B_63;
use proptest::prelude::*;
use proptest_config::proptest_config;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/// SplitMix64: deterministic test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in [lo, hi).
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit().max(1e-300), self.unit());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
    fn f32s(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f32> {
        (0..n).map(|_| self.range(lo, hi) as f32).collect()
    }
}

fn paths(choices: &[Vec<u16>]) -> Vec<&[u16]> {
    choices.iter().map(Vec::as_slice).collect()
}

fn tree_of(choices: &[Vec<u16>], topk: u16) -> Tree {
    Tree::new(Choices::Paths(&paths(choices)), TreeConfig::new(topk, 63)).unwrap()
}

fn mc_sim() -> Vec<Vec<u16>> {
    MC_SIM_7B_63.iter().map(|p| p.to_vec()).collect()
}

/// A random valid choice set: grown from the root by adding children with random top-k ranks, then shuffled.
fn random_choices(rng: &mut Rng, count: usize, topk: u16, max_depth: usize) -> Vec<Vec<u16>> {
    let mut nodes: Vec<Vec<u16>> = vec![vec![]];
    let mut tries = 0;
    while nodes.len() <= count && tries < 10_000 {
        tries += 1;
        let parent = nodes[rng.below(nodes.len())].clone();
        if parent.len() >= max_depth {
            continue;
        }
        let mut child = parent;
        child.push(rng.below(topk as usize) as u16);
        if !nodes.contains(&child) {
            nodes.push(child);
        }
    }
    let mut choices: Vec<Vec<u16>> = nodes.into_iter().skip(1).collect();
    for i in (1..choices.len()).rev() {
        choices.swap(i, rng.below(i + 1));
    }
    choices
}

// ---------------------------------------------------------------------------------------------------------------
// Tree buffers

/// The reference's buffers, transcribed step by step from `generate_medusa_buffers` (lists instead of tensors).
struct RefBuffers {
    mask: Vec<Vec<u8>>,
    tree_indices: Vec<i64>,
    position_ids: Vec<i64>,
    retrieve: Vec<Vec<i64>>,
}

fn reference_buffers(choices: &[Vec<u16>], topk: i64) -> RefBuffers {
    let mut sorted: Vec<Vec<u16>> = choices.to_vec();
    sorted.sort_by(|a, b| (a.len(), a).cmp(&(b.len(), b)));
    let len = sorted.len() + 1;
    let mut depth_counts: Vec<usize> = Vec::new();
    let mut prev = 0;
    for p in &sorted {
        if p.len() != prev {
            depth_counts.push(0);
        }
        depth_counts[p.len() - 1] += 1;
        prev = p.len();
    }
    let index = |p: &[u16]| sorted.iter().position(|q| q == p).unwrap();
    let mut mask = vec![vec![0u8; len]; len];
    for (i, row) in mask.iter_mut().enumerate() {
        row[i] = 1;
        row[0] = 1;
    }
    let mut start = 0;
    for &count in &depth_counts {
        for j in 0..count {
            let cur = &sorted[start + j];
            for c in 0..cur.len().saturating_sub(1) {
                mask[start + j + 1][index(&cur[..c + 1]) + 1] = 1;
            }
        }
        start += count;
    }
    let mut tree_indices = vec![0i64; len];
    let mut position_ids = vec![0i64; len];
    let mut start = 0;
    for (i, &count) in depth_counts.iter().enumerate() {
        for j in 0..count {
            let cur = &sorted[start + j];
            tree_indices[start + j + 1] = *cur.last().unwrap() as i64 + topk * i as i64 + 1;
            position_ids[start + j + 1] = i as i64 + 1;
        }
        start += count;
    }
    let mut nest: Vec<Vec<i64>> = Vec::new();
    let mut seen: Vec<Vec<u16>> = Vec::new();
    for cur in sorted.iter().rev() {
        if seen.contains(cur) {
            continue;
        }
        let mut row = Vec::new();
        for c in 0..cur.len() {
            row.push(index(&cur[..c + 1]) as i64);
            seen.push(cur[..c + 1].to_vec());
        }
        nest.push(row);
    }
    let width = nest.iter().map(Vec::len).max().unwrap();
    let retrieve = nest
        .into_iter()
        .map(|mut r| {
            r.resize(width, -2);
            let mut out = vec![0i64];
            out.extend(r.iter().map(|v| v + 1));
            out
        })
        .collect();
    RefBuffers {
        mask,
        tree_indices,
        position_ids,
        retrieve,
    }
}

/// The tree's buffers in the reference's shapes.
fn buffers_of(tree: &Tree) -> RefBuffers {
    let n = tree.len();
    let mask = tree
        .ancestors()
        .iter()
        .map(|&b| (0..n).map(|u| ((b >> u) & 1) as u8).collect())
        .collect();
    let width = tree.retrieve_width();
    let mut flat = vec![7i32; tree.num_leaves() * width];
    tree.retrieve_indices(&mut flat).unwrap();
    RefBuffers {
        mask,
        tree_indices: tree.tree_indices().iter().map(|&v| v as i64).collect(),
        position_ids: tree.depths().iter().map(|&v| v as i64).collect(),
        retrieve: flat
            .chunks(width)
            .map(|r| r.iter().map(|&v| v as i64).collect())
            .collect(),
    }
}

fn assert_same(name: &str, got: &RefBuffers, want: &RefBuffers) {
    assert_eq!(got.mask, want.mask, "{name}: attention mask");
    assert_eq!(got.tree_indices, want.tree_indices, "{name}: tree indices");
    assert_eq!(got.position_ids, want.position_ids, "{name}: position ids");
    assert_eq!(got.retrieve, want.retrieve, "{name}: retrieve indices");
}

fn fixture_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/medusa"))
}

fn golden_trees() -> Vec<Value> {
    let text = std::fs::read_to_string(fixture_dir().join("trees.json")).unwrap();
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn json_matrix(v: &Value) -> Vec<Vec<i64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_i64().unwrap())
                .collect()
        })
        .collect()
}

fn json_vector(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

fn json_choices(v: &Value) -> Vec<Vec<u16>> {
    json_matrix(v)
        .into_iter()
        .map(|r| r.into_iter().map(|x| x as u16).collect())
        .collect()
}

#[test]
fn golden_trees_match_the_numpy_reference() {
    let sets = golden_trees();
    let names: Vec<&str> = sets.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"mc_sim_7b_63"), "{names:?}");
    assert_eq!(sets.len(), 7);
    for set in &sets {
        let name = set["name"].as_str().unwrap();
        let topk = set["topk"].as_u64().unwrap() as u16;
        let choices = json_choices(&set["choices"]);
        let want = RefBuffers {
            mask: json_matrix(&set["attn_mask"])
                .into_iter()
                .map(|r| r.into_iter().map(|x| x as u8).collect())
                .collect(),
            tree_indices: json_vector(&set["tree_indices"]),
            position_ids: json_vector(&set["position_ids"]),
            retrieve: json_matrix(&set["retrieve_indices"]),
        };
        // Both input layouts.
        let tree = tree_of(&choices, topk);
        assert_same(name, &buffers_of(&tree), &want);
        let values: Vec<u16> = choices.iter().flatten().copied().collect();
        let lengths: Vec<u8> = choices.iter().map(|c| c.len() as u8).collect();
        let flat = Tree::new(
            Choices::Flat {
                values: &values,
                lengths: &lengths,
            },
            TreeConfig::new(topk, 63),
        )
        .unwrap();
        assert_eq!(flat, tree, "{name}: flat layout");
        // The Rust transcription agrees with the NumPy one.
        assert_same(name, &reference_buffers(&choices, topk as i64), &want);
        if name == "mc_sim_7b_63" {
            assert_eq!(tree.len(), 64);
            assert_eq!(tree.depth(), 4);
            assert_eq!(tree.num_leaves(), want.retrieve.len());
        }
    }
}

#[test]
fn tree_accessors_are_consistent() {
    let choices = mc_sim();
    let tree = tree_of(&choices, 10);
    let n = tree.len();
    for node in 1..n {
        let parent = tree.parents()[node] as usize;
        assert!(parent < node);
        assert_eq!(tree.depths()[node], tree.depths()[parent] + 1);
        assert_eq!(
            tree.ancestors()[node],
            tree.ancestors()[parent] | (1 << node)
        );
        let path = &choices[tree.choice(node).unwrap()];
        assert_eq!(tree.ranks()[node], *path.last().unwrap());
        let p = tree.path_to(node).unwrap();
        assert_eq!(p.len(), path.len() + 1);
        // The path's nodes are exactly the ancestor bits.
        let bits = p.as_slice().iter().fold(0u64, |a, &v| a | (1 << v));
        assert_eq!(bits, tree.ancestors()[node]);
    }
    assert_eq!(tree.choice(0), None);
    assert_eq!(tree.choice(n), None);
    assert!(tree.path_to(n).is_none());
    assert!(tree.path(tree.num_leaves()).is_none());
    // Gather: candidate i holds the value 1000 + i.
    let candidates: Vec<u32> = (0..1 + 10 * 4).map(|i| 1000 + i).collect();
    let mut tokens = vec![0u32; n];
    tree.gather(&candidates, &mut tokens).unwrap();
    for (token, index) in tokens.iter().zip(tree.tree_indices()) {
        assert_eq!(*token, 1000 + index);
    }
    // The deepest nodes are [0, 0, 0, 0] and [0, 0, 0, 1]: index 10·3 + 1 + 1 = 32.
    assert_eq!(tree.tree_indices().iter().max(), Some(&32));
    assert_eq!(
        tree.gather(&candidates[..32], &mut tokens),
        Err(TreeError::TooShort {
            buffer: "candidates",
            needed: 33,
            got: 32
        })
    );
    assert!(tree.gather(&candidates[..33], &mut tokens).is_ok());
    assert!(matches!(
        tree.gather(&candidates, &mut tokens[..63]),
        Err(TreeError::TooShort { needed: 64, .. })
    ));
    let mut short = vec![0i32; tree.retrieve_width() - 1];
    assert!(matches!(
        tree.retrieve_row(0, &mut short),
        Err(TreeError::TooShort { .. })
    ));
    assert!(matches!(
        tree.retrieve_row(tree.num_leaves(), &mut [0; 8]),
        Err(TreeError::NoSuchLeaf { .. })
    ));
}

#[test]
fn tree_errors_name_the_choice() {
    let build =
        |c: &[&[u16]], topk, depth| Tree::new(Choices::Paths(c), TreeConfig::new(topk, depth));
    assert_eq!(build(&[], 10, 5), Err(TreeError::NoChoices));
    assert_eq!(
        build(&[&[0], &[]], 10, 5),
        Err(TreeError::EmptyPath { choice: 1 })
    );
    assert_eq!(
        build(&[&[0], &[0, 1], &[0, 1, 2]], 10, 2),
        Err(TreeError::TooDeep {
            choice: 2,
            depth: 3,
            limit: 2
        })
    );
    assert_eq!(
        build(&[&[0], &[0, 10]], 10, 5),
        Err(TreeError::TopkIndex {
            choice: 1,
            value: 10,
            topk: 10
        })
    );
    assert_eq!(
        build(&[&[0], &[3]], 3, 5),
        Err(TreeError::TopkIndex {
            choice: 1,
            value: 3,
            topk: 3
        })
    );
    assert_eq!(
        build(&[&[1], &[0], &[1]], 10, 5),
        Err(TreeError::Duplicate {
            choice: 2,
            first: 0
        })
    );
    assert_eq!(
        build(&[&[0], &[1, 0], &[0, 0]], 10, 5),
        Err(TreeError::MissingParent { choice: 1 })
    );
    assert_eq!(
        build(&[&[0], &[0, 0, 0]], 10, 5),
        Err(TreeError::MissingParent { choice: 1 })
    );
    // 64 choices: 65 nodes.
    let many: Vec<Vec<u16>> = (0..64).map(|i| vec![i]).collect();
    assert_eq!(
        Tree::new(Choices::Paths(&paths(&many)), TreeConfig::new(100, 5)),
        Err(TreeError::TooManyNodes { nodes: 65 })
    );
    // 63 choices: the largest tree.
    assert_eq!(
        Tree::new(Choices::Paths(&paths(&many[..63])), TreeConfig::new(100, 5))
            .unwrap()
            .len(),
        MAX_NODES
    );
    assert_eq!(
        Tree::new(
            Choices::Flat {
                values: &[0, 0, 0],
                lengths: &[1, 1]
            },
            TreeConfig::DEFAULT
        ),
        Err(TreeError::FlatLengths {
            total: 2,
            values: 3
        })
    );
    // A 63-deep chain is allowed; the Display text names the choice.
    let chain: Vec<Vec<u16>> = (1..=63).map(|d| vec![0; d]).collect();
    assert_eq!(tree_of(&chain, 1).depth(), 63);
    let e = build(&[&[0], &[0, 1, 1]], 10, 5).unwrap_err();
    assert!(e.to_string().contains("choice 1"), "{e}");
}

proptest! {
    #![proptest_config(proptest_config(300))]

    #[test]
    fn random_trees_match_the_reference_steps(seed in any::<u64>(), count in 1usize..=63, topk in 1u16..=12,
                                              max_depth in 1usize..=8) {
        let mut rng = Rng(seed);
        let choices = random_choices(&mut rng, count, topk, max_depth);
        let tree = tree_of(&choices, topk);
        assert_same("random", &buffers_of(&tree), &reference_buffers(&choices, topk as i64));
        // The input order does not matter.
        let mut reversed = choices.clone();
        reversed.reverse();
        let other = tree_of(&reversed, topk);
        prop_assert_eq!(other.ancestors(), tree.ancestors());
        prop_assert_eq!(other.leaves(), tree.leaves());
        prop_assert_eq!(other.tree_indices(), tree.tree_indices());
        // Removing a leaf's parent (when it is not the root) is reported.
        if let Some(leaf) = tree.leaves().iter().find(|&&l| tree.depths()[l as usize] >= 2) {
            let parent = tree.parents()[*leaf as usize] as usize;
            let missing = tree.choice(parent).unwrap();
            let cut: Vec<Vec<u16>> = choices.iter().enumerate().filter(|&(i, _)| i != missing)
                .map(|(_, c)| c.clone()).collect();
            let e = Tree::new(Choices::Paths(&paths(&cut)), TreeConfig::new(topk, 63)).unwrap_err();
            prop_assert!(matches!(e, TreeError::MissingParent { .. }), "{:?}", e);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Verification: tree attention = per-path causal attention

struct Step {
    heads_q: usize,
    heads_kv: usize,
    prefix: usize,
    d: usize,
    q: Vec<f32>, // [heads_q, n, d]
    k: Vec<f32>, // [heads_kv, prefix + n, d]
    v: Vec<f32>,
}

impl Step {
    fn random(
        rng: &mut Rng,
        tree: &Tree,
        heads_q: usize,
        heads_kv: usize,
        prefix: usize,
        d: usize,
    ) -> Step {
        let n = tree.len();
        Step {
            heads_q,
            heads_kv,
            prefix,
            d,
            q: rng.f32s(heads_q * n * d, -1.5, 1.5),
            k: rng.f32s(heads_kv * (prefix + n) * d, -1.5, 1.5),
            v: rng.f32s(heads_kv * (prefix + n) * d, -1.0, 1.0),
        }
    }

    /// Tree attention through `verify::attend`: `[heads_q, n, d]`.
    fn tree_output(&self, tree: &Tree, q: &[f32], k: &[f32], tiles: Tiles) -> Vec<f32> {
        let (n, d) = (tree.len(), self.d);
        let qkv = Qkv {
            q: Tensor::new(q, self.heads_q, n, d),
            k: Tensor::new(k, self.heads_kv, self.prefix + n, d),
            v: Tensor::new(&self.v[..], self.heads_kv, self.prefix + n, d),
        };
        let mut base = Params::new();
        base.tiles = tiles;
        let mut scratch = vec![0.0f32; attention::scratch_len(qkv.dims(), qkv.dtypes(), tiles)];
        let mut out = vec![f32::NAN; self.heads_q * n * d];
        verify::attend(
            Simd::best(),
            tree,
            &base,
            &qkv,
            TensorMut::new(&mut out[..], self.heads_q, n, d),
            None,
            &mut scratch,
        )
        .unwrap();
        out
    }

    /// The prefix followed by `path`'s rows of a `[heads, prefix + n, d]` key or value tensor.
    fn path_rows(&self, x: &[f32], heads: usize, n: usize, path: &[u8]) -> Vec<f32> {
        let (p, d) = (self.prefix, self.d);
        let mut out = Vec::new();
        for h in 0..heads {
            let head = &x[h * (p + n) * d..(h + 1) * (p + n) * d];
            out.extend_from_slice(&head[..p * d]);
            for &node in path {
                let r = p + node as usize;
                out.extend_from_slice(&head[r * d..(r + 1) * d]);
            }
        }
        out
    }
}

/// `path`'s rows of a `[heads, n, d]` query tensor.
fn query_rows(q: &[f32], heads: usize, n: usize, d: usize, path: &[u8]) -> Vec<f32> {
    let mut out = Vec::new();
    for h in 0..heads {
        for &node in path {
            let r = h * n + node as usize;
            out.extend_from_slice(&q[r * d..(r + 1) * d]);
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn causal(
    simd: Simd,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    heads_q: usize,
    heads_kv: usize,
    lq: usize,
    lkv: usize,
    d: usize,
) -> Vec<f32> {
    let qkv = Qkv {
        q: Tensor::new(q, heads_q, lq, d),
        k: Tensor::new(k, heads_kv, lkv, d),
        v: Tensor::new(v, heads_kv, lkv, d),
    };
    let mut params = Params::new();
    params.mask.causal = true;
    let mut scratch = vec![0.0f32; attention::scratch_len(qkv.dims(), qkv.dtypes(), params.tiles)];
    let mut out = vec![0.0f32; heads_q * lq * d];
    attention::attention(
        simd,
        &qkv,
        &params,
        TensorMut::new(&mut out[..], heads_q, lq, d),
        None,
        &mut scratch,
    )
    .unwrap();
    out
}

/// Tree attention in f64, straight from the definition: node `t` sees the prefix and its ancestors.
fn tree_attention_f64(step: &Step, tree: &Tree, q: &[f32], k: &[f32]) -> Vec<f64> {
    let (n, p, d) = (tree.len(), step.prefix, step.d);
    let group = step.heads_q / step.heads_kv;
    let scale = 1.0 / (d as f64).sqrt();
    let mut out = vec![0.0f64; step.heads_q * n * d];
    for h in 0..step.heads_q {
        let g = h / group;
        for t in 0..n {
            let qrow = &q[(h * n + t) * d..(h * n + t + 1) * d];
            let keys: Vec<usize> = (0..p)
                .chain(
                    (0..n)
                        .filter(|&u| (tree.ancestors()[t] >> u) & 1 == 1)
                        .map(|u| p + u),
                )
                .collect();
            let scores: Vec<f64> = keys
                .iter()
                .map(|&j| {
                    let krow = &k[(g * (p + n) + j) * d..(g * (p + n) + j + 1) * d];
                    scale
                        * qrow
                            .iter()
                            .zip(krow)
                            .map(|(&a, &b)| a as f64 * b as f64)
                            .sum::<f64>()
                })
                .collect();
            let m = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let w: Vec<f64> = scores.iter().map(|s| (s - m).exp()).collect();
            let z: f64 = w.iter().sum();
            for (&j, &wj) in keys.iter().zip(&w) {
                let vrow = &step.v[(g * (p + n) + j) * d..(g * (p + n) + j + 1) * d];
                for c in 0..d {
                    out[(h * n + t) * d + c] += wj / z * vrow[c] as f64;
                }
            }
        }
    }
    out
}

/// For every node: the tree output equals the last row of the causal run over prefix + its path.
fn check_against_paths(step: &Step, tree: &Tree, q: &[f32], k: &[f32], tree_out: &[f32]) -> f64 {
    let (n, d) = (tree.len(), step.d);
    let mut worst = 0.0f64;
    for node in 0..n {
        let path = tree.path_to(node).unwrap();
        let path = path.as_slice();
        let lq = path.len();
        let pq = query_rows(q, step.heads_q, n, d, path);
        let pk = step.path_rows(k, step.heads_kv, n, path);
        let pv = step.path_rows(&step.v, step.heads_kv, n, path);
        let out = causal(
            Simd::best(),
            &pq,
            &pk,
            &pv,
            step.heads_q,
            step.heads_kv,
            lq,
            step.prefix + lq,
            d,
        );
        for h in 0..step.heads_q {
            let got = &tree_out[(h * n + node) * d..(h * n + node + 1) * d];
            let want = &out[(h * lq + lq - 1) * d..(h * lq + lq) * d];
            for (a, b) in got.iter().zip(want) {
                worst = worst.max((a - b).abs() as f64);
            }
        }
    }
    worst
}

#[test]
fn tree_attention_equals_causal_attention_along_each_path() {
    let mut rng = Rng(7);
    let mut sets = vec![(mc_sim(), 10u16)];
    for count in [1usize, 5, 20, 63] {
        sets.push((random_choices(&mut rng, count, 4, 6), 4));
    }
    for (i, (choices, topk)) in sets.iter().enumerate() {
        let tree = tree_of(choices, *topk);
        for (heads_q, heads_kv, prefix, d) in [(4, 2, 37, 16), (2, 2, 0, 8), (3, 1, 70, 5)] {
            let step = Step::random(&mut rng, &tree, heads_q, heads_kv, prefix, d);
            for tiles in [
                Tiles::DEFAULT,
                Tiles::new(5, 3),
                Tiles::for_level(Simd::best().level()),
            ] {
                let out = step.tree_output(&tree, &step.q, &step.k, tiles);
                let worst = check_against_paths(&step, &tree, &step.q, &step.k, &out);
                assert!(
                    worst <= 1e-6,
                    "set {i}, {heads_q}/{heads_kv} heads, prefix {prefix}: {worst:e}"
                );
                let exact = tree_attention_f64(&step, &tree, &step.q, &step.k);
                let worst64 = out
                    .iter()
                    .zip(&exact)
                    .map(|(&a, &b)| (a as f64 - b).abs())
                    .fold(0.0, f64::max);
                assert!(worst64 <= 1e-6, "set {i}: vs f64 {worst64:e}");
            }
        }
    }
}

#[test]
fn rope_at_verification_positions_matches_the_path_sequence() {
    let mut rng = Rng(11);
    let tree = tree_of(&mc_sim(), 10);
    let (n, hq, hkv, p, d) = (tree.len(), 4, 2, 29, 16);
    let step = Step::random(&mut rng, &tree, hq, hkv, p, d);
    let config = RopeConfig::new(10_000.0, d);
    let mut inv = vec![0.0f64; d / 2];
    let scale = freq::inv_freq(&config, None, &mut inv).unwrap();
    let rows = p + n;
    let (mut cos, mut sin) = (vec![0.0f32; rows * d / 2], vec![0.0f32; rows * d / 2]);
    table::fill_range(&inv, 0, rows, scale, &mut cos, &mut sin).unwrap();
    let tables = Tables {
        cos: &cos,
        sin: &sin,
        half: d / 2,
    };
    let simd = Simd::best();
    let mut positions = vec![0usize; MAX_NODES];
    let tree_pos = verify::positions(&tree, p, &mut positions)
        .unwrap()
        .to_vec();
    assert_eq!(tree_pos.len(), n);
    for (node, &pos) in tree_pos.iter().enumerate() {
        assert_eq!(pos, p + tree.depths()[node] as usize);
    }
    // Rotate the tree's queries and keys at the verification positions, the prefix keys at 0..p.
    let mut q = step.q.clone();
    apply::apply(
        simd,
        Layout::HalfSplit,
        Direction::Forward,
        Rows::new(&mut q[..], hq, n, d),
        &tables,
        Positions::Listed(&tree_pos),
        &mut [],
    )
    .unwrap();
    let mut k = step.k.clone();
    for h in 0..hkv {
        let head = &mut k[h * rows * d..(h + 1) * rows * d];
        let (prefix, tail) = head.split_at_mut(p * d);
        apply::apply(
            simd,
            Layout::HalfSplit,
            Direction::Forward,
            Rows::new(prefix, 1, p, d),
            &tables,
            Positions::Consecutive(0),
            &mut [],
        )
        .unwrap();
        apply::apply(
            simd,
            Layout::HalfSplit,
            Direction::Forward,
            Rows::new(tail, 1, n, d),
            &tables,
            Positions::Listed(&tree_pos),
            &mut [],
        )
        .unwrap();
    }
    let out = step.tree_output(&tree, &q, &k, Tiles::DEFAULT);
    // Each path as a plain sequence: raw rows rotated at consecutive positions.
    let mut worst = 0.0f64;
    for node in 0..n {
        let path = tree.path_to(node).unwrap();
        let path = path.as_slice();
        let lq = path.len();
        let mut pq = query_rows(&step.q, hq, n, d, path);
        let mut pk = step.path_rows(&step.k, hkv, n, path);
        let pv = step.path_rows(&step.v, hkv, n, path);
        apply::apply(
            simd,
            Layout::HalfSplit,
            Direction::Forward,
            Rows::new(&mut pq[..], hq, lq, d),
            &tables,
            Positions::Consecutive(p),
            &mut [],
        )
        .unwrap();
        apply::apply(
            simd,
            Layout::HalfSplit,
            Direction::Forward,
            Rows::new(&mut pk[..], hkv, p + lq, d),
            &tables,
            Positions::Consecutive(0),
            &mut [],
        )
        .unwrap();
        let o = causal(simd, &pq, &pk, &pv, hq, hkv, lq, p + lq, d);
        for h in 0..hq {
            for c in 0..d {
                let a = out[(h * n + node) * d + c];
                let b = o[(h * lq + lq - 1) * d + c];
                worst = worst.max((a - b).abs() as f64);
            }
        }
    }
    assert!(worst <= 1e-6, "{worst:e}");
}

#[test]
fn verification_helpers_check_their_arguments() {
    let tree = tree_of(&mc_sim(), 10);
    let mut short = [0usize; 10];
    assert_eq!(
        verify::positions(&tree, 5, &mut short),
        Err(verify::VerifyError::TooShort {
            needed: 64,
            got: 10
        })
    );
    let mut pos = [0usize; 64];
    assert_eq!(
        verify::positions(&tree, usize::MAX - 2, &mut pos),
        Err(verify::VerifyError::PositionOverflow)
    );
    let p = verify::params(&Params::new(), &tree);
    assert!(p.mask.causal);
    assert_eq!(p.mask.tree.unwrap().ancestors, tree.ancestors());
    // Fewer queries than tree tokens.
    let q = [0.0f32; 10 * 4];
    let k = [0.0f32; 100 * 4];
    let qkv = Qkv {
        q: Tensor::new(&q[..], 1, 10, 4),
        k: Tensor::new(&k[..], 1, 100, 4),
        v: Tensor::new(&k[..], 1, 100, 4),
    };
    let mut out = [0.0f32; 10 * 4];
    let mut scratch = vec![0.0f32; 4096];
    assert_eq!(
        verify::attend(
            Simd::best(),
            &tree,
            &Params::new(),
            &qkv,
            TensorMut::new(&mut out[..], 1, 10, 4),
            None,
            &mut scratch
        ),
        Err(verify::VerifyError::TooFewRows {
            what: "queries",
            needed: 64,
            got: 10
        })
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Acceptance

/// Softmax summary of a row in f64, two passes: (log-partition of x/T, exact entropy, reference entropy).
fn softmax_f64(row: &[f32], t: f64) -> (f64, f64, f64, Vec<f64>) {
    let x: Vec<f64> = row.iter().map(|&v| v as f64 / t).collect();
    let m = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let z: f64 = x.iter().map(|v| (v - m).exp()).sum();
    let lz = m + z.ln();
    let p: Vec<f64> = x.iter().map(|v| (v - lz).exp()).collect();
    let exact = -p
        .iter()
        .zip(&x)
        .filter(|&(&pi, _)| pi > 0.0)
        .map(|(pi, xi)| pi * (xi - lz))
        .sum::<f64>();
    let reference = -p.iter().map(|pi| pi * (pi + 1e-5).ln()).sum::<f64>();
    (lz, exact, reference, p)
}

fn close(got: f64, want: f64, rel: f64, abs: f64) -> bool {
    (got - want).abs() <= rel * want.abs() + abs
}

fn logit_rows(rng: &mut Rng, vocab: usize, kind: usize) -> Vec<f32> {
    (0..vocab)
        .map(|i| match kind {
            // Ordinary logits.
            0 => (3.0 * rng.normal()) as f32,
            // Peaked: one dominant token.
            1 => {
                if i == vocab / 3 {
                    25.0
                } else {
                    rng.normal() as f32
                }
            }
            // Extremes: ±1e4 and masked tokens.
            2 => match rng.below(6) {
                0 => 1e4 - rng.range(0.0, 5.0) as f32,
                1 => -1e4,
                2 => f32::NEG_INFINITY,
                _ => rng.range(-20.0, 20.0) as f32,
            },
            // Mostly masked, a few finite values.
            3 => {
                if rng.below(50) == 0 {
                    rng.range(-3.0, 3.0) as f32
                } else {
                    f32::NEG_INFINITY
                }
            }
            // Flat.
            _ => 0.5,
        })
        .collect()
}

#[test]
fn streaming_softmax_matches_two_pass_f64() {
    let simd = Simd::best();
    let mut rng = Rng(3);
    let mut checked = 0;
    for &vocab in &[1usize, 2, 7, 63, 64, 65, 200, 1000, 32000] {
        for kind in 0..5 {
            for &t in &[0.25f32, 1.0, 2.5] {
                let mut row = logit_rows(&mut rng, vocab, kind);
                if row.iter().all(|v| *v == f32::NEG_INFINITY) {
                    row[vocab / 2] = 1.0;
                }
                let s = Softmax::scan(simd, &row, t, 0).unwrap();
                let (lz, exact, reference, p) = softmax_f64(&row, t as f64);
                let what = format!("vocab {vocab}, kind {kind}, T {t}");
                assert!(
                    close(s.log_partition() as f64, lz, 2e-7, 1e-6),
                    "{what}: lse {} vs {lz}",
                    s.log_partition()
                );
                assert!(
                    close(s.entropy() as f64, exact, 1e-5, 2e-6),
                    "{what}: exact H {} vs {exact}",
                    s.entropy()
                );
                let rh = s.reference_entropy(simd, &row) as f64;
                assert!(
                    close(rh, reference, 1e-5, 2e-6),
                    "{what}: reference H {rh} vs {reference}"
                );
                for i in [0, vocab / 3, vocab - 1] {
                    assert!(
                        close(s.prob(row[i]) as f64, p[i], 1e-5, 1e-30),
                        "{what}: p[{i}] {} vs {}",
                        s.prob(row[i]),
                        p[i]
                    );
                    if p[i] > 1e-30 {
                        let lp = (row[i] as f64 / t as f64) - lz;
                        assert!(
                            close(s.log_prob(row[i]) as f64, lp, 1e-6, 2e-5),
                            "{what}: ln p[{i}]"
                        );
                    }
                }
                assert_eq!(
                    s.max(),
                    row.iter().cloned().fold(f32::NEG_INFINITY, f32::max)
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 9 * 5 * 3);
}

#[test]
fn streaming_softmax_rejects_bad_rows() {
    let simd = Simd::best();
    let mut row = vec![0.5f32; 300];
    row[250] = f32::NAN;
    assert_eq!(
        Softmax::scan(simd, &row, 1.0, 4),
        Err(AcceptError::NonFiniteLogit { row: 4 })
    );
    // NaN in a block whose other values are all -inf.
    let mut row = vec![f32::NEG_INFINITY; 130];
    row[0] = 1.0;
    row[100] = f32::NAN;
    assert_eq!(
        Softmax::scan(simd, &row, 1.0, 1),
        Err(AcceptError::NonFiniteLogit { row: 1 })
    );
    let mut row = vec![0.5f32; 10];
    row[3] = f32::INFINITY;
    assert_eq!(
        Softmax::scan(simd, &row, 1.0, 2),
        Err(AcceptError::NonFiniteLogit { row: 2 })
    );
    assert_eq!(
        Softmax::scan(simd, &[f32::NEG_INFINITY; 70], 1.0, 3),
        Err(AcceptError::NoFiniteLogit { row: 3 })
    );
    assert_eq!(
        Softmax::scan(simd, &[], 1.0, 5),
        Err(AcceptError::NoFiniteLogit { row: 5 })
    );
    for t in [0.0f32, -1.0, f32::NAN, f32::INFINITY, 1e-40] {
        assert!(
            matches!(
                Softmax::scan(simd, &[1.0], t, 0),
                Err(AcceptError::BadParam(_))
            ),
            "T {t}"
        );
    }
    // Greedy: NaN is an error, ties go to the first index, all -inf gives index 0.
    assert_eq!(
        accept::argmax(simd, &[1.0, f32::NAN], 9),
        Err(AcceptError::NonFiniteLogit { row: 9 })
    );
    let mut row = vec![0.0f32; 200];
    row[70] = 3.0;
    row[150] = 3.0;
    assert_eq!(accept::argmax(simd, &row, 0), Ok(70));
    row[199] = f32::INFINITY;
    assert_eq!(accept::argmax(simd, &row, 0), Ok(199));
    assert_eq!(accept::argmax(simd, &[f32::NEG_INFINITY; 3], 0), Ok(0));
}

/// `evaluate_posterior` (deterministic path) in f64, written from its definition over the whole `[C, L, V]`
/// logits. Returns the decision and the smallest relative distance of a judged probability to its threshold
/// (`inf` for greedy, which has no threshold) and of the winning likelihood to the runner-up.
fn evaluate_f64(
    logits: &[f32],
    tokens: &[u32],
    c: usize,
    l: usize,
    vocab: usize,
    rule: &Rule,
) -> (Decision, f64) {
    let mut lengths = vec![0usize; c];
    let mut likelihood = vec![0.0f64; c];
    let mut margin = f64::INFINITY;
    let mut flags = vec![vec![false; l.saturating_sub(1)]; c];
    let mut probs = vec![vec![0.0f64; l.saturating_sub(1)]; c];
    for ci in 0..c {
        for p in 0..l - 1 {
            let row = &logits[(ci * l + p) * vocab..(ci * l + p + 1) * vocab];
            let token = tokens[ci * l + p + 1] as usize;
            match rule {
                Rule::Greedy => {
                    let mut arg = 0;
                    for (i, &v) in row.iter().enumerate() {
                        if v > row[arg] {
                            arg = i;
                        }
                    }
                    flags[ci][p] = arg == token;
                }
                Rule::Typical(t) => {
                    let (_, exact, reference, pr) = softmax_f64(row, t.temperature as f64);
                    let h = if t.entropy == Entropy::Exact {
                        exact
                    } else {
                        reference
                    };
                    let threshold =
                        (t.posterior_threshold as f64).min(t.posterior_alpha as f64 * (-h).exp());
                    probs[ci][p] = pr[token];
                    flags[ci][p] = pr[token] > threshold;
                    margin = margin.min((pr[token] - threshold).abs() / threshold.max(1e-300));
                }
            }
        }
        lengths[ci] = flags[ci].iter().take_while(|&&f| f).count();
        likelihood[ci] = probs[ci][..lengths[ci]].iter().map(|p| p.ln()).sum();
    }
    let accept = lengths.iter().copied().max().unwrap_or(0);
    if accept == 0 {
        return (
            Decision {
                best: 0,
                accept_length: 0,
            },
            margin,
        );
    }
    let best = match rule {
        Rule::Greedy => lengths.iter().position(|&x| x == accept).unwrap(),
        Rule::Typical(_) => {
            let tied: Vec<usize> = (0..c).filter(|&i| lengths[i] == accept).collect();
            let mut best = tied[0];
            for &i in &tied {
                if likelihood[i] > likelihood[best] {
                    best = i;
                }
            }
            for &i in &tied {
                if i != best && likelihood[i] != likelihood[best] {
                    margin = margin.min(
                        (likelihood[best] - likelihood[i]).abs() / (likelihood[best].abs() + 1.0),
                    );
                }
            }
            best
        }
    };
    (
        Decision {
            best,
            accept_length: accept,
        },
        margin,
    )
}

/// Candidates drawn like real drafts: some tokens are raised under the previous position's logits.
fn draw_candidates(
    rng: &mut Rng,
    c: usize,
    l: usize,
    vocab: usize,
    boost: f64,
) -> (Vec<f32>, Vec<u32>) {
    let tokens: Vec<u32> = (0..c * l).map(|_| rng.below(vocab) as u32).collect();
    let mut logits: Vec<f32> = (0..c * l * vocab)
        .map(|_| (2.0 * rng.normal()) as f32)
        .collect();
    for ci in 0..c {
        for p in 0..l - 1 {
            if rng.unit() < 0.75 {
                let at = (ci * l + p) * vocab + tokens[ci * l + p + 1] as usize;
                logits[at] += (boost * (0.5 + rng.unit())) as f32;
            }
        }
    }
    (logits, tokens)
}

#[test]
fn decisions_match_an_f64_evaluation() {
    let simd = Simd::best();
    let mut rng = Rng(99);
    let rules = [
        Rule::Greedy,
        Rule::from_temperature(0.7),
        Rule::Typical(Typical {
            entropy: Entropy::Exact,
            ..Typical::new(1.0)
        }),
        Rule::Typical(Typical {
            posterior_threshold: 0.3,
            posterior_alpha: 0.09,
            ..Typical::new(1.3)
        }),
        Rule::Typical(Typical {
            posterior_threshold: 0.02,
            posterior_alpha: 0.5,
            entropy: Entropy::Exact,
            temperature: 0.4,
        }),
    ];
    let (mut compared, mut skipped, mut longest) = (0, 0, 0);
    for round in 0..400 {
        let rule = rules[round % rules.len()];
        let (c, l) = (1 + rng.below(12), 1 + rng.below(6));
        let vocab = [5usize, 40, 300, 2000][rng.below(4)];
        let (logits, tokens) = draw_candidates(&mut rng, c, l, vocab, 6.0);
        let (want, margin) = evaluate_f64(&logits, &tokens, c, l, vocab, &rule);
        if margin < 1e-4 {
            skipped += 1;
            continue;
        }
        let got = accept::evaluate(simd, &rule, &tokens, l, Logits::new(&logits, vocab)).unwrap();
        assert_eq!(
            got, want,
            "round {round}: {rule:?}, {c} candidates of {l}, vocab {vocab}"
        );
        compared += 1;
        longest = longest.max(want.accept_length);
    }
    assert!(
        compared >= 350 && skipped < 50,
        "{compared} compared, {skipped} skipped"
    );
    assert!(longest >= 4, "accept lengths reached {longest}");
}

#[test]
fn ties_are_broken_as_the_reference_does() {
    let simd = Simd::best();
    let vocab = 8;
    // Three candidates of length 3 (2 judged positions each): rows [c, p].
    let row = |hot: &[(usize, f32)]| {
        let mut r = vec![0.0f32; vocab];
        for &(i, v) in hot {
            r[i] = v;
        }
        r
    };
    let build = |rows: Vec<Vec<f32>>| rows.concat();
    // Greedy: candidates 1 and 2 both accept 2 tokens; the first of them wins.
    let tokens = [0, 5, 6, 0, 1, 2, 0, 1, 2];
    let logits = build(vec![
        row(&[(5, 1.0)]),
        row(&[(3, 1.0)]),
        row(&[]),
        row(&[(1, 2.0)]),
        row(&[(2, 2.0)]),
        row(&[]),
        row(&[(1, 3.0)]),
        row(&[(2, 3.0)]),
        row(&[]),
    ]);
    let d = accept::evaluate(simd, &Rule::Greedy, &tokens, 3, Logits::new(&logits, vocab)).unwrap();
    assert_eq!(
        d,
        Decision {
            best: 1,
            accept_length: 2
        }
    );
    // Typical: the same tokens; candidate 2's tokens are more likely, so it wins although it comes later.
    let typical = Rule::Typical(Typical {
        posterior_threshold: 0.05,
        ..Typical::new(1.0)
    });
    let d = accept::evaluate(simd, &typical, &tokens, 3, Logits::new(&logits, vocab)).unwrap();
    assert_eq!(
        d,
        Decision {
            best: 2,
            accept_length: 2
        }
    );
    // Equal likelihoods (identical rows): the first.
    let logits = build(vec![
        row(&[]),
        row(&[]),
        row(&[]),
        row(&[(1, 3.0)]),
        row(&[(2, 3.0)]),
        row(&[]),
        row(&[(1, 3.0)]),
        row(&[(2, 3.0)]),
        row(&[]),
    ]);
    let d = accept::evaluate(simd, &typical, &tokens, 3, Logits::new(&logits, vocab)).unwrap();
    assert_eq!(
        d,
        Decision {
            best: 1,
            accept_length: 2
        }
    );
    // Nothing accepted: candidate 0, length 0 (the reference's fallback), for both rules.
    // (A uniform row would accept every token: p = 1/8 > α·e^(−ln 8) = α/8; so the judged tokens are made
    // unlikely.)
    let low = build(
        (0..9)
            .map(|_| row(&[(1, -10.0), (2, -10.0), (5, -10.0), (6, -10.0)]))
            .collect(),
    );
    assert_eq!(
        accept::evaluate(simd, &typical, &tokens, 3, Logits::new(&low, vocab)).unwrap(),
        Decision {
            best: 0,
            accept_length: 0
        }
    );
    let flat = vec![0.0f32; 9 * vocab];
    let tokens_greedy = [0, 3, 3, 0, 4, 4, 0, 7, 7];
    assert_eq!(
        accept::evaluate(
            simd,
            &Rule::Greedy,
            &tokens_greedy,
            3,
            Logits::new(&flat, vocab)
        )
        .unwrap(),
        Decision {
            best: 0,
            accept_length: 0
        }
    );
    // A rejection stops the count even if later tokens would be accepted (cumulative product).
    let tokens = [0, 4, 5];
    let logits = build(vec![row(&[(1, 9.0)]), row(&[(5, 9.0)]), row(&[])]);
    assert_eq!(
        accept::evaluate(simd, &Rule::Greedy, &tokens, 3, Logits::new(&logits, vocab)).unwrap(),
        Decision {
            best: 0,
            accept_length: 0
        }
    );
    // The threshold is strict: p exactly at ε is rejected (uniform over 8 tokens: p = 1/8, H = ln 8).
    let uniform = vec![0.0f32; 2 * vocab];
    let at = Rule::Typical(Typical {
        posterior_threshold: 0.125,
        posterior_alpha: 100.0,
        ..Typical::new(1.0)
    });
    assert_eq!(
        accept::evaluate(simd, &at, &[0, 3], 2, Logits::new(&uniform, vocab))
            .unwrap()
            .accept_length,
        0
    );
    let below = Rule::Typical(Typical {
        posterior_threshold: 0.124,
        posterior_alpha: 100.0,
        ..Typical::new(1.0)
    });
    assert_eq!(
        accept::evaluate(simd, &below, &[0, 3], 2, Logits::new(&uniform, vocab))
            .unwrap()
            .accept_length,
        1
    );
}

#[test]
fn acceptance_errors() {
    let simd = Simd::best();
    let logits = vec![0.0f32; 6 * 10];
    let view = Logits::new(&logits, 10);
    assert_eq!(
        accept::evaluate(simd, &Rule::Greedy, &[0, 1, 2, 3, 4], 3, view),
        Err(AcceptError::BadTokens {
            expected: 3,
            got: 5
        })
    );
    assert_eq!(
        accept::evaluate(simd, &Rule::Greedy, &[0, 1], 0, view),
        Err(AcceptError::BadTokens {
            expected: 0,
            got: 2
        })
    );
    assert_eq!(
        accept::evaluate(simd, &Rule::Greedy, &[0, 1, 2, 0, 10, 2], 3, view),
        Err(AcceptError::TokenOutOfRange {
            index: 4,
            token: 10,
            vocab: 10
        })
    );
    // The first column is the base token: not judged, not checked.
    assert!(accept::evaluate(simd, &Rule::Greedy, &[99, 1, 2, 99, 1, 2], 3, view).is_ok());
    assert_eq!(
        accept::evaluate(simd, &Rule::Greedy, &[0; 9], 3, view),
        Err(AcceptError::TooFewRows { needed: 8, got: 6 })
    );
    assert_eq!(
        accept::evaluate(simd, &Rule::Greedy, &[0; 3], 3, Logits::new(&logits, 0)),
        Err(AcceptError::BadLogitsShape)
    );
    assert_eq!(
        accept::evaluate(simd, &Rule::Greedy, &[0; 3], 3, view.with_stride(5)),
        Err(AcceptError::BadLogitsShape)
    );
    let mut bad = logits.clone();
    bad[10 + 4] = f32::NAN; // row 1 judges token 2 of candidate 0
    assert_eq!(
        accept::evaluate(
            simd,
            &Rule::from_temperature(1.0),
            &[0, 4, 4],
            3,
            Logits::new(&bad, 10)
        ),
        Err(AcceptError::NonFiniteLogit { row: 1 })
    );
    // Strided rows: the padding is never read.
    let mut padded = vec![f32::NAN; 3 * 16];
    for r in 0..3 {
        padded[r * 16..r * 16 + 10].fill(0.0);
        padded[r * 16 + 1 + r] = 5.0;
    }
    let d = accept::evaluate(
        simd,
        &Rule::Greedy,
        &[0, 1, 2],
        3,
        Logits::new(&padded, 10).with_stride(16),
    )
    .unwrap();
    assert_eq!(
        d,
        Decision {
            best: 0,
            accept_length: 2
        }
    );
    for (t, e, a) in [
        (-1.0f32, 0.09, 0.3),
        (1.0, -0.1, 0.3),
        (1.0, 0.09, f32::NAN),
    ] {
        let rule = Rule::Typical(Typical {
            temperature: t,
            posterior_threshold: e,
            posterior_alpha: a,
            entropy: Entropy::Reference,
        });
        assert!(matches!(
            accept::evaluate(simd, &rule, &[0, 1, 2], 3, view),
            Err(AcceptError::BadParam(_))
        ));
    }
}

/// Node logits and tokens for a tree, with the candidate-form layout the reference gathers from them.
fn tree_problem(
    rng: &mut Rng,
    tree: &Tree,
    vocab: usize,
) -> (Vec<f32>, Vec<u32>, Vec<f32>, Vec<u32>) {
    let n = tree.len();
    // Tokens 1.. (token 0 is the reference's padding token and is made impossible below).
    let tokens: Vec<u32> = (0..n).map(|_| 1 + rng.below(vocab - 1) as u32).collect();
    let mut node_logits: Vec<f32> = (0..n * vocab)
        .map(|_| (2.0 * rng.normal()) as f32)
        .collect();
    for node in 1..n {
        let parent = tree.parents()[node] as usize;
        if rng.unit() < 0.8 {
            let boost = 7.0 * (1.0 + 0.5 * rng.unit()) / (1.0 + 0.5 * tree.ranks()[node] as f64);
            node_logits[parent * vocab + tokens[node] as usize] += boost as f32;
        }
    }
    for node in 0..n {
        node_logits[node * vocab] = -30.0;
    }
    // generate_candidates / tree_decoding: retrieve index -1 takes token 0 and the last node's logits.
    let width = tree.retrieve_width();
    let mut retrieve = vec![0i32; tree.num_leaves() * width];
    tree.retrieve_indices(&mut retrieve).unwrap();
    let mut cand_tokens = Vec::new();
    let mut cand_logits = Vec::new();
    for &r in &retrieve {
        let node = if r < 0 { n - 1 } else { r as usize };
        cand_tokens.push(if r < 0 { 0 } else { tokens[node] });
        cand_logits.extend_from_slice(&node_logits[node * vocab..(node + 1) * vocab]);
    }
    (node_logits, tokens, cand_logits, cand_tokens)
}

#[test]
fn tree_form_equals_candidate_form() {
    let simd = Simd::best();
    let mut rng = Rng(2024);
    let rules = [
        Rule::Greedy,
        Rule::from_temperature(1.0),
        Rule::Typical(Typical {
            entropy: Entropy::Exact,
            ..Typical::new(0.6)
        }),
    ];
    let mut nontrivial = 0;
    for round in 0..60 {
        let choices = if round % 3 == 0 {
            mc_sim()
        } else {
            {
                let count = 1 + rng.below(63);
                random_choices(&mut rng, count, 5, 5)
            }
        };
        let topk = if round % 3 == 0 { 10 } else { 5 };
        let tree = tree_of(&choices, topk);
        let vocab = 50 + rng.below(200);
        let (node_logits, tokens, cand_logits, cand_tokens) = tree_problem(&mut rng, &tree, vocab);
        for rule in &rules {
            let a =
                accept::evaluate_tree(simd, rule, &tree, &tokens, Logits::new(&node_logits, vocab))
                    .unwrap();
            let b = accept::evaluate(
                simd,
                rule,
                &cand_tokens,
                tree.retrieve_width(),
                Logits::new(&cand_logits, vocab),
            )
            .unwrap();
            assert_eq!(a, b, "round {round}, {rule:?}");
            let (c, want_margin) = evaluate_f64(
                &cand_logits,
                &cand_tokens,
                tree.num_leaves(),
                tree.retrieve_width(),
                vocab,
                rule,
            );
            if want_margin > 1e-4 {
                assert_eq!(a, c, "round {round}, {rule:?} vs f64");
            }
            if a.accept_length >= 2 {
                nontrivial += 1;
            }
            // The accepted path's tokens are what the candidate row holds.
            let path = tree.path(a.best).unwrap().truncate(a.accept_length + 1);
            for (j, &node) in path.as_slice().iter().enumerate() {
                assert_eq!(
                    tokens[node as usize],
                    cand_tokens[a.best * tree.retrieve_width() + j]
                );
            }
        }
    }
    assert!(nontrivial >= 40, "{nontrivial}");
    // Errors of the tree form.
    let tree = tree_of(&mc_sim(), 10);
    let logits = vec![0.0f32; 64 * 20];
    assert_eq!(
        accept::evaluate_tree(
            simd,
            &Rule::Greedy,
            &tree,
            &[1; 10],
            Logits::new(&logits, 20)
        ),
        Err(AcceptError::BadTokens {
            expected: 64,
            got: 10
        })
    );
    assert_eq!(
        accept::evaluate_tree(
            simd,
            &Rule::Greedy,
            &tree,
            &[1; 64],
            Logits::new(&logits[..20 * 63], 20)
        ),
        Err(AcceptError::TooFewRows {
            needed: 64,
            got: 63
        })
    );
    let mut tokens = vec![1u32; 64];
    tokens[9] = 20;
    assert_eq!(
        accept::evaluate_tree(
            simd,
            &Rule::Greedy,
            &tree,
            &tokens,
            Logits::new(&logits, 20)
        ),
        Err(AcceptError::TokenOutOfRange {
            index: 9,
            token: 20,
            vocab: 20
        })
    );
}

#[test]
fn golden_acceptance_cases() {
    let simd = Simd::best();
    let dir = fixture_dir().join("accept");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 5);
    for case in cases {
        let meta: Value =
            serde_json::from_str(&std::fs::read_to_string(case.join("case.json")).unwrap())
                .unwrap();
        let logits = npy::read(&case.join("logits.npy")).unwrap();
        let (shape, tokens) = npy::read_u64(&case.join("candidates.npy")).unwrap();
        let (l, vocab) = (shape[1], logits.shape[2]);
        let tokens: Vec<u32> = tokens.iter().map(|&t| t as u32).collect();
        let t = meta["temperature"].as_f64().unwrap() as f32;
        let rule = if t == 0.0 {
            Rule::Greedy
        } else {
            Rule::Typical(Typical {
                temperature: t,
                posterior_threshold: meta["posterior_threshold"].as_f64().unwrap() as f32,
                posterior_alpha: meta["posterior_alpha"].as_f64().unwrap() as f32,
                entropy: Entropy::Reference,
            })
        };
        let d =
            accept::evaluate(simd, &rule, &tokens, l, Logits::new(&logits.values, vocab)).unwrap();
        let want = Decision {
            best: meta["best_candidate"].as_u64().unwrap() as usize,
            accept_length: meta["accept_length"].as_u64().unwrap() as usize,
        };
        assert_eq!(d, want, "{}", case.display());
        assert!(want.accept_length >= 1);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Compaction

/// Checks one compaction of a `[heads, rows, dim]` cache with the given strides: moved rows bit-exact, every
/// other element untouched.
#[allow(clippy::too_many_arguments)]
fn check_compaction<T: Copy + PartialEq + std::fmt::Debug>(
    before: &[T],
    heads: usize,
    rows: usize,
    dim: usize,
    head_stride: usize,
    row_stride: usize,
    prefix: usize,
    path: &[u8],
) {
    let mut after = before.to_vec();
    let len = compact::compact(
        Rows {
            data: &mut after[..],
            heads,
            rows,
            head_dim: dim,
            row_stride,
            head_stride,
        },
        prefix,
        path,
    )
    .unwrap();
    assert_eq!(len, prefix + path.len());
    // Expected: a copy with rows prefix + j replaced by the old rows prefix + path[j].
    let mut want = before.to_vec();
    for h in 0..heads {
        for (j, &node) in path.iter().enumerate() {
            let src = h * head_stride + (prefix + node as usize) * row_stride;
            let dst = h * head_stride + (prefix + j) * row_stride;
            want[dst..dst + dim].copy_from_slice(&before[src..src + dim]);
        }
    }
    assert_eq!(after, want, "prefix {prefix}, path {path:?}");
}

#[test]
fn compaction_moves_the_accepted_rows_only() {
    let mut rng = Rng(5);
    let tree = tree_of(&mc_sim(), 10);
    let n = tree.len();
    for round in 0..200 {
        let leaf = rng.below(tree.num_leaves());
        let full = tree.path(leaf).unwrap();
        let path = full.truncate(1 + rng.below(full.len()));
        let path = path.as_slice();
        let (heads, dim, prefix) = (1 + rng.below(4), 1 + rng.below(9), rng.below(40));
        let rows = prefix + n + rng.below(5);
        let fill = |rng: &mut Rng, len: usize| -> Vec<f32> {
            (0..len).map(|_| rng.normal() as f32).collect()
        };
        match round % 4 {
            // [heads, rows, dim] with a cache capacity beyond the used rows.
            0 => {
                let data = fill(&mut rng, heads * rows * dim);
                check_compaction(&data, heads, rows, dim, rows * dim, dim, prefix, path);
            }
            // Token-major [rows, heads, dim].
            1 => {
                let data = fill(&mut rng, heads * rows * dim);
                check_compaction(&data, heads, rows, dim, dim, heads * dim, prefix, path);
            }
            // Padded rows and heads; f16 elements (bit patterns compared exactly).
            2 => {
                let (rs, hs) = (dim + 3, rows * (dim + 3) + 5);
                let data: Vec<f16> = fill(&mut rng, heads * hs)
                    .iter()
                    .map(|&x| f16::from_f32(x))
                    .collect();
                check_compaction(&data, heads, rows, dim, hs, rs, prefix, path);
            }
            // bf16, NaN payloads included (compared as bits).
            _ => {
                let data: Vec<u16> = (0..heads * rows * dim).map(|_| rng.next() as u16).collect();
                check_compaction(&data, heads, rows, dim, rows * dim, dim, prefix, path);
                let as_bf16: Vec<bf16> = data.iter().map(|&b| bf16::from_bits(b)).collect();
                let mut moved = as_bf16.clone();
                compact::compact_tensor(
                    TensorMut::new(&mut moved[..], heads, rows, dim),
                    prefix,
                    path,
                )
                .unwrap();
                let mut bits = data.clone();
                compact::compact(Rows::new(&mut bits[..], heads, rows, dim), prefix, path).unwrap();
                assert!(moved.iter().zip(&bits).all(|(a, &b)| a.to_bits() == b));
            }
        }
    }
}

#[test]
fn compaction_rejects_unsafe_requests_without_writing() {
    let base: Vec<f32> = (0..2 * 20 * 3).map(|i| i as f32).collect();
    let run = |path: &[u8],
               prefix: usize,
               heads: usize,
               rows: usize,
               hs: usize,
               rs: usize,
               len: usize| {
        let mut data = base[..len].to_vec();
        let r = compact::compact(
            Rows {
                data: &mut data[..],
                heads,
                rows,
                head_dim: 3,
                row_stride: rs,
                head_stride: hs,
            },
            prefix,
            path,
        );
        assert_eq!(data, &base[..len], "{path:?}: written");
        r
    };
    assert_eq!(
        run(&[0, 3, 3], 2, 2, 20, 60, 3, 120),
        Err(CompactError::NotIncreasing { at: 2 })
    );
    assert_eq!(
        run(&[0, 5, 2], 2, 2, 20, 60, 3, 120),
        Err(CompactError::NotIncreasing { at: 2 })
    );
    assert_eq!(
        run(&[0, 1, 18], 2, 2, 20, 60, 3, 120),
        Err(CompactError::RowOutOfRange { row: 20, rows: 20 })
    );
    assert_eq!(
        run(&[0, 1, 4], 2, 2, 20, 60, 3, 119),
        Err(CompactError::TooShort {
            needed: 120,
            got: 119
        })
    );
    assert_eq!(
        run(&[0, 1, 4], 2, 2, 20, 30, 3, 120),
        Err(CompactError::Overlap)
    );
    assert_eq!(
        run(&[0, 1, 4], 2, 1, 20, 60, 2, 120),
        Err(CompactError::Overlap)
    );
    // An empty path or an identity path moves nothing.
    assert_eq!(run(&[], 2, 2, 20, 60, 3, 120), Ok(2));
    assert_eq!(run(&[0, 1, 2], 2, 2, 20, 60, 3, 120), Ok(5));
}
