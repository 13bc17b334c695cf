//! The forest walker ([`Simd::forest_sums`]) at every level this CPU runs against an independent oracle: random
//! trees kept as explicit node lists (children by index, leaves at any level), walked recursively in f32 and
//! summed in tree order. Plans are built from the same trees with [`PlanBuilder`]. Fixed seeds; every row count
//! from 0 to 70 (tails of 8 and 16 lanes, and of blocks of 4 vectors); NaN, infinities, both zeros and values on
//! the thresholds in the rows. Then forests as deep as a plan allows, with NaN-heavy rows and odd row counts, at
//! every vector level against the scalar twin ([`Simd::scalar`]) bit for bit.

use emkern_simd::forest::{
    Compare, MAX_DEPTH, MAX_SPARSE_DEPTH, MAX_SPARSE_ENTRIES, MAX_SPARSE_FEATURES, Plan,
    PlanBuilder, PlanError, RowsError,
};
use emkern_simd::{Level, Simd};

/// xorshift64*.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const GRID: [f32; 8] = [-3.0, -1.0, -0.0, 0.0, 0.25, 0.5, 1.0, 4.0];

/// `n` row values: a tenth each NaN, +∞ and −∞, the rest from [`GRID`] (the trees' thresholds).
fn grid_rows(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n)
        .map(|_| match rng.below(10) {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => f32::NEG_INFINITY,
            _ => GRID[rng.below(GRID.len() as u64) as usize],
        })
        .collect()
}

enum Node {
    Split {
        feature: usize,
        threshold: f32,
        default_left: bool,
        left: usize,
        right: usize,
    },
    Leaf(f32),
}

/// Grows a random tree of depth ≤ `max_depth` into `nodes` (a leaf above it with probability `stop`%); returns
/// the root's index.
fn grow(
    rng: &mut Rng,
    nodes: &mut Vec<Node>,
    depth: u32,
    max_depth: u32,
    nf: usize,
    stop: u64,
) -> usize {
    let at = nodes.len();
    if depth >= max_depth || rng.below(100) < stop {
        nodes.push(Node::Leaf(rng.below(1000) as f32 / 64.0 - 7.0));
        return at;
    }
    nodes.push(Node::Leaf(0.0));
    let feature = rng.below(nf as u64) as usize;
    let threshold = GRID[rng.below(GRID.len() as u64) as usize];
    let default_left = rng.below(2) == 0;
    let left = grow(rng, nodes, depth + 1, max_depth, nf, stop);
    let right = grow(rng, nodes, depth + 1, max_depth, nf, stop);
    nodes[at] = Node::Split {
        feature,
        threshold,
        default_left,
        left,
        right,
    };
    at
}

fn depth(nodes: &[Node], i: usize) -> u32 {
    match nodes[i] {
        Node::Leaf(_) => 0,
        Node::Split { left, right, .. } => 1 + depth(nodes, left).max(depth(nodes, right)),
    }
}

/// The oracle: a recursive walk.
fn leaf(nodes: &[Node], i: usize, row: &[f32], le: bool) -> f32 {
    match nodes[i] {
        Node::Leaf(v) => v,
        Node::Split {
            feature,
            threshold,
            default_left,
            left,
            right,
        } => {
            let x = row[feature];
            let go_left = if x.is_nan() {
                default_left
            } else if le {
                x <= threshold
            } else {
                x < threshold
            };
            leaf(nodes, if go_left { left } else { right }, row, le)
        }
    }
}

/// Builds the plan of `trees` into `words` (resized to fit).
fn build<'a>(
    words: &'a mut Vec<u32>,
    trees: &[Vec<Node>],
    nf: usize,
    compare: Compare,
) -> Plan<'a> {
    let depths: Vec<u32> = trees.iter().map(|t| depth(t, 0)).collect();
    let len = PlanBuilder::table_words(trees.len()).unwrap()
        + depths
            .iter()
            .map(|&d| PlanBuilder::tree_words(d).unwrap())
            .sum::<usize>();
    words.clear();
    words.resize(len, 0);
    let mut b = PlanBuilder::new(words, trees.len(), nf, compare, 0).unwrap();
    for (t, &d) in trees.iter().zip(&depths) {
        b.begin_tree(d).unwrap();
        write(&mut b, t, 0, 0, 0);
    }
    b.finish().unwrap()
}

/// Writes tree `nodes` (rooted at 0) into the builder at (level, position).
fn write(b: &mut PlanBuilder<'_>, nodes: &[Node], i: usize, level: u32, pos: usize) {
    match nodes[i] {
        Node::Leaf(v) => b.leaf(level, pos, v).unwrap(),
        Node::Split {
            feature,
            threshold,
            default_left,
            left,
            right,
        } => {
            b.split(level, pos, feature, threshold, default_left)
                .unwrap();
            write(b, nodes, left, level + 1, 2 * pos);
            write(b, nodes, right, level + 1, 2 * pos + 1);
        }
    }
}

#[test]
fn every_level_matches_the_oracle() {
    for seed in 1..40u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let nf = 1 + rng.below(20) as usize;
        let stride = nf + rng.below(3) as usize;
        let max_depth = rng.below(MAX_DEPTH as u64 + 1) as u32;
        let le = rng.below(2) == 0;
        // Every third seed grows complete trees, so that every level of the deepest ones is full.
        let stop = if seed % 3 == 0 { 0 } else { 20 };
        let trees: Vec<Vec<Node>> = (0..rng.below(25))
            .map(|_| {
                let mut nodes = Vec::new();
                grow(&mut rng, &mut nodes, 0, max_depth, nf, stop);
                nodes
            })
            .collect();
        let depths: Vec<u32> = trees.iter().map(|t| depth(t, 0)).collect();
        let len = PlanBuilder::table_words(trees.len()).unwrap()
            + depths
                .iter()
                .map(|&d| PlanBuilder::tree_words(d).unwrap())
                .sum::<usize>();
        let mut words = vec![0u32; len];
        let compare = if le {
            Compare::LessEqual
        } else {
            Compare::Less
        };
        let mut b = PlanBuilder::new(&mut words, trees.len(), nf, compare, 7).unwrap();
        for (t, &d) in trees.iter().zip(&depths) {
            b.begin_tree(d).unwrap();
            write(&mut b, t, 0, 0, 0);
        }
        let plan = b.finish().unwrap();
        assert_eq!(plan.tag(), 7);
        let n_max = 70;
        let rows = grid_rows(&mut rng, n_max * stride);
        let start: Vec<f32> = (0..n_max).map(|r| r as f32 * 0.125 - 2.0).collect();
        for n in 0..=n_max {
            let want: Vec<u32> = (0..n)
                .map(|r| {
                    let row = &rows[r * stride..];
                    let mut s = start[r];
                    for t in &trees {
                        s += leaf(t, 0, row, le);
                    }
                    s.to_bits()
                })
                .collect();
            for simd in Simd::available() {
                let mut sums = start.clone();
                let used = (n.saturating_sub(1)) * stride + if n > 0 { nf } else { 0 };
                simd.forest_sums(&plan, &rows[..used], stride, n, &mut sums)
                    .unwrap();
                let got: Vec<u32> = sums[..n].iter().map(|v| v.to_bits()).collect();
                assert_eq!(got, want, "seed {seed}, {n} rows, {}", simd.level());
                // Sums past the rows are untouched.
                assert_eq!(&sums[n..], &start[n..], "seed {seed}, {}", simd.level());
            }
        }
    }
}

#[test]
fn builder_and_shapes_refuse_bad_input() {
    let mut words = [0u32; 8];
    assert_eq!(
        PlanBuilder::new(&mut words[..1], 1, 2, Compare::Less, 0).unwrap_err(),
        PlanError::BufferTooShort { needed: 2, got: 1 }
    );
    let mut b = PlanBuilder::new(&mut words, 1, 2, Compare::Less, 0).unwrap();
    assert_eq!(
        b.split(0, 0, 0, 0.0, false),
        Err(PlanError::BadPosition { tree: 0 })
    );
    assert_eq!(
        b.begin_tree(MAX_DEPTH + 1),
        Err(PlanError::TooDeep {
            tree: 0,
            depth: MAX_DEPTH + 1
        })
    );
    assert_eq!(
        b.begin_tree(2),
        Err(PlanError::BufferTooShort { needed: 12, got: 8 })
    );
    b.begin_tree(1).unwrap();
    assert_eq!(
        b.split(0, 0, 2, 0.0, false),
        Err(PlanError::FeatureOutOfRange { tree: 0 })
    );
    assert_eq!(
        b.split(1, 0, 0, 0.0, false),
        Err(PlanError::BadPosition { tree: 0 })
    );
    assert_eq!(b.leaf(1, 2, 0.0), Err(PlanError::BadPosition { tree: 0 }));
    b.split(0, 0, 1, 0.5, true).unwrap();
    b.leaf(1, 0, 1.0).unwrap();
    b.leaf(1, 1, 2.0).unwrap();
    assert_eq!(
        b.begin_tree(0),
        Err(PlanError::TreeCount {
            expected: 1,
            got: 2
        })
    );
    let plan = b.finish().unwrap();
    let mut none = [0u32; 4];
    assert_eq!(
        PlanBuilder::new(&mut none, 2, 1, Compare::Less, 0)
            .unwrap()
            .finish()
            .unwrap_err(),
        PlanError::TreeCount {
            expected: 2,
            got: 0
        }
    );
    let mut zero = [0u32; 8];
    let mut z = PlanBuilder::new(&mut zero, 1, 0, Compare::Less, 0).unwrap();
    assert_eq!(
        z.begin_tree(1),
        Err(PlanError::FeatureOutOfRange { tree: 0 })
    );
    for simd in Simd::available() {
        let rows = [0.0f32; 6];
        let mut sums = [0.0f32; 3];
        assert_eq!(
            simd.forest_sums(&plan, &rows, 1, 3, &mut sums),
            Err(RowsError::BadStride { needed: 2, got: 1 })
        );
        assert_eq!(
            simd.forest_sums(&plan, &rows[..5], 2, 3, &mut sums),
            Err(RowsError::RowsTooShort { needed: 6, got: 5 })
        );
        assert_eq!(
            simd.forest_sums(&plan, &rows, 2, 3, &mut sums[..2]),
            Err(RowsError::SumsTooShort { needed: 3, got: 2 })
        );
        assert_eq!(simd.forest_sums(&plan, &[], 0, 0, &mut []), Ok(()));
        assert_eq!(sums, [0.0; 3]);
    }
}

/// Trees of every depth up to [`MAX_DEPTH`] (one complete tree of that depth in each forest, so every gathered
/// level is full), rows with a third of their values NaN and some rows all NaN, odd row counts (tails of 1 to 3
/// rows after whole vectors and blocks): every vector level gives the scalar twin's sums bit for bit (and the
/// oracle's).
#[test]
fn deep_forests_with_nan_rows_match_the_scalar_twin() {
    let mut vector_levels = Vec::new();
    for seed in 0..6u64 {
        let mut rng = Rng(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1);
        let nf = 2 + rng.below(40) as usize;
        let stride = nf + rng.below(4) as usize;
        let le = seed % 2 == 1;
        let mut trees: Vec<Vec<Node>> = Vec::new();
        for t in 0..12 {
            let mut nodes = Vec::new();
            let (max_depth, stop) = if t == 5 {
                (MAX_DEPTH, 0)
            } else {
                (rng.below(MAX_DEPTH as u64 + 1) as u32, 10)
            };
            grow(&mut rng, &mut nodes, 0, max_depth, nf, stop);
            trees.push(nodes);
        }
        assert_eq!(depth(&trees[5], 0), MAX_DEPTH);
        let compare = if le {
            Compare::LessEqual
        } else {
            Compare::Less
        };
        let mut words = Vec::new();
        let plan = build(&mut words, &trees, nf, compare);
        let n_max = 67;
        let rows: Vec<f32> = (0..n_max * stride)
            .map(|i| {
                if (i / stride) % 7 == 3 {
                    return f32::NAN;
                }
                match rng.below(3) {
                    0 => f32::NAN,
                    1 => GRID[rng.below(GRID.len() as u64) as usize],
                    _ => (rng.below(1 << 20) as f32 / (1 << 17) as f32) - 4.0,
                }
            })
            .collect();
        let start: Vec<f32> = (0..n_max).map(|r| 0.5 - r as f32 / 16.0).collect();
        for n in [
            1usize, 2, 3, 5, 7, 9, 15, 17, 19, 31, 33, 35, 49, 63, 65, 67,
        ] {
            let used = (n - 1) * stride + nf;
            let run = |simd: Simd| -> Vec<u32> {
                let mut sums = start.clone();
                simd.forest_sums(&plan, &rows[..used], stride, n, &mut sums)
                    .unwrap();
                assert_eq!(&sums[n..], &start[n..], "seed {seed}, {}", simd.level());
                sums[..n].iter().map(|v| v.to_bits()).collect()
            };
            let want = run(Simd::scalar());
            let oracle: Vec<u32> = (0..n)
                .map(|r| {
                    let row = &rows[r * stride..];
                    trees
                        .iter()
                        .fold(start[r], |s, t| s + leaf(t, 0, row, le))
                        .to_bits()
                })
                .collect();
            assert_eq!(want, oracle, "seed {seed}, {n} rows, scalar");
            for simd in Simd::available().filter(|s| s.level() != Level::Scalar) {
                assert_eq!(run(simd), want, "seed {seed}, {n} rows, {}", simd.level());
                if !vector_levels.contains(&simd.level()) {
                    vector_levels.push(simd.level());
                }
            }
        }
    }
    #[cfg(target_arch = "aarch64")]
    assert!(vector_levels.contains(&Level::Neon));
    eprintln!("vector levels checked against the scalar twin: {vector_levels:?}");
}

/// On aarch64 the NEON level walks four rows per vector (its own walker, not the portable one).
#[cfg(target_arch = "aarch64")]
#[test]
fn neon_level_takes_the_neon_walker() {
    let neon = Simd::new(Level::Neon).expect("NEON is part of every aarch64 target with an FPU");
    assert_eq!(neon.forest_lanes(), 4);
    assert_eq!(Simd::scalar().forest_lanes(), 1);
}

/// The single-row walker ([`Simd::forest_row`], trees in the lanes) at every level this CPU runs: random forests
/// of mixed depths (so that the trees of one vector have different depths, and the last vector is partial: 0 to
/// 80 trees), both comparisons, rows with NaN, infinities, both zeros and values on the thresholds. Every row's
/// sum is the oracle's bit for bit, and [`Simd::forest_sums`]'s for the same row.
#[test]
fn single_row_walker_matches_the_oracle_and_the_batch_walker() {
    let mut levels = Vec::new();
    for seed in 0..48u64 {
        let mut rng = Rng(seed.wrapping_mul(0xA076_1D64_78BD_642F) | 1);
        let nf = 1 + rng.below(30) as usize;
        let le = seed % 2 == 0;
        let n_trees = match seed % 4 {
            0 => rng.below(8) as usize,
            1 => 8 + rng.below(25) as usize,
            _ => rng.below(81) as usize,
        };
        let max_depth = if seed % 5 == 0 {
            MAX_DEPTH
        } else {
            rng.below(9) as u32
        };
        // Every third seed grows complete trees of one depth (every lane active at every level).
        let stop = if seed % 3 == 0 { 0 } else { 15 };
        let trees: Vec<Vec<Node>> = (0..n_trees)
            .map(|_| {
                let d = if stop == 0 {
                    max_depth
                } else {
                    rng.below(max_depth as u64 + 1) as u32
                };
                let mut nodes = Vec::new();
                grow(&mut rng, &mut nodes, 0, d, nf, stop);
                nodes
            })
            .collect();
        let compare = if le {
            Compare::LessEqual
        } else {
            Compare::Less
        };
        let mut words = Vec::new();
        let plan = build(&mut words, &trees, nf, compare);
        for r in 0..24 {
            let row: Vec<f32> = (0..nf)
                .map(|_| match rng.below(10) {
                    0 => f32::NAN,
                    1 => f32::INFINITY,
                    2 => f32::NEG_INFINITY,
                    3 => (rng.below(1 << 20) as f32 / (1 << 17) as f32) - 4.0,
                    _ => GRID[rng.below(GRID.len() as u64) as usize],
                })
                .collect();
            let start = r as f32 * 0.375 - 3.0;
            let want = trees
                .iter()
                .fold(start, |s, t| s + leaf(t, 0, &row, le))
                .to_bits();
            for simd in Simd::available() {
                let mut sum = start;
                simd.forest_row(&plan, &row, &mut sum).unwrap();
                assert_eq!(
                    sum.to_bits(),
                    want,
                    "seed {seed}, row {r}, {n_trees} trees, {}",
                    simd.level()
                );
                let mut batch = [start];
                simd.forest_sums(&plan, &row, nf, 1, &mut batch).unwrap();
                assert_eq!(batch[0].to_bits(), want, "seed {seed}, row {r}, batch");
                if !levels.contains(&simd.level()) {
                    levels.push(simd.level());
                }
            }
        }
        // A row one value short is refused, and the sum left alone.
        for simd in Simd::available() {
            let row = vec![0.5f32; nf];
            let mut sum = 1.5f32;
            assert_eq!(
                simd.forest_row(&plan, &row[..nf - 1], &mut sum),
                Err(RowsError::RowsTooShort {
                    needed: nf,
                    got: nf - 1
                })
            );
            assert_eq!(sum, 1.5);
        }
    }
    #[cfg(target_arch = "aarch64")]
    assert!(levels.contains(&Level::Neon));
    eprintln!("single-row walker checked at: {levels:?}");
}

/// Counts the splits of the tree rooted at `i`.
fn splits(nodes: &[Node], i: usize) -> usize {
    match nodes[i] {
        Node::Leaf(_) => 0,
        Node::Split { left, right, .. } => 1 + splits(nodes, left) + splits(nodes, right),
    }
}

/// Writes tree `nodes` (rooted at a split) into the sparse tree just begun: node `i` at `entry`, each split's
/// children at the next two free entries (`free`, advanced).
fn write_sparse(b: &mut PlanBuilder<'_>, nodes: &[Node], i: usize, entry: usize, free: &mut usize) {
    match nodes[i] {
        Node::Leaf(v) => b.sparse_leaf(entry, v).unwrap(),
        Node::Split {
            feature,
            threshold,
            default_left,
            left,
            right,
        } => {
            let first = *free;
            *free += 2;
            b.sparse_split(entry, feature, threshold, default_left, first)
                .unwrap();
            write_sparse(b, nodes, left, first, free);
            write_sparse(b, nodes, right, first + 1, free);
        }
    }
}

/// Sparse trees (children by index) beside complete ones, deeper than a complete plan allows and shallow:
/// [`Simd::forest_sums`] and [`Simd::forest_row`] at every level against the oracle, bit for bit, every row
/// count from 0 to 40, NaN and infinities in the rows.
#[test]
fn sparse_trees_match_the_oracle() {
    let mut with_sparse = 0;
    for seed in 0..30u64 {
        let mut rng = Rng(seed.wrapping_mul(0xE703_7ED1_A0B4_28DB) | 1);
        let nf = 1 + rng.below(40) as usize;
        let stride = nf + rng.below(3) as usize;
        let le = rng.below(2) == 0;
        let n_trees = rng.below(20) as usize;
        // (nodes, sparse): deep trees (up to 30 levels, leaves early on most paths) are sparse; shallow ones
        // are sparse or complete at random (a tree of depth 0 is always complete).
        let trees: Vec<(Vec<Node>, bool)> = (0..n_trees)
            .map(|_| {
                let mut nodes = Vec::new();
                let deep = rng.below(3) == 0;
                let max_depth = if deep {
                    MAX_DEPTH + 1 + rng.below(18) as u32
                } else {
                    rng.below(MAX_DEPTH as u64 + 1) as u32
                };
                grow(
                    &mut rng,
                    &mut nodes,
                    0,
                    max_depth,
                    nf,
                    if deep { 45 } else { 20 },
                );
                let d = depth(&nodes, 0);
                let sparse = d > MAX_DEPTH || (d > 0 && rng.below(2) == 0);
                (nodes, sparse)
            })
            .collect();
        let len = PlanBuilder::table_words(n_trees).unwrap()
            + trees
                .iter()
                .map(|(t, sparse)| {
                    if *sparse {
                        PlanBuilder::sparse_tree_words(2 * splits(t, 0) + 1).unwrap()
                    } else {
                        PlanBuilder::tree_words(depth(t, 0)).unwrap()
                    }
                })
                .sum::<usize>();
        let mut words = vec![0u32; len];
        let compare = if le {
            Compare::LessEqual
        } else {
            Compare::Less
        };
        let mut b = PlanBuilder::new(&mut words, n_trees, nf, compare, 0).unwrap();
        for (t, sparse) in &trees {
            if *sparse {
                b.begin_sparse_tree(2 * splits(t, 0) + 1, depth(t, 0))
                    .unwrap();
                write_sparse(&mut b, t, 0, 0, &mut 1);
            } else {
                b.begin_tree(depth(t, 0)).unwrap();
                write(&mut b, t, 0, 0, 0);
            }
        }
        let plan = b.finish().unwrap();
        assert_eq!(plan.has_sparse(), trees.iter().any(|t| t.1));
        with_sparse += usize::from(plan.has_sparse());
        let n_max = 40;
        let rows = grid_rows(&mut rng, n_max * stride);
        let start: Vec<f32> = (0..n_max).map(|r| r as f32 * 0.25 - 4.0).collect();
        let want: Vec<u32> = (0..n_max)
            .map(|r| {
                let row = &rows[r * stride..];
                trees
                    .iter()
                    .fold(start[r], |s, (t, _)| s + leaf(t, 0, row, le))
                    .to_bits()
            })
            .collect();
        for simd in Simd::available() {
            for n in 0..=n_max {
                let mut sums = start.clone();
                let used = (n.saturating_sub(1)) * stride + if n > 0 { nf } else { 0 };
                simd.forest_sums(&plan, &rows[..used], stride, n, &mut sums)
                    .unwrap();
                let got: Vec<u32> = sums[..n].iter().map(|v| v.to_bits()).collect();
                assert_eq!(got, want[..n], "seed {seed}, {n} rows, {}", simd.level());
                assert_eq!(&sums[n..], &start[n..], "seed {seed}, {}", simd.level());
            }
            for r in 0..n_max {
                let mut sum = start[r];
                simd.forest_row(&plan, &rows[r * stride..r * stride + nf], &mut sum)
                    .unwrap();
                assert_eq!(
                    sum.to_bits(),
                    want[r],
                    "seed {seed}, single row {r}, {}",
                    simd.level()
                );
            }
        }
    }
    assert!(
        with_sparse >= 20,
        "only {with_sparse} of 30 plans had a sparse tree"
    );
}

#[test]
fn sparse_builder_refuses_bad_input() {
    let mut words = [0u32; 32];
    let mut b = PlanBuilder::new(&mut words, 2, 3, Compare::Less, 0).unwrap();
    // Fewer than 3 entries, or too many, or a depth of 0 or above the limit.
    assert_eq!(b.begin_sparse_tree(1, 1), Err(PlanError::TooLarge));
    assert_eq!(
        b.begin_sparse_tree(MAX_SPARSE_ENTRIES + 1, 1),
        Err(PlanError::TooLarge)
    );
    assert_eq!(
        b.begin_sparse_tree(3, 0),
        Err(PlanError::TooDeep { tree: 0, depth: 0 })
    );
    assert_eq!(
        b.begin_sparse_tree(3, MAX_SPARSE_DEPTH + 1),
        Err(PlanError::TooDeep {
            tree: 0,
            depth: MAX_SPARSE_DEPTH + 1
        })
    );
    assert_eq!(
        b.begin_sparse_tree(11, 2),
        Err(PlanError::BufferTooShort {
            needed: 37,
            got: 32
        })
    );
    // Nothing begun yet: no entry to set.
    assert_eq!(
        b.sparse_leaf(1, 0.0),
        Err(PlanError::BadPosition { tree: 0 })
    );
    b.begin_sparse_tree(5, 2).unwrap();
    // The complete tree's calls do not reach a sparse tree, and entries stay inside it.
    assert_eq!(
        b.split(0, 0, 0, 0.0, false),
        Err(PlanError::BadPosition { tree: 0 })
    );
    assert_eq!(
        b.sparse_split(0, 0, 0.0, false, 4),
        Err(PlanError::BadPosition { tree: 0 })
    );
    assert_eq!(
        b.sparse_split(5, 0, 0.0, false, 1),
        Err(PlanError::BadPosition { tree: 0 })
    );
    // A first child whose sum with 2 would wrap.
    assert_eq!(
        b.sparse_split(0, 0, 0.0, false, usize::MAX - 1),
        Err(PlanError::BadPosition { tree: 0 })
    );
    assert_eq!(
        b.sparse_split(0, 3, 0.0, false, 1),
        Err(PlanError::FeatureOutOfRange { tree: 0 })
    );
    assert_eq!(
        b.sparse_leaf(0, 0.0),
        Err(PlanError::BadPosition { tree: 0 })
    );
    // x[2] < 0.5 (NaN left) → entry 1: x[0] < 1.0 (NaN right) → 4.0, else 8.0; x[2] ≥ 0.5 → entry 2: −1.0.
    b.sparse_split(0, 2, 0.5, true, 1).unwrap();
    b.sparse_split(1, 0, 1.0, false, 3).unwrap();
    b.sparse_leaf(2, -1.0).unwrap();
    b.sparse_leaf(3, 4.0).unwrap();
    b.sparse_leaf(4, 8.0).unwrap();
    b.begin_tree(0).unwrap();
    b.leaf(0, 0, 0.5).unwrap();
    let plan = b.finish().unwrap();
    assert!(plan.has_sparse());
    let rows = [
        0.0,
        0.0,
        0.0,
        2.0,
        0.0,
        f32::NAN,
        0.0,
        0.0,
        0.75,
        f32::NAN,
        0.0,
        0.0,
    ];
    for simd in Simd::available() {
        let mut sums = [0.0f32; 4];
        simd.forest_sums(&plan, &rows, 3, 4, &mut sums).unwrap();
        assert_eq!(sums, [4.5, 8.5, -0.5, 8.5], "{}", simd.level());
    }
    // Too many features for a sparse tree's 16-bit field.
    let mut wide = [0u32; 16];
    let mut w = PlanBuilder::new(&mut wide, 1, MAX_SPARSE_FEATURES + 1, Compare::Less, 0).unwrap();
    assert_eq!(
        w.begin_sparse_tree(3, 1),
        Err(PlanError::FeatureOutOfRange { tree: 0 })
    );
}
