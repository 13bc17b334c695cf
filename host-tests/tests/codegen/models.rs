//! Hand-built ensembles that reach what the framework fixtures do not: every transform with more margin columns
//! than the core transforms in the model's precision, margins swept across the transforms' range, trees deeper
//! than one generated function nests, every missing-value mode and default around LightGBM's zero band, category
//! sets of every shape, weighted linear leaves, means of weighted vector leaves, infinite thresholds, an
//! overflowing leaf and a model without trees. Each comes with rows that reach its leaves (probe rows are added
//! for every model by the caller).

use emkern_host::ir::{
    Aggregate, Compare, Ensemble, LinearLeaf, MissingMode, Node, Precision, Split, Test, Transform,
    Tree,
};

/// A hand-built model and rows for it.
pub struct Synthetic {
    pub name: String,
    pub ensemble: Ensemble,
    pub rows: Vec<Vec<f32>>,
}

fn numeric(feature: u32, t: f64, left: usize, right: usize) -> Node {
    Node::Split(Split {
        feature,
        test: Test::Numeric(t),
        default_left: false,
        missing: MissingMode::Nan,
        left,
        right,
    })
}

fn leaf(v: f64) -> Node {
    Node::Leaf(vec![v])
}

fn ensemble(
    n_features: u32,
    n_outputs: u32,
    trees: Vec<Tree>,
    transform: Transform,
    precision: Precision,
) -> Ensemble {
    Ensemble {
        n_features,
        n_outputs,
        trees,
        base_margin: (0..n_outputs).map(|k| 0.125 * k as f64 - 0.25).collect(),
        compare: Compare::LessEqual,
        aggregate: Aggregate::Sum,
        transform,
        precision,
        feature_names: None,
        source: "hand-built".into(),
        input_f64: false,
    }
}

const TRANSFORMS: [Transform; 6] = [
    Transform::Identity,
    Transform::Sigmoid,
    Transform::Softmax,
    Transform::ArgMax,
    Transform::Exp,
    Transform::HingeStep,
];

fn precision_name(p: Precision) -> &'static str {
    match p {
        Precision::F32 => "f32",
        Precision::F64 => "f64",
    }
}

/// A balanced tree over feature 0 whose leaf `i` is reached by `x0 = i` (thresholds at `i + 0.5`), leaf values
/// `value(i)`.
fn ladder(n_leaves: usize, value: &dyn Fn(usize) -> f64, output: u32) -> Tree {
    fn build(lo: usize, hi: usize, value: &dyn Fn(usize) -> f64, nodes: &mut Vec<Node>) -> usize {
        let at = nodes.len();
        if hi - lo == 1 {
            nodes.push(leaf(value(lo)));
            return at;
        }
        nodes.push(leaf(0.0)); // replaced below
        let mid = (lo + hi) / 2;
        let left = build(lo, mid, value, nodes);
        let right = build(mid, hi, value, nodes);
        nodes[at] = numeric(0, mid as f64 - 0.5, left, right);
        at
    }
    let mut nodes = Vec::new();
    build(0, n_leaves, value, &mut nodes);
    Tree {
        nodes,
        output: Some(output),
        weight: 1.0,
    }
}

/// Margins swept over the range where the exp-based transforms round differently: 1024 leaves from -30 to 30
/// (sigmoid, exp) and three classes for softmax, and for sigmoid in f32 also 1024 margins between -17 and -16.5,
/// where `1 + e^-m` crosses 2^24 and a 1-ulp step of `expf` becomes up to 4 ulp of the prediction.
fn sweeps() -> Vec<Synthetic> {
    let n = 1024;
    let rows: Vec<Vec<f32>> = (0..n).map(|i| vec![i as f32]).collect();
    let mut out = Vec::new();
    let spread = |lo: f64, hi: f64, c: usize| {
        move |i: usize| {
            lo + (hi - lo) * ((i * (c + 1) * 7919) % n) as f64 / (n - 1) as f64 + 0.1 * c as f64
        }
    };
    for precision in [Precision::F32, Precision::F64] {
        for (transform, lo, hi) in [
            (Transform::Sigmoid, -30.0, 30.0),
            (Transform::Sigmoid, -17.0, -16.5),
            (Transform::Exp, -30.0, 30.0),
            (Transform::Softmax, -30.0, 30.0),
        ] {
            let k = if transform == Transform::Softmax {
                3
            } else {
                1
            };
            let trees = (0..k)
                .map(|c| ladder(n, &spread(lo, hi, c), c as u32))
                .collect();
            out.push(Synthetic {
                name: format!(
                    "sweep-{transform:?}-{lo}-{hi}-{}",
                    precision_name(precision)
                ),
                ensemble: ensemble(1, k as u32, trees, transform, precision),
                rows: rows.clone(),
            });
        }
    }
    out
}

/// Every transform with 3 and with 40 margin columns (the core transforms f32 margins above 32), in f32 and f64.
fn every_transform() -> Vec<Synthetic> {
    let mut out = Vec::new();
    for precision in [Precision::F32, Precision::F64] {
        for k in [3u32, 40] {
            for transform in TRANSFORMS {
                let trees = (0..2 * k)
                    .map(|t| {
                        let f = t % 4;
                        let v = |j: u32| ((t * 37 + j * 11) % 23) as f64 / 7.0 - 1.5;
                        Tree {
                            nodes: vec![
                                numeric(f, 0.25 * (t % 5) as f64 - 0.5, 1, 2),
                                leaf(v(0)),
                                numeric((f + 1) % 4, 0.1, 3, 4),
                                leaf(v(1)),
                                leaf(v(2)),
                            ],
                            output: Some(t % k),
                            weight: 1.0,
                        }
                    })
                    .collect();
                out.push(Synthetic {
                    name: format!("transform-{transform:?}-k{k}-{}", precision_name(precision)),
                    ensemble: ensemble(4, k, trees, transform, precision),
                    rows: Vec::new(),
                });
            }
        }
    }
    out
}

/// A chain 70 splits deep (deeper than one generated function nests), each split's left child a leaf.
fn deep_chain() -> Vec<Synthetic> {
    let depth = 70;
    let mut nodes = Vec::new();
    for d in 0..depth {
        let at = nodes.len();
        nodes.push(Node::Split(Split {
            feature: (d % 3) as u32,
            test: Test::Numeric(1.0 - 0.02 * d as f64),
            default_left: d % 2 == 0,
            missing: MissingMode::Nan,
            left: at + 1,
            right: at + 2,
        }));
        nodes.push(leaf(d as f64 * 0.5 + 0.25));
    }
    // Split d is node 2d, its left leaf 2d + 1, its right child 2d + 2: the next split, or this last leaf.
    nodes.push(leaf(-1.0));
    let rows: Vec<Vec<f32>> = (0..=depth)
        .map(|d| {
            let v = 1.0 - 0.02 * d as f32 - 0.01;
            vec![v, v, v]
        })
        .collect();
    let mut out = Vec::new();
    for compare in [Compare::Less, Compare::LessEqual] {
        let mut e = ensemble(
            3,
            1,
            vec![Tree {
                nodes: nodes.clone(),
                output: Some(0),
                weight: 1.0,
            }],
            Transform::Identity,
            Precision::F32,
        );
        e.compare = compare;
        out.push(Synthetic {
            name: format!("deep-chain-{compare:?}"),
            ensemble: e,
            rows: rows.clone(),
        });
    }
    out
}

/// One single-split tree per (missing mode, default direction, threshold around the zero band), each adding to
/// its own margin column.
fn missing_modes() -> Vec<Synthetic> {
    let thresholds = [
        -1.0,
        -1.0e-35,
        -1.0e-36,
        -0.0,
        0.0,
        1.0e-36,
        1.0e-35,
        1.000_000_018_002_509_5e-35,
        2.0e-35,
        0.5,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ];
    let mut trees = Vec::new();
    for mode in [
        MissingMode::Nan,
        MissingMode::NanAsZero,
        MissingMode::ZeroOrNan,
    ] {
        for default_left in [false, true] {
            for &t in &thresholds {
                let i = trees.len();
                trees.push(Tree {
                    nodes: vec![
                        Node::Split(Split {
                            feature: (i % 4) as u32,
                            test: Test::Numeric(t),
                            default_left,
                            missing: mode,
                            left: 1,
                            right: 2,
                        }),
                        leaf(1.0 + i as f64),
                        leaf(-0.5 - i as f64),
                    ],
                    output: Some(i as u32),
                    weight: 1.0,
                });
            }
        }
    }
    let k = trees.len() as u32;
    let mut out = Vec::new();
    for compare in [Compare::Less, Compare::LessEqual] {
        let mut e = ensemble(4, k, trees.clone(), Transform::Identity, Precision::F32);
        e.compare = compare;
        out.push(Synthetic {
            name: format!("missing-modes-{compare:?}"),
            ensemble: e,
            rows: Vec::new(),
        });
    }
    out
}

/// Category sets of every shape (empty, one word, several words, sparse) with every combination of direction,
/// truncation and default.
fn categorical() -> Vec<Synthetic> {
    let sets: [&[u32]; 6] = [
        &[],
        &[0],
        &[31],
        &[32],
        &[0, 1, 2, 31, 32, 33, 63, 64, 1000],
        &[3, 7, 200],
    ];
    let mut trees = Vec::new();
    for set in sets {
        for in_set_left in [false, true] {
            for truncate_first in [false, true] {
                for default_left in [false, true] {
                    let i = trees.len();
                    trees.push(Tree {
                        nodes: vec![
                            Node::Split(Split {
                                feature: (i % 3) as u32,
                                test: Test::Categorical {
                                    categories: set.to_vec(),
                                    in_set_left,
                                    truncate_first,
                                },
                                default_left,
                                missing: MissingMode::Nan,
                                left: 1,
                                right: 2,
                            }),
                            leaf(1.0 + i as f64),
                            leaf(-0.5 - i as f64),
                        ],
                        output: Some(i as u32),
                        weight: 1.0,
                    });
                }
            }
        }
    }
    let k = trees.len() as u32;
    let values = [
        0.0f32,
        -0.0,
        -0.5,
        -0.99,
        -1.0,
        0.5,
        1.0,
        2.9,
        3.0,
        7.5,
        31.0,
        31.99,
        32.0,
        33.0,
        63.0,
        64.0,
        200.0,
        1000.0,
        1000.5,
        1001.0,
        16_777_215.0,
        16_777_216.0,
        1e9,
        f32::INFINITY,
    ];
    let rows = values.iter().map(|&v| vec![v, v, v]).collect();
    vec![Synthetic {
        name: "categorical-sets".into(),
        ensemble: ensemble(3, k, trees, Transform::Identity, Precision::F64),
        rows,
    }]
}

/// Linear leaves (repeated features, no terms, next to constant leaves) in trees weighted 1 and 0.7.
fn linear() -> Vec<Synthetic> {
    let lin = |value: f64, constant: f64, terms: Vec<(u32, f64)>| {
        Node::LinearLeaf(LinearLeaf {
            value,
            constant,
            terms,
        })
    };
    let mut out = Vec::new();
    for precision in [Precision::F32, Precision::F64] {
        let mut trees = Vec::new();
        for (i, weight) in [1.0f32, 0.7, 1.0, 0.3].into_iter().enumerate() {
            let c = 0.1 + i as f64;
            trees.push(Tree {
                nodes: vec![
                    numeric((i % 3) as u32, 0.2, 1, 2),
                    lin(
                        0.37 * c,
                        -1.25 / c,
                        vec![(0, 0.3 * c), (2, -1.7), (0, 0.011), (1, 1e-3 * c)],
                    ),
                    numeric(1, -0.4, 3, 4),
                    lin(1.5 * c, 2.0 / 3.0, vec![]),
                    leaf(-0.8 * c),
                ],
                output: Some(i as u32 % 2),
                weight,
            });
        }
        out.push(Synthetic {
            name: format!("linear-leaves-{}", precision_name(precision)),
            ensemble: ensemble(3, 2, trees, Transform::Identity, precision),
            rows: Vec::new(),
        });
    }
    out
}

/// Means of weighted vector leaves, with base margins, in f32 and f64.
fn mean_vector() -> Vec<Synthetic> {
    let mut out = Vec::new();
    for precision in [Precision::F32, Precision::F64] {
        for transform in [Transform::Identity, Transform::Softmax] {
            let trees = (0..5)
                .map(|t| Tree {
                    nodes: vec![
                        numeric(t % 2, 0.1 * t as f64, 1, 2),
                        Node::Leaf(vec![0.1 * t as f64, 0.7, -0.3 / (t + 1) as f64]),
                        Node::Leaf(vec![1.0 / 3.0, 0.2 * t as f64, 0.9]),
                    ],
                    output: None,
                    weight: [1.0, 0.5, 2.0, 0.1, 1.0][t as usize],
                })
                .collect();
            let mut e = ensemble(2, 3, trees, transform, precision);
            e.aggregate = Aggregate::Mean { divisor: 2.5 };
            out.push(Synthetic {
                name: format!("mean-vector-{transform:?}-{}", precision_name(precision)),
                ensemble: e,
                rows: Vec::new(),
            });
        }
    }
    out
}

/// An f32 leaf whose weighted value overflows to infinity, an infinite threshold, and a model with no trees.
fn edges() -> Vec<Synthetic> {
    let overflow = ensemble(
        2,
        2,
        vec![
            Tree {
                nodes: vec![numeric(0, f64::INFINITY, 1, 2), leaf(3e38), leaf(-1.0)],
                output: Some(0),
                weight: 4.0,
            },
            Tree {
                nodes: vec![numeric(1, f64::NEG_INFINITY, 1, 2), leaf(2.0), leaf(-2.0)],
                output: Some(1),
                weight: 1.0,
            },
            Tree {
                nodes: vec![leaf(0.5)],
                output: Some(1),
                weight: 1.0,
            },
        ],
        Transform::Identity,
        Precision::F32,
    );
    let no_trees = ensemble(3, 2, Vec::new(), Transform::Sigmoid, Precision::F64);
    vec![
        Synthetic {
            name: "overflow-and-infinite-thresholds".into(),
            ensemble: overflow,
            rows: Vec::new(),
        },
        Synthetic {
            name: "no-trees".into(),
            ensemble: no_trees,
            rows: Vec::new(),
        },
    ]
}

/// All hand-built models.
pub fn all() -> Vec<Synthetic> {
    let mut v = Vec::new();
    v.extend(sweeps());
    v.extend(every_transform());
    v.extend(deep_chain());
    v.extend(missing_modes());
    v.extend(categorical());
    v.extend(linear());
    v.extend(mean_vector());
    v.extend(edges());
    v
}
