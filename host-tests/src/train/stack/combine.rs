//! A linear meta-model over additive tree ensembles, rewritten as one additive tree ensemble.
//!
//! Base model `b`'s raw margin is linear in its leaves: `m_b = β_b + (Σ_t w_t · leaf_t(x)) / d_b` (base margin
//! `β_b`, tree weights `w_t`, divisor `d_b` of [`Aggregate::Mean`], 1 for [`Aggregate::Sum`]). The meta-model reads
//! `z_b = P_b · m_b` (a fixed map that picks or scales margin columns, see [`StackBase::map`]) and computes the
//! margin `η = c + Σ_b W_b · z_b`. Substituting:
//!
//! `η = [c + Σ_b A_b β_b] + Σ_b Σ_t A_b · (w_t / d_b) · leaf_t(x)`,  with `A_b = W_b P_b`,
//!
//! so the stack is the base models' trees, unchanged in shape, with each leaf replaced by the linear image of
//! its value: a scalar leaf of margin column `k` becomes `A_b[:, k] · v · w_t / d_b`, a vector leaf `v` becomes
//! `A_b · v · w_t / d_b`; the new base margin is `c + Σ_b A_b β_b`; the trees are summed ([`Aggregate::Sum`],
//! weights 1); the meta-model's link is the transform (sigmoid, softmax, identity). With one meta margin every
//! tree keeps scalar leaves; with several every tree gets vector leaves (the blob does not mix the two).
//!
//! Leaves are f64 ([`Precision::F64`]), so the core evaluates the stack with f64 sums. Base models that compare
//! differently (scikit-learn's `x ≤ t`, XGBoost's `x < t`) are put on `x ≤ t`: for an f32 input `x`,
//! `x < t ⇔ x ≤ t′` with `t′` the largest f32 below the smallest f32 `≥ t`, exactly.

use crate::export::blob::f32_round_up;
use crate::ir::{Aggregate, Compare, Ensemble, Node, Precision, Test, Transform, Tree};

use super::meta::{LinearMeta, Link};

/// A base model inside a stack: its exported form and how the meta-model reads its margins.
#[derive(Clone, Debug, PartialEq)]
pub struct StackBase {
    /// A name for reports (`rf`, `hist-gbdt`, …).
    pub name: String,
    /// The base model as the IR (any transform: the stack reads its raw margin).
    pub ensemble: Ensemble,
    /// `P_b`: one row per meta input, one column per margin column of `ensemble`.
    pub map: Vec<Vec<f64>>,
    /// A label for every meta input (`p(1)`, `margin 2`, …), for reports.
    pub inputs: Vec<String>,
}

impl StackBase {
    /// The meta inputs this base contributes for `row`, from the IR's f64 reference margins.
    pub fn inputs_for(&self, row: &[f32]) -> Vec<f64> {
        let m = self.ensemble.margin_reference(row);
        self.apply_map(&m)
    }

    /// `P_b · margin`.
    pub fn apply_map(&self, margin: &[f64]) -> Vec<f64> {
        self.map
            .iter()
            .map(|r| r.iter().zip(margin).map(|(a, b)| a * b).sum())
            .collect()
    }
}

/// Every base's meta inputs for `row`, concatenated in base order.
pub fn meta_inputs(bases: &[StackBase], row: &[f32]) -> Vec<f64> {
    bases.iter().flat_map(|b| b.inputs_for(row)).collect()
}

/// The stacked model's f64 prediction for `row` straight from its parts (the reference the exported model must
/// match).
pub fn predict_reference(bases: &[StackBase], meta: &LinearMeta, row: &[f32]) -> Vec<f64> {
    meta.predict(&meta_inputs(bases, row))
}

/// The largest f32 strictly below `x` (`x` finite or `+∞`).
fn f32_below(x: f32) -> f32 {
    if x.is_nan() || x == f32::NEG_INFINITY {
        return x;
    }
    x.next_down()
}

/// The threshold `t′` with `x ≤ t′ ⇔ x < t` for every f32 `x` (`t` not NaN).
pub fn less_as_less_equal(t: f64) -> f64 {
    f32_below(f32_round_up(t)) as f64
}

pub use crate::export::blob::less_equal_as_less;

/// Multiplies every leaf value by `a`; linear leaves scale their constant, coefficients and missing value.
fn scale_scalar_tree(tree: &Tree, a: f64) -> Tree {
    let mut t = tree.clone();
    for node in &mut t.nodes {
        match node {
            Node::Leaf(v) => v.iter_mut().for_each(|x| *x *= a),
            Node::LinearLeaf(l) => {
                l.value *= a;
                l.constant *= a;
                l.terms.iter_mut().for_each(|(_, c)| *c *= a);
            }
            Node::Split(_) => {}
        }
    }
    t.weight = 1.0;
    t
}

/// Builds the stacked ensemble from the bases and the fitted meta-model (see the module documentation).
pub fn combine(
    bases: &[StackBase],
    meta: &LinearMeta,
    feature_names: Option<Vec<String>>,
    source: &str,
) -> Result<Ensemble, String> {
    let first = bases
        .first()
        .ok_or("a stack needs at least one base model")?;
    let n_features = first.ensemble.n_features;
    let n_inputs: usize = bases.iter().map(|b| b.map.len()).sum();
    let n_out = meta.coef.len();
    if meta.intercept.len() != n_out || meta.coef.iter().any(|w| w.len() != n_inputs) {
        return Err(format!(
            "the meta-model has {} margins × {:?} inputs; the bases give {n_inputs} inputs",
            n_out,
            meta.coef.iter().map(Vec::len).collect::<Vec<_>>()
        ));
    }
    let compare = if bases
        .iter()
        .all(|b| b.ensemble.compare == first.ensemble.compare)
    {
        first.ensemble.compare
    } else {
        Compare::LessEqual
    };
    let mut base_margin = meta.intercept.clone();
    let mut trees = Vec::new();
    let mut offset = 0;
    for b in bases {
        let e = &b.ensemble;
        let k_b = e.n_outputs as usize;
        if e.n_features != n_features {
            return Err(format!(
                "base {} reads {} features, the first base {n_features}",
                b.name, e.n_features
            ));
        }
        if b.map.iter().any(|r| r.len() != k_b) || e.base_margin.len() != k_b {
            return Err(format!(
                "base {}: its input map does not match its {k_b} margin columns",
                b.name
            ));
        }
        // A_b = W_b · P_b: n_out × k_b.
        let a: Vec<Vec<f64>> = (0..n_out)
            .map(|o| {
                (0..k_b)
                    .map(|k| {
                        b.map
                            .iter()
                            .enumerate()
                            .map(|(j, row)| meta.coef[o][offset + j] * row[k])
                            .sum()
                    })
                    .collect()
            })
            .collect();
        offset += b.map.len();
        for (o, bm) in base_margin.iter_mut().enumerate() {
            *bm += a[o]
                .iter()
                .zip(&e.base_margin)
                .map(|(x, y)| x * y)
                .sum::<f64>();
        }
        let div = match e.aggregate {
            Aggregate::Sum => 1.0,
            Aggregate::Mean { divisor } => divisor,
            Aggregate::WeightedMedian { .. } => {
                return Err(format!(
                    "base {}: a weighted median is not linear in the leaves",
                    b.name
                ));
            }
        };
        for (t, tree) in e.trees.iter().enumerate() {
            let s = tree.weight as f64 / div;
            let mut out = match tree.output {
                Some(k) => {
                    let k = k as usize;
                    if k >= k_b {
                        return Err(format!("base {}, tree {t}: output {k} ≥ {k_b}", b.name));
                    }
                    let column: Vec<f64> = a.iter().map(|r| r[k] * s).collect();
                    if column.iter().all(|&c| c == 0.0) {
                        continue;
                    }
                    if n_out == 1 {
                        let mut nt = scale_scalar_tree(tree, column[0]);
                        nt.output = Some(0);
                        nt
                    } else {
                        let mut nt = tree.clone();
                        for (i, node) in nt.nodes.iter_mut().enumerate() {
                            match node {
                                Node::Leaf(v) => {
                                    let x = v[0];
                                    *v = column.iter().map(|c| c * x).collect();
                                }
                                Node::LinearLeaf(_) => {
                                    return Err(format!(
                                        "base {}, tree {t}, node {i}: a linear leaf cannot feed several \
                                         meta margins (vector leaves are constants)",
                                        b.name
                                    ));
                                }
                                Node::Split(_) => {}
                            }
                        }
                        nt.output = None;
                        nt.weight = 1.0;
                        nt
                    }
                }
                None => {
                    let mut nt = tree.clone();
                    for (i, node) in nt.nodes.iter_mut().enumerate() {
                        match node {
                            Node::Leaf(v) => {
                                if v.len() != k_b {
                                    return Err(format!(
                                        "base {}, tree {t}, leaf {i}: {} values for {k_b} margins",
                                        b.name,
                                        v.len()
                                    ));
                                }
                                *v = a
                                    .iter()
                                    .map(|r| {
                                        s * r.iter().zip(v.iter()).map(|(x, y)| x * y).sum::<f64>()
                                    })
                                    .collect();
                            }
                            Node::LinearLeaf(_) => {
                                return Err(format!(
                                    "base {}, tree {t}, node {i}: a linear leaf in a vector-leaf tree",
                                    b.name
                                ));
                            }
                            Node::Split(_) => {}
                        }
                    }
                    // With one meta margin the images are one value long: scalar leaves of margin 0.
                    nt.output = (n_out == 1).then_some(0);
                    nt.weight = 1.0;
                    nt
                }
            };
            if e.compare != compare {
                // Only Less → LessEqual happens (mixed comparisons are put on ≤).
                for node in &mut out.nodes {
                    if let Node::Split(sp) = node
                        && let Test::Numeric(th) = &mut sp.test
                    {
                        *th = less_as_less_equal(*th);
                    }
                }
            }
            trees.push(out);
        }
    }
    let transform = match meta.link {
        Link::Identity => Transform::Identity,
        Link::Sigmoid => Transform::Sigmoid,
        Link::Softmax => Transform::Softmax,
    };
    Ok(Ensemble {
        n_features,
        n_outputs: n_out as u32,
        trees,
        base_margin,
        compare,
        aggregate: Aggregate::Sum,
        transform,
        precision: Precision::F64,
        feature_names,
        source: source.to_string(),
        input_f64: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{MissingMode, Split};

    #[test]
    fn thresholds_convert_between_less_and_less_equal_exactly() {
        let ts = [
            0.1f64,
            -0.1,
            0.0,
            -0.0,
            1.0,
            1.5e-40,
            3.0000001,
            f32::MAX as f64,
            1e39,
            -1e39,
            2.5,
            f32::MIN_POSITIVE as f64,
        ];
        for &t in &ts {
            let t2 = less_as_less_equal(t);
            let c = t as f32;
            let mut probes = vec![
                c,
                c.next_up(),
                c.next_down(),
                c.next_up().next_up(),
                c.next_down().next_down(),
                0.0,
                -0.0,
                f32::INFINITY,
                f32::NEG_INFINITY,
            ];
            probes.retain(|x| !x.is_nan());
            let t3 = less_equal_as_less(t);
            for x in probes {
                assert_eq!((x as f64) < t, (x as f64) <= t2, "t {t}, x {x}");
                assert_eq!((x as f64) <= t, (x as f64) < t3, "t {t}, x {x} (≤ as <)");
            }
        }
    }

    fn stump(feature: u32, t: f64, left: Vec<f64>, right: Vec<f64>, output: Option<u32>) -> Tree {
        Tree {
            nodes: vec![
                Node::Split(Split {
                    feature,
                    test: Test::Numeric(t),
                    default_left: true,
                    missing: MissingMode::Nan,
                    left: 1,
                    right: 2,
                }),
                Node::Leaf(left),
                Node::Leaf(right),
            ],
            output,
            weight: 1.0,
        }
    }

    fn ensemble(trees: Vec<Tree>, k: u32, aggregate: Aggregate, compare: Compare) -> Ensemble {
        Ensemble {
            n_features: 2,
            n_outputs: k,
            trees,
            base_margin: vec![0.25; k as usize],
            compare,
            aggregate,
            transform: Transform::Identity,
            precision: Precision::F64,
            feature_names: None,
            source: String::new(),
            input_f64: false,
        }
    }

    /// A mean of vector-leaf trees and a sum of scalar trees, under a 3-class meta-model: the combined margins
    /// equal the meta-model's margins of the bases' margins, at every row of a grid (including the thresholds).
    #[test]
    fn combined_margins_equal_the_meta_model_of_the_bases() {
        let forest = ensemble(
            vec![
                stump(0, 0.5, vec![0.2, 0.5, 0.3], vec![0.6, 0.1, 0.3], None),
                stump(1, -1.0, vec![0.0, 1.0, 0.0], vec![0.3, 0.3, 0.4], None),
            ],
            3,
            Aggregate::Mean { divisor: 2.0 },
            Compare::LessEqual,
        );
        let mut boosted_trees = Vec::new();
        for k in 0..3u32 {
            let mut t = stump(
                k % 2,
                0.25 * k as f64,
                vec![0.1 * k as f64],
                vec![-0.2],
                Some(k),
            );
            t.weight = 0.5 + k as f32;
            boosted_trees.push(t);
        }
        let boosted = ensemble(boosted_trees, 3, Aggregate::Sum, Compare::Less);
        let bases = vec![
            StackBase {
                name: "forest".into(),
                ensemble: forest,
                map: (0..3)
                    .map(|i| (0..3).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
                    .collect(),
                inputs: vec!["p0".into(), "p1".into(), "p2".into()],
            },
            StackBase {
                name: "boosted".into(),
                ensemble: boosted,
                map: (0..3)
                    .map(|i| (0..3).map(|j| if i == j { 2.0 } else { 0.0 }).collect())
                    .collect(),
                inputs: vec!["m0".into(), "m1".into(), "m2".into()],
            },
        ];
        let meta = LinearMeta {
            coef: (0..3)
                .map(|o| (0..6).map(|j| ((o * 6 + j) as f64 * 0.7).sin()).collect())
                .collect(),
            intercept: vec![0.1, -0.2, 0.3],
            link: Link::Softmax,
            iterations: 0,
        };
        let e = combine(&bases, &meta, None, "test").unwrap();
        assert_eq!(e.compare, Compare::LessEqual);
        assert!(e.trees.iter().all(|t| t.output.is_none()));
        for x0 in [
            -2.0f32,
            0.0,
            0.25,
            0.25f32.next_up(),
            0.5,
            0.5f32.next_up(),
            1.0,
        ] {
            for x1 in [
                -1.0f32,
                (-1.0f32).next_up(),
                0.0,
                0.25,
                0.5f32.next_down(),
                2.0,
            ] {
                let row = [x0, x1];
                let want = meta.margin(&meta_inputs(&bases, &row));
                let got = e.margin_reference(&row);
                for (g, w) in got.iter().zip(&want) {
                    assert!((g - w).abs() < 1e-12, "row {row:?}: {got:?} vs {want:?}");
                }
            }
        }
    }
}
