//! `emkern::speculative`: trees from both choice forms and every accessor, gathering and retrieve indices,
//! verification positions, parameters and attention, acceptance (both entry points, every rule, the softmax
//! summary and its helpers) and KV-cache compaction (generic rows and attention-style tensors).

use emkern::attention::{Params, Qkv, Tensor, TensorMut};
use emkern::rope::apply::Rows;
use emkern::simd::Simd;
use emkern::speculative::accept::{self, Entropy, Logits, Rule, Softmax, Typical};
use emkern::speculative::{Choices, Tree, TreeConfig, compact, verify};

use crate::{keep, o};

fn use_tree(simd: Simd, tree: &Tree) {
    keep((
        tree.len(),
        tree.is_empty(),
        tree.depth(),
        tree.topk(),
        tree.ancestors(),
        tree.mask(),
    ));
    keep((
        tree.parents(),
        tree.depths(),
        tree.ranks(),
        tree.tree_indices(),
        tree.leaves(),
    ));
    keep((tree.num_leaves(), tree.retrieve_width(), tree.choice(o(3))));
    if let Some(p) = tree.path_to(o(4)) {
        keep((p.len(), p.is_empty(), p.as_slice()));
    }
    if let Some(p) = tree.path(o(0)) {
        keep(p.truncate(o(2)).as_slice());
    }
    let mut row = [0i32; 8];
    keep(tree.retrieve_row(o(1), o(&mut row[..])));
    let mut all = [0i32; 64];
    keep(tree.retrieve_indices(o(&mut all[..])));
    let candidates = [7u32, 11, 12, 21, 22];
    let mut tokens = [0u32; 5];
    keep(tree.gather(o(&candidates[..]), o(&mut tokens[..])));
    let mut pos = [0usize; 8];
    keep(verify::positions(tree, o(3), o(&mut pos[..])).map(|p| p.len()));
    let base = o(Params::new());
    keep(verify::params(&base, tree).mask.causal);

    let vocab = 16;
    let mut logits = [0.0f32; 8 * 16];
    if let Some(x) = logits.get_mut(o(11)) {
        *x = 5.0;
    }
    let l = o(Logits::new(&logits, vocab).with_stride(o(vocab)));
    keep((l.rows(), l.row(o(2))));
    let typical = Typical {
        temperature: 0.7,
        posterior_threshold: 0.09,
        posterior_alpha: 0.3,
        entropy: Entropy::Exact,
    };
    for rule in [
        Rule::Greedy,
        Rule::Typical(typical),
        Rule::from_temperature(o(0.5)),
        Rule::Typical(Typical::new(o(1.0))),
    ] {
        let rule = o(rule);
        keep(accept::evaluate_tree(simd, &rule, tree, o(&tokens[..]), l));
        keep(accept::evaluate(simd, &rule, o(&tokens[..]), o(5), l));
    }
    keep(accept::argmax(simd, o(&logits[..vocab]), o(0)));
    if let Ok(s) = Softmax::scan(simd, o(&logits[..vocab]), o(0.8), o(0)) {
        keep((
            s.max(),
            s.log_prob(o(1.0)),
            s.prob(o(2.0)),
            s.log_partition(),
            s.entropy(),
        ));
        keep(s.reference_entropy(simd, o(&logits[..vocab])));
        keep(s.threshold(simd, o(&logits[..vocab]), &o(typical)));
    }
    keep(accept::ln_unit(o(0.3)));

    // Verification attention over a 3-token prefix and the tree (1 head, d = 2).
    let n = tree.len();
    let q = [0.5f32; 8 * 2];
    let kv = [0.25f32; 16 * 2];
    let x = o(Qkv {
        q: Tensor::new(&q[..], 1, n, 2),
        k: Tensor::new(&kv[..], 1, 3 + n, 2),
        v: Tensor::new(&kv[..], 1, 3 + n, 2),
    });
    let mut out = [0.0f32; 16];
    let mut scratch = [0.0f32; 256];
    keep(verify::attend(
        simd,
        tree,
        &base,
        &x,
        TensorMut::new(o(&mut out[..]), 1, n, 2),
        None,
        o(&mut scratch[..]),
    ));
}

/// Runs every call.
pub fn run() {
    let simd = o(Simd::best());
    let paths: [&[u16]; 4] = [&[0], &[1], &[0, 0], &[0, 1]];
    if let Ok(tree) = Tree::new(Choices::Paths(o(&paths[..])), o(TreeConfig::new(2, 2))) {
        use_tree(simd, &tree);
    }
    let values = [0u16, 1, 0, 0, 0, 1];
    let lengths = [1u8, 1, 2, 2];
    let choices = Choices::Flat {
        values: &values,
        lengths: &lengths,
    };
    keep((choices.len(), choices.is_empty()));
    if let Ok(tree) = Tree::new(o(choices), o(TreeConfig::default())) {
        use_tree(simd, &tree);
    }
    keep(TreeConfig::DEFAULT);

    let mut cache = [0.0f32; 2 * 10 * 4];
    let path = [0u8, 1, 4];
    let rows = Rows {
        data: o(&mut cache[..]),
        heads: o(2),
        rows: o(10),
        head_dim: o(4),
        row_stride: o(4),
        head_stride: o(40),
    };
    keep(compact::compact(rows, o(3), o(&path[..])));
    let mut small = [0u8; 64];
    keep(compact::compact(
        Rows::new(o(&mut small[..]), 2, 8, 4),
        o(1),
        o(&path[..]),
    ));
    let t = TensorMut::new(o(&mut cache[..]), 2, 10, 4).with_strides(o(40), o(4));
    keep(compact::compact_tensor(t, o(3), o(&path[..])));
}
