//! Describing a model to a person: the `inspect` report (with the cost of one prediction counted the way the core
//! spends it), and blob errors explained with the tree, leaf, column or byte they concern.
//!
//! Text that comes from a model file (class names, the `source` line) is printed with its control characters
//! escaped ([`crate::io::printable`]), so a file cannot drive the terminal.

use std::fmt::Write as _;
use std::path::Path;

use emkern::forest::{Aggregate, BlobError, Forest};

use crate::io::printable;
use crate::ir::Ensemble;
use crate::model::Format;

/// Margin columns the core sums per pass over the trees: a model with more outputs is predicted in
/// `ceil(outputs / 32)` passes, each walking every tree (the accumulator size of `emkern::forest`'s predictor).
pub const CORE_COLUMNS_PER_PASS: usize = 32;

/// The work of predicting one row, as the core does it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cost {
    /// Passes over the trees (one per [`CORE_COLUMNS_PER_PASS`] margin columns).
    pub passes: u64,
    /// Tree walks: passes × trees (a single-leaf tree is still walked to its leaf).
    pub tree_walks: u64,
    /// Split nodes visited at worst: passes × the sum of the tree depths.
    pub node_visits: u64,
}

impl Cost {
    /// The worst-case cost of one row of `f` (the core's own bound).
    pub fn of(f: &Forest) -> Cost {
        Cost {
            passes: f.passes() as u64,
            tree_walks: f.worst_case_tree_walks(),
            node_visits: f.worst_case_visits(),
        }
    }
}

/// The `inspect` report of the model in `path` (read as `format`; `ensemble` is its IR when it was imported).
pub fn model(path: &Path, format: Format, ensemble: Option<&Ensemble>, f: &Forest) -> String {
    let s = f.summary();
    let mut o = String::new();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let _ = writeln!(o, "model            {}", path.display());
    let _ = writeln!(o, "format           {}", format.name());
    if let Some(e) = ensemble {
        let _ = writeln!(o, "source           {}", printable(&e.source));
    }
    let _ = writeln!(o, "transform        {:?}", f.transform());
    let aggregate = match s.aggregate {
        Aggregate::Sum => "sum of the trees".to_string(),
        Aggregate::Mean => "mean of the trees (sum ÷ divisor)".to_string(),
        Aggregate::WeightedMedian => format!(
            "weighted median of the tree outputs (AdaBoost.R2), {} pass{} over the trees per row",
            f.median_passes(),
            if f.median_passes() == 1 { "" } else { "es" }
        ),
    };
    let _ = writeln!(o, "aggregate        {aggregate}");
    if f.class_names().len() > 0 {
        let names: Vec<String> = f.class_names().map(printable).collect();
        let _ = writeln!(o, "classes          {}", names.join(", "));
    }
    let _ = writeln!(o, "trees            {}", s.trees);
    let _ = writeln!(o, "internal nodes   {}", s.nodes);
    let _ = writeln!(
        o,
        "leaves           {} ({} value{} each, {})",
        s.leaves,
        s.leaf_width,
        plural(s.leaf_width),
        if s.wide_values { "f64" } else { "f32" }
    );
    let _ = writeln!(o, "features         {}", s.features);
    let _ = writeln!(
        o,
        "outputs          {} margin column{}, {} prediction value{}",
        s.outputs,
        plural(s.outputs),
        f.output_len(),
        plural(f.output_len())
    );
    let _ = writeln!(o, "max depth        {}", s.max_depth);
    let _ = writeln!(o, "bytes per node   {}", s.node_bytes);
    let _ = writeln!(
        o,
        "flash            {} bytes (the blob; read in place)",
        s.blob_bytes
    );
    let c = Cost::of(f);
    if s.aggregate == Aggregate::WeightedMedian {
        let _ = writeln!(
            o,
            "RAM              no heap; stack for one prediction ≈ {} bytes of sorted tree outputs",
            12 * emkern::forest::format::MEDIAN_CHUNK
        );
        let _ = writeln!(
            o,
            "worst case       {} node visits per row (sum of tree depths × passes) + {} leaf reads",
            c.node_visits, c.tree_walks
        );
        return o;
    }
    let _ = writeln!(
        o,
        "RAM              no heap; stack for one prediction ≈ {} bytes of accumulators",
        CORE_COLUMNS_PER_PASS * if s.wide_values { 8 } else { 4 }
    );
    if c.passes == 1 {
        let _ = writeln!(
            o,
            "worst case       {} node visits per row (sum of tree depths) + {} leaf reads",
            c.node_visits, c.tree_walks
        );
    } else {
        let _ = writeln!(
            o,
            "worst case       {} node visits + {} leaf reads per row: {} passes over the {} trees ({} margin \
             columns, {CORE_COLUMNS_PER_PASS} per pass), each pass {} node visits (sum of tree depths) + {} leaf reads",
            c.node_visits,
            c.tree_walks,
            c.passes,
            s.trees,
            s.outputs,
            c.node_visits / c.passes.max(1),
            s.trees
        );
    }
    if s.leaf_width > 1 {
        let _ = writeln!(
            o,
            "                 and {} leaf values added per row ({} trees × {} values per leaf)",
            (s.trees as u64).saturating_mul(s.leaf_width as u64),
            s.trees,
            s.leaf_width
        );
    }
    o
}

/// The `layout` line of `emkern inspect`: which layout `emkern import --layout auto` writes for this model and
/// why (the compact blob's size beside the general one's, or the compact writer's reason for refusing).
pub fn layout_choice(ensemble: Option<&Ensemble>, general: &[u8]) -> String {
    let compact = match ensemble {
        Some(e) => crate::export::compact::write(e),
        None => crate::export::compact::write_from_blob(general),
    };
    match compact {
        Ok(b) => format!(
            "layout (auto)    compact: the model fits it (numeric splits, f32 values); {} bytes, the general \
             layout {} bytes; load with CompactForest\n",
            b.len(),
            general.len()
        ),
        Err(why) => format!("layout (auto)    general: {why}\n"),
    }
}

/// The `batch` line of `emkern inspect`: the engine that batches of this model take on the host (`emkern
/// predict`, `bench --model`, `Forest::predict_batch_simd`): the SIMD walker, with how its plan holds the trees,
/// or the scalar batch path and why.
pub fn batch_engine(f: &Forest) -> String {
    let plan = f.simd_plan_len().and_then(|n| {
        let mut words = vec![0u32; n];
        let plan = f.simd_plan(&mut words)?;
        Ok((n, plan.n_trees(), plan.sparse_trees()))
    });
    match plan {
        Ok((words, trees, sparse)) => format!(
            "batch (host)     SIMD walker: {} tree{} complete (depth ≤ {}: the top levels from registers), {} \
             sparse (deeper: children by index, every level gathered); plan {} words\n",
            trees - sparse,
            if trees - sparse == 1 { "" } else { "s" },
            emkern_simd::forest::MAX_DEPTH,
            sparse,
            words
        ),
        Err(why) => format!("batch (host)     scalar path: {why}\n"),
    }
}

/// Validates `blob` (read from `path`) as the core does; the error names the file and, through [`blob_error`],
/// the part of the blob at fault.
pub fn open_blob<'a>(path: &Path, blob: &'a [u8]) -> Result<Forest<'a>, String> {
    Forest::new(blob).map_err(|e| format!("{}: {}", path.display(), blob_error(blob, e)))
}

/// Little-endian reads that fail past the end.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&self, at: usize) -> Option<u8> {
        self.0.get(at).copied()
    }
    fn u32(&self, at: usize) -> Option<u32> {
        let b = self.0.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn f64(&self, at: usize) -> Option<f64> {
        let b = self.0.get(at..at.checked_add(8)?)?;
        Some(f64::from_le_bytes(b.try_into().ok()?))
    }
    fn value(&self, at: usize, wide: bool) -> Option<f64> {
        if wide {
            self.f64(at)
        } else {
            Some(f32::from_bits(self.u32(at)?) as f64)
        }
    }
}

/// The blob's section offsets, computed from its header as `core/src/forest/format.rs` specifies.
struct Sections {
    n_features: usize,
    n_trees: usize,
    leaf_width: usize,
    wide: bool,
    trees_off: usize,
    leaves_off: usize,
    leaf_models_off: usize,
    linear_off: usize,
}

fn align8(x: usize) -> Option<usize> {
    Some(x.checked_add(7)? & !7)
}

impl Sections {
    fn read(b: &Bytes) -> Option<Sections> {
        let n = |at| b.u32(at).map(|v| v as usize);
        let (n_features, n_outputs, n_trees, n_nodes, n_leaves, leaf_width, n_cat_words) =
            (n(16)?, n(20)?, n(24)?, n(28)?, n(32)?, n(36)?, n(40)?);
        let node_size = 4 + b.u8(44)? as usize + 1 + 2 * b.u8(45)? as usize;
        let wide = b.u8(49)? == 8;
        let vb = if wide { 8 } else { 4 };
        let after = |off: usize, count: usize, size: usize| {
            align8(off.checked_add(count.checked_mul(size)?)?)
        };
        let trees_off = after(64, n_outputs, vb)?;
        let nodes_off = after(trees_off, n_trees, 16)?;
        let leaves_off = after(nodes_off, n_nodes, node_size)?;
        let cats_off = after(leaves_off, n_leaves.checked_mul(leaf_width)?, vb)?;
        let leaf_models_off = align8(cats_off.checked_add(n_cat_words.checked_mul(4)?)?)?;
        let linear_off = after(leaf_models_off, n_leaves, 4)?;
        Some(Sections {
            n_features,
            n_trees,
            leaf_width,
            wide,
            trees_off,
            leaves_off,
            leaf_models_off,
            linear_off,
        })
    }

    /// The tree owning global leaf `leaf`, and the leaf's index in it.
    fn tree_of_leaf(&self, b: &Bytes, leaf: usize) -> Option<(usize, usize)> {
        let mut found = None;
        for t in 0..self.n_trees {
            let start = b.u32(self.trees_off + t * 16 + 4)? as usize;
            if start > leaf {
                break;
            }
            found = Some((t, leaf - start));
        }
        found
    }

    fn leaf_name(&self, b: &Bytes, leaf: usize) -> String {
        match self.tree_of_leaf(b, leaf) {
            Some((t, l)) => format!("tree {t}, leaf {l}"),
            None => format!("leaf {leaf}"),
        }
    }
}

/// Header fields the core names in [`BlobError::BadField`], with their byte offset and width.
const HEADER_FIELDS: [(&str, usize, usize); 11] = [
    ("total_len", 8, 4),
    ("n_outputs", 20, 4),
    ("leaf_width", 36, 4),
    ("feature_bytes", 44, 1),
    ("child_bytes", 45, 1),
    ("compare", 46, 1),
    ("aggregate", 47, 1),
    ("transform", 48, 1),
    ("value_bytes", 49, 1),
    ("reserved", 50, 2),
    ("divisor", 56, 8),
];

/// `e` (from validating `blob`) in words, with the value at fault, its tree and byte offset where the core's
/// error gives only a header field's name or a table index.
pub fn blob_error(blob: &[u8], e: BlobError) -> String {
    let b = Bytes(blob);
    match e {
        BlobError::BadField(name) => {
            let Some(&(_, at, width)) = HEADER_FIELDS.iter().find(|(n, _, _)| *n == name) else {
                return e.to_string();
            };
            let value = match width {
                1 => b.u8(at).map(|v| v.to_string()),
                2 => b.u32(at).map(|v| (v & 0xffff).to_string()),
                8 => b.f64(at).map(|v| v.to_string()),
                _ => b.u32(at).map(|v| v.to_string()),
            };
            match value {
                Some(v) => {
                    format!("header field `{name}` (byte {at}) is {v}, which is out of range")
                }
                None => e.to_string(),
            }
        }
        BlobError::BadValue { table, index, what } => {
            explain_value(&b, table, index as usize, what).unwrap_or_else(|| e.to_string())
        }
        _ => e.to_string(),
    }
}

/// Describes the value behind a [`BlobError::BadValue`]: where it is and what it holds.
fn explain_value(b: &Bytes, table: &str, index: usize, what: &str) -> Option<String> {
    let s = Sections::read(b)?;
    let vb = if s.wide { 8 } else { 4 };
    match table {
        "output column" => {
            let at = 64 + index * vb;
            let v = b.value(at, s.wide)?;
            Some(format!(
                "the base margin of output column {index} (byte {at}) is {v}; base margins must be finite"
            ))
        }
        "leaf" if what.contains("linear") => explain_linear(b, &s, index),
        "leaf" => (0..s.leaf_width.max(1)).find_map(|j| {
            let at = s.leaves_off + (index * s.leaf_width.max(1) + j) * vb;
            let v = b.value(at, s.wide)?;
            (!v.is_finite()).then(|| {
                let column = if s.leaf_width > 1 {
                    format!(", value {j}")
                } else {
                    String::new()
                };
                format!(
                    "{}{column} (byte {at}) is {v}; leaf values must be finite",
                    s.leaf_name(b, index)
                )
            })
        }),
        _ => None,
    }
}

/// Describes what is wrong with `leaf`'s linear entry (a `linear …` [`BlobError::BadValue`]).
fn explain_linear(b: &Bytes, s: &Sections, leaf: usize) -> Option<String> {
    let linear_bytes = b.u32(52)? as usize;
    let entry = b.u32(s.leaf_models_off.checked_add(4 * leaf)?)?;
    if entry == u32::MAX {
        return None;
    }
    let here = s.leaf_name(b, leaf);
    let head_end = (entry as usize).checked_add(16)?;
    if entry % 8 != 0 || head_end > linear_bytes {
        return Some(format!(
            "{here}: its linear entry starts at offset {entry} of the {linear_bytes}-byte linear table \
             (entries start at multiples of 8 and need 16 bytes)"
        ));
    }
    let at = s.linear_off.checked_add(entry as usize)?;
    let n_terms = b.u32(at)? as usize;
    if n_terms
        .checked_mul(16)
        .and_then(|t| t.checked_add(head_end))
        .is_none_or(|e| e > linear_bytes)
    {
        return Some(format!(
            "{here}: its linear entry at offset {entry} has {n_terms} terms, past the end of the \
             {linear_bytes}-byte linear table"
        ));
    }
    if let Some(c) = b.f64(at + 8).filter(|c| !c.is_finite()) {
        return Some(format!(
            "{here}: the linear constant (byte {}) is {c}",
            at + 8
        ));
    }
    for k in 0..n_terms {
        let term = at + 16 + k * 16;
        let feature = b.u32(term)? as usize;
        if feature >= s.n_features {
            return Some(format!(
                "{here}: linear term {k} (byte {term}) reads feature {feature}, but the model has {} \
                 features",
                s.n_features
            ));
        }
        let coefficient = b.f64(term + 8)?;
        if !coefficient.is_finite() {
            return Some(format!(
                "{here}: the coefficient of linear term {k} (byte {}) is {coefficient}",
                term + 8
            ));
        }
    }
    None
}
