//! Speculative decoding with arguments from the input (`arbitrary`): draft trees from path or flat choices
//! (`Tree::new` and every accessor, `path`/`path_to`/`truncate`, `retrieve_row`, `retrieve_indices`, `gather`),
//! verification (`verify::positions`, `verify::params`, `verify::attend` on a fuzzed attention case), acceptance
//! (`evaluate`, `evaluate_tree`, `argmax`, `Softmax::scan` and its methods, `ln_unit`, every rule) and KV-cache
//! compaction (`compact` on f32 and u16 rows, `compact_tensor`), at every SIMD level.
//!
//! Checks: nothing panics or reads out of bounds; compaction that returns an error moves nothing.

use arbitrary::{Arbitrary, Unstructured};
use emkern::attention::{Params, TensorMut};
use emkern::rope::apply::Rows;
use emkern::simd::Simd;
use emkern::speculative::accept::{self, Entropy, Logits, Rule, Softmax, Typical};
use emkern::speculative::{Choices, Tree, TreeConfig, compact, verify};

use super::attention::{Case, Len};

#[derive(Arbitrary, Debug)]
enum ChoicesCase {
    Paths(Vec<Vec<u16>>),
    Flat {
        values: Vec<u16>,
        lengths: Vec<u8>,
    },
    /// Every path up to `depth` with entries below `width` (a full tree, often valid).
    Full {
        width: u8,
        depth: u8,
    },
}

#[derive(Arbitrary, Debug)]
struct RuleCase {
    typical: bool,
    temperature: f32,
    threshold: f32,
    alpha: f32,
    exact_entropy: bool,
}

#[derive(Arbitrary, Debug)]
struct LogitsCase {
    vocab: u8,
    stride_extra: u8,
    len: Len,
    values: Vec<f32>,
}

#[derive(Arbitrary, Debug)]
struct CompactCase {
    heads: u8,
    rows: u8,
    dim: u8,
    row_stride: Option<u8>,
    head_stride: Option<u8>,
    len: Len,
    prefix: u8,
    path: Vec<u8>,
    tensor: bool,
}

#[derive(Arbitrary, Debug)]
struct SpecCase {
    choices: ChoicesCase,
    topk: u16,
    max_depth: u8,
    rule: RuleCase,
    logits: LogitsCase,
    tokens: Vec<u32>,
    candidate_len: u8,
    prefix: u64,
    out_len: Len,
    compact: CompactCase,
    attention: Option<Case>,
}

/// Runs one input.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(c) = SpecCase::arbitrary(&mut u) else {
        return;
    };
    if std::env::var_os("EMKERN_FUZZ_DEBUG").is_some() {
        eprintln!("{c:#?}");
    }
    let rule = if c.rule.typical {
        Rule::Typical(Typical {
            temperature: c.rule.temperature,
            posterior_threshold: c.rule.threshold,
            posterior_alpha: c.rule.alpha,
            entropy: if c.rule.exact_entropy {
                Entropy::Exact
            } else {
                Entropy::Reference
            },
        })
    } else {
        Rule::from_temperature(c.rule.temperature)
    };
    let vocab = c.logits.vocab as usize % 40;
    let stride = vocab + c.logits.stride_extra as usize % 3;
    let values: Vec<f32> = (0..c.logits.len.of(Some(stride * 12)))
        .map(|i| {
            c.logits
                .values
                .get(i % c.logits.values.len().max(1))
                .copied()
                .unwrap_or((i % 11) as f32 * 0.7 - 2.0)
        })
        .collect();
    let logits = Logits::new(&values, vocab).with_stride(stride);
    std::hint::black_box((logits.rows(), logits.row(0), logits.row(usize::MAX)));

    for simd in Simd::available() {
        let _ = accept::evaluate(simd, &rule, &c.tokens, c.candidate_len as usize % 8, logits);
        if let Some(row) = logits.row(0) {
            let _ = accept::argmax(simd, row, 0);
            if let Ok(sm) = Softmax::scan(simd, row, c.rule.temperature, 0) {
                let x = row.first().copied().unwrap_or(0.0);
                std::hint::black_box((
                    sm.max(),
                    sm.log_prob(x),
                    sm.prob(x),
                    sm.log_partition(),
                    sm.entropy(),
                ));
                std::hint::black_box(sm.reference_entropy(simd, row));
                std::hint::black_box(sm.threshold(simd, row, &Typical::new(c.rule.temperature)));
            }
        }
    }
    std::hint::black_box(accept::ln_unit(c.rule.threshold));

    let tree = match &c.choices {
        ChoicesCase::Paths(p) => {
            let paths: Vec<&[u16]> = p.iter().map(Vec::as_slice).collect();
            Tree::new(
                Choices::Paths(&paths),
                TreeConfig::new(c.topk, c.max_depth as usize),
            )
        }
        ChoicesCase::Flat { values, lengths } => Tree::new(
            Choices::Flat { values, lengths },
            TreeConfig::new(c.topk, c.max_depth as usize),
        ),
        ChoicesCase::Full { width, depth } => {
            let (w, d) = (*width as u16 % 4 + 1, *depth as usize % 4 + 1);
            let mut paths: Vec<Vec<u16>> = vec![vec![]];
            let mut all = Vec::new();
            for _ in 0..d {
                paths = paths
                    .iter()
                    .flat_map(|p| (0..w).map(move |k| [p.as_slice(), &[k]].concat()))
                    .collect();
                all.extend(paths.iter().cloned());
            }
            let refs: Vec<&[u16]> = all.iter().map(Vec::as_slice).collect();
            Tree::new(
                Choices::Paths(&refs),
                TreeConfig::new(c.topk, c.max_depth as usize),
            )
        }
    };
    if let Ok(tree) = tree {
        use_tree(&tree, &c, &rule, logits);
    }
    compact_case(&c.compact);
}

fn use_tree(tree: &Tree, c: &SpecCase, rule: &Rule, logits: Logits<'_>) {
    let n = tree.len();
    std::hint::black_box((
        tree.is_empty(),
        tree.depth(),
        tree.topk(),
        tree.ancestors(),
        tree.mask(),
        tree.parents(),
        tree.depths(),
        tree.ranks(),
        tree.tree_indices(),
        tree.leaves(),
        tree.num_leaves(),
        tree.retrieve_width(),
    ));
    for i in [0, 1, n / 2, n.saturating_sub(1), n, n + 1, usize::MAX] {
        std::hint::black_box(tree.choice(i));
        if let Some(p) = tree.path_to(i) {
            let len = p.len();
            std::hint::black_box((p.as_slice(), p.is_empty(), p.truncate(len / 2)));
        }
        if let Some(p) = tree.path(i) {
            std::hint::black_box(p.truncate(i).as_slice());
        }
        let mut row = vec![0i32; c.out_len.of(Some(tree.retrieve_width()))];
        let _ = tree.retrieve_row(i, &mut row);
    }
    let mut all = vec![
        0i32;
        c.out_len
            .of(tree.num_leaves().checked_mul(tree.retrieve_width()))
    ];
    let _ = tree.retrieve_indices(&mut all);
    let candidates: Vec<u32> = (0..c.out_len.of(Some(1 + tree.depth() * tree.topk() as usize)))
        .map(|i| i as u32)
        .collect();
    let mut gathered = vec![0u32; n];
    let _ = tree.gather(&candidates, &mut gathered);
    let mut positions = vec![0usize; c.out_len.of(Some(n))];
    let _ = verify::positions(tree, c.prefix as usize, &mut positions);
    let tokens: Vec<u32> = (0..n)
        .map(|i| c.tokens.get(i).copied().unwrap_or(i as u32))
        .collect();
    for simd in Simd::available() {
        let _ = accept::evaluate_tree(simd, rule, tree, &tokens, logits);
        let _ = accept::evaluate_tree(simd, rule, tree, &c.tokens, logits);
    }
    if let Some(case) = &c.attention {
        let mut b = super::attention::Built::new(case);
        let [hq, _, lq, _, _, dv] = b.dims;
        let (os, or) = (b.out.1, b.out.2);
        let base = Params::new();
        std::hint::black_box(verify::params(&base, tree));
        let qkv = b.qkv();
        let mut out = b.out.0.clone();
        let before = out.clone();
        let mut lse = b.lse.clone();
        let mut scratch = b.scratch.clone();
        for simd in Simd::available() {
            let r = verify::attend(
                simd,
                tree,
                &base,
                &qkv,
                TensorMut::new(out.data_mut(), hq, lq, dv).with_strides(os, or),
                lse.as_deref_mut(),
                &mut scratch,
            );
            if r.is_err() {
                assert_eq!(
                    out, before,
                    "verify::attend wrote the output and returned {r:?}"
                );
            }
        }
        b.scratch.clear();
    }
}

fn compact_case(c: &CompactCase) {
    let (heads, rows, dim) = (
        c.heads as usize % 5,
        c.rows as usize % 40,
        c.dim as usize % 12,
    );
    let rs = c.row_stride.map_or(dim, |s| s as usize);
    let hs = c.head_stride.map_or(rows * dim, |s| s as usize * 4);
    let len = c.len.of(super::attention::extent(heads, rows, dim, hs, rs));
    let prefix = c.prefix as usize % 40;
    let path = &c.path[..c.path.len().min(70)];
    let mut data: Vec<f32> = (0..len).map(|i| i as f32).collect();
    let before = data.clone();
    let r = if c.tensor {
        compact::compact_tensor(
            TensorMut::new(&mut data[..], heads, rows, dim).with_strides(hs, rs),
            prefix,
            path,
        )
    } else {
        compact::compact(
            Rows {
                data: &mut data,
                heads,
                rows,
                head_dim: dim,
                row_stride: rs,
                head_stride: hs,
            },
            prefix,
            path,
        )
    };
    if r.is_err() {
        assert_eq!(data, before, "compact moved rows and returned {r:?}");
    }
    let mut small: Vec<u16> = (0..len).map(|i| i as u16).collect();
    let _ = compact::compact(
        Rows {
            data: &mut small,
            heads,
            rows,
            head_dim: dim,
            row_stride: rs,
            head_stride: hs,
        },
        prefix,
        path,
    );
}
