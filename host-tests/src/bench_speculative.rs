//! Speculative-decoding benchmark: the time of one Medusa verification step for a 64-node tree
//! (`mc_sim_7b_63`) over a 1 Ki prefix — tree-masked attention of the 64 tree queries over 1024 + 64 keys
//! (32 query heads, 8 key/value heads, d 128, f32) and acceptance over a 32000-token vocabulary — measured
//! through the no_std core in one run.
//!
//! Acceptance inputs are synthetic and deterministic: pseudo-random logits in `[−4, 4)` per tree node, in which
//! every drafted token is raised to a logit of 6 under its parent, so that the typical rule accepts every node
//! and reads the logits row of every node that has children (the step's worst case); the greedy rule then
//! follows one chain (only one child per parent can be the argmax).

use std::fmt::Write;
use std::hint::black_box;

use emkern::attention::{self, Params, Qkv, Tensor, TensorMut};
use emkern::speculative::accept::{self, Entropy, Logits, Rule, Typical};
use emkern::speculative::{Choices, Tree, TreeConfig, verify};
use emkern_simd::Simd;

use crate::bench::{Timing, pseudo_random, seconds_per_call};
use crate::speculative::choices::MC_SIM_7B_63;

/// Keys before the tree.
const PREFIX: usize = 1024;
/// Query heads, key/value heads, head dimension.
const HEADS_Q: usize = 32;
const HEADS_KV: usize = 8;
const D: usize = 128;
/// Vocabulary of the acceptance step.
const VOCAB: usize = 32000;

/// The step's timings, in seconds per call.
#[derive(Clone, Copy, Debug)]
pub struct StepTimes {
    /// Tree-masked attention of the tree queries over prefix + tree keys (one layer).
    pub attention: f64,
    /// Greedy acceptance.
    pub greedy: f64,
    /// Typical acceptance with the reference's entropy.
    pub typical_reference: f64,
    /// Typical acceptance with the exact (single-pass) entropy.
    pub typical_exact: f64,
    /// Logits rows the typical rule read (nodes with children).
    pub rows_judged: usize,
}

/// Measures one verification step at `simd`'s level.
pub fn measure(simd: Simd, timing: Timing) -> StepTimes {
    let tree = Tree::new(Choices::Paths(&MC_SIM_7B_63), TreeConfig::DEFAULT)
        .expect("mc_sim_7b_63 is a valid tree");
    let n = tree.len();
    let len_kv = PREFIX + n;

    let q = pseudo_random(HEADS_Q * n * D, 11);
    let k = pseudo_random(HEADS_KV * len_kv * D, 12);
    let v = pseudo_random(HEADS_KV * len_kv * D, 13);
    let qkv = Qkv {
        q: Tensor::new(&q[..], HEADS_Q, n, D),
        k: Tensor::new(&k[..], HEADS_KV, len_kv, D),
        v: Tensor::new(&v[..], HEADS_KV, len_kv, D),
    };
    let base = Params::for_level(simd.level());
    let mut scratch = vec![0.0f32; attention::scratch_len(qkv.dims(), qkv.dtypes(), base.tiles)];
    let mut out = vec![0.0f32; HEADS_Q * n * D];
    let attention = seconds_per_call(timing, || {
        let r = verify::attend(
            simd,
            &tree,
            &base,
            &qkv,
            TensorMut::new(&mut out[..], HEADS_Q, n, D),
            None,
            &mut scratch,
        );
        black_box((&r, &mut out));
    });

    // Tokens: distinct ids per node; logits: noise in [-4, 4), each child's token at 6 under its parent.
    let tokens: Vec<u32> = (0..n as u32).map(|i| 100 + 37 * i).collect();
    let mut logits: Vec<f32> = pseudo_random(n * VOCAB, 14)
        .iter()
        .map(|x| 4.0 * x)
        .collect();
    for (node, &parent) in tree.parents().iter().enumerate().skip(1) {
        logits[parent as usize * VOCAB + tokens[node] as usize] = 6.0;
    }
    let view = Logits::new(&logits, VOCAB);
    let time_rule = |rule: Rule| {
        seconds_per_call(timing, || {
            black_box(accept::evaluate_tree(simd, &rule, &tree, &tokens, view)).ok();
        })
    };
    let typical = |entropy| {
        Rule::Typical(Typical {
            entropy,
            ..Typical::new(1.0)
        })
    };
    let rows_judged = tree
        .parents()
        .iter()
        .skip(1)
        .map(|&p| p as usize)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    StepTimes {
        attention,
        greedy: time_rule(Rule::Greedy),
        typical_reference: time_rule(typical(Entropy::Reference)),
        typical_exact: time_rule(typical(Entropy::Exact)),
        rows_judged,
    }
}

/// The benchmark's table, as text. `quick` uses short samples (a smoke test of the benchmark).
pub fn report(quick: bool) -> String {
    let timing = Timing::new(quick);
    let simd = Simd::best();
    let t = measure(simd, timing);
    // Dense-equivalent work of the attention: every tree query against every prefix key and its ancestors.
    let tree = Tree::new(Choices::Paths(&MC_SIM_7B_63), TreeConfig::DEFAULT)
        .expect("mc_sim_7b_63 is a valid tree");
    let pairs: usize = tree
        .ancestors()
        .iter()
        .map(|a| PREFIX + a.count_ones() as usize)
        .sum();
    let flops = (HEADS_Q * pairs * 2 * (D + D)) as f64;
    let us = |s: f64| s * 1e6;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Medusa verification step time for a {}-node tree (mc_sim_7b_63) over a 1 Ki prefix, one core, level {}",
        tree.len(),
        simd.level()
    );
    let _ = writeln!(
        s,
        "  attention   {HEADS_Q} query / {HEADS_KV} KV heads, d {D}, f32, {} queries x {} keys   {:>9.1} us  ({:.1} GFLOP/s on visible pairs)",
        tree.len(),
        PREFIX + tree.len(),
        us(t.attention),
        flops / t.attention / 1e9
    );
    let _ = writeln!(
        s,
        "  acceptance  vocab {VOCAB}, greedy                                       {:>9.1} us",
        us(t.greedy)
    );
    let _ = writeln!(
        s,
        "  acceptance  vocab {VOCAB}, typical, reference entropy ({:>2} rows judged)  {:>9.1} us",
        t.rows_judged,
        us(t.typical_reference)
    );
    let _ = writeln!(
        s,
        "  acceptance  vocab {VOCAB}, typical, exact entropy ({:>2} rows judged)      {:>9.1} us",
        t.rows_judged,
        us(t.typical_exact)
    );
    let _ = writeln!(
        s,
        "  step        attention (one layer) + typical acceptance (reference)     {:>9.1} us",
        us(t.attention + t.typical_reference)
    );
    s
}
