//! Reading the node tables Spark ML writes under `data/` (one row per node) and the tree table under
//! `treesMetadata/` (one row per tree of an ensemble), from every Parquet part file of a folder.
//!
//! A single tree's table has Spark's `NodeData` columns at the top level (`id`, `prediction`, `impurityStats`,
//! `leftChild`, `rightChild`, `split` with `featureIndex`, `leftCategoriesOrThreshold`, `numCategories`); an
//! ensemble's has `treeID` and the same columns in the struct `nodeData`. Columns the importer does not need
//! (`impurity`, `rawCount`, `gain`) are not read. Errors name the part file, the row (from 0 within that file)
//! and the column.

use std::fs::File;
use std::path::{Path, PathBuf};

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::{Field, Row};

use crate::import::ImportError;

type Result<T> = std::result::Result<T, ImportError>;

/// One node as Spark saved it.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeRow {
    /// The tree (`treeID`; 0 for a single tree).
    pub tree: i64,
    /// The node's id within its tree (`id`, pre-order from 0 at the root).
    pub id: i64,
    /// The node's prediction (`prediction`): a regression tree's leaf value.
    pub prediction: f64,
    /// `impurityStats`: the class counts (weighted) of a classification tree's node.
    pub stats: Vec<f64>,
    /// `leftChild`, −1 for a leaf.
    pub left: i64,
    /// `rightChild`, −1 for a leaf.
    pub right: i64,
    /// `split`, when the node has one.
    pub split: Option<SplitRow>,
    /// Where the row is, for errors: the part file and the row within it.
    pub at: RowAt,
}

/// A split as Spark saved it.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitRow {
    /// `featureIndex`.
    pub feature: i64,
    /// `leftCategoriesOrThreshold`: one threshold, or the categories that go left.
    pub values: Vec<f64>,
    /// `numCategories`: −1 for a continuous split.
    pub num_categories: i64,
}

/// One row of `treesMetadata`.
#[derive(Clone, Debug, PartialEq)]
pub struct TreeRow {
    /// `treeID`.
    pub tree: i64,
    /// `weights`: the tree's weight in the ensemble.
    pub weight: f64,
    /// Where the row is.
    pub at: RowAt,
}

/// A row of a part file.
#[derive(Clone, Debug, PartialEq)]
pub struct RowAt {
    /// The part file.
    pub file: PathBuf,
    /// The row, from 0 within the file.
    pub row: usize,
    /// The prefix of the node columns (`nodeData.` for an ensemble, empty for a single tree).
    pub prefix: &'static str,
}

impl RowAt {
    /// An error about `column` of this row.
    pub fn err(&self, column: &str, message: impl Into<String>) -> ImportError {
        ImportError::at_path(
            format!("row {}: {}{column}", self.row, self.prefix),
            message,
        )
        .in_file(&self.file)
    }
}

/// The Parquet part files of `folder` (names ending in `.parquet`, not hidden), sorted by name; an error naming
/// the folder when there are none.
pub fn part_files(folder: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(folder).map_err(|e| {
        ImportError::whole(format!(
            "cannot list the folder (a Spark ML model directory has it): {e}"
        ))
        .in_file(folder)
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.ends_with(".parquet") && !n.starts_with('.') && !n.starts_with('_')
            }) && p.is_file()
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(
            ImportError::whole("no Parquet part file (*.parquet) in the folder").in_file(folder),
        );
    }
    Ok(files)
}

/// Every row of a Parquet file. The `parquet` crate panics on some corrupt pages instead of returning an error;
/// such a panic is caught and reported as an error naming the file.
fn rows(path: &Path) -> Result<Vec<Row>> {
    let read = || -> std::result::Result<Vec<Row>, String> {
        let file = File::open(path).map_err(|e| format!("cannot read the file: {e}"))?;
        let reader = SerializedFileReader::new(file)
            .map_err(|e| format!("not a readable Parquet file: {e}"))?;
        for (g, group) in reader.metadata().row_groups().iter().enumerate() {
            for column in group.columns() {
                let start = column
                    .dictionary_page_offset()
                    .unwrap_or(column.data_page_offset());
                if start < 0 || column.compressed_size() < 0 {
                    return Err(format!(
                        "row group {g}: a column chunk has a negative offset or size (corrupt file)"
                    ));
                }
            }
        }
        let iter = reader
            .get_row_iter(None)
            .map_err(|e| format!("cannot read the rows: {e}"))?;
        iter.enumerate()
            .map(|(r, row)| row.map_err(|e| format!("row {r}: {e}")))
            .collect()
    };
    std::panic::catch_unwind(read)
        .unwrap_or_else(|_| Err("the Parquet reader failed on malformed data".into()))
        .map_err(|m| ImportError::whole(m).in_file(path))
}

/// The field `name` of `row`, if present and not null.
fn get<'a>(row: &'a Row, name: &str) -> Option<&'a Field> {
    row.get_column_iter()
        .find(|(n, _)| n.as_str() == name)
        .map(|(_, f)| f)
        .filter(|f| !matches!(f, Field::Null))
}

fn need<'a>(row: &'a Row, name: &str, at: &RowAt, path: &str) -> Result<&'a Field> {
    get(row, name).ok_or_else(|| at.err(path, "missing (or null)"))
}

fn int(field: &Field, at: &RowAt, path: &str) -> Result<i64> {
    match field {
        Field::Byte(v) => Ok(*v as i64),
        Field::Short(v) => Ok(*v as i64),
        Field::Int(v) => Ok(*v as i64),
        Field::Long(v) => Ok(*v),
        other => Err(at.err(path, format!("expected an integer, found `{other}`"))),
    }
}

fn double(field: &Field, at: &RowAt, path: &str) -> Result<f64> {
    match field {
        Field::Double(v) => Ok(*v),
        Field::Float(v) => Ok(*v as f64),
        other => Err(at.err(path, format!("expected a double, found `{other}`"))),
    }
}

fn doubles(field: &Field, at: &RowAt, path: &str) -> Result<Vec<f64>> {
    match field {
        Field::ListInternal(list) => list
            .elements()
            .iter()
            .enumerate()
            .map(|(i, f)| double(f, at, &format!("{path}[{i}]")))
            .collect(),
        other => Err(at.err(path, format!("expected a list of doubles, found `{other}`"))),
    }
}

fn group<'a>(field: &'a Field, at: &RowAt, path: &str) -> Result<&'a Row> {
    match field {
        Field::Group(row) => Ok(row),
        other => Err(at.err(path, format!("expected a struct, found `{other}`"))),
    }
}

/// The nodes of every part file under `folder`; `ensemble` selects the table layout (`treeID` + `nodeData`).
pub fn read_nodes(folder: &Path, ensemble: bool) -> Result<Vec<NodeRow>> {
    let mut out = Vec::new();
    for file in part_files(folder)? {
        for (r, row) in rows(&file)?.iter().enumerate() {
            let at = RowAt {
                file: file.clone(),
                row: r,
                prefix: if ensemble { "nodeData." } else { "" },
            };
            let (tree, node) = if ensemble {
                let top = RowAt {
                    prefix: "",
                    ..at.clone()
                };
                let tree = int(need(row, "treeID", &top, "treeID")?, &top, "treeID")?;
                let node = group(need(row, "nodeData", &top, "nodeData")?, &top, "nodeData")?;
                (tree, node)
            } else {
                (0, row)
            };
            out.push(node_row(tree, node, at)?);
        }
    }
    Ok(out)
}

fn node_row(tree: i64, node: &Row, at: RowAt) -> Result<NodeRow> {
    let id = int(need(node, "id", &at, "id")?, &at, "id")?;
    let prediction = double(
        need(node, "prediction", &at, "prediction")?,
        &at,
        "prediction",
    )?;
    let stats = match get(node, "impurityStats") {
        Some(f) => doubles(f, &at, "impurityStats")?,
        None => Vec::new(),
    };
    let left = int(need(node, "leftChild", &at, "leftChild")?, &at, "leftChild")?;
    let right = int(
        need(node, "rightChild", &at, "rightChild")?,
        &at,
        "rightChild",
    )?;
    let split = match get(node, "split") {
        None => None,
        Some(f) => {
            let s = group(f, &at, "split")?;
            let feature = int(
                need(s, "featureIndex", &at, "split.featureIndex")?,
                &at,
                "split.featureIndex",
            )?;
            let values = match get(s, "leftCategoriesOrThreshold") {
                Some(f) => doubles(f, &at, "split.leftCategoriesOrThreshold")?,
                None => Vec::new(),
            };
            let num_categories = int(
                need(s, "numCategories", &at, "split.numCategories")?,
                &at,
                "split.numCategories",
            )?;
            Some(SplitRow {
                feature,
                values,
                num_categories,
            })
        }
    };
    Ok(NodeRow {
        tree,
        id,
        prediction,
        stats,
        left,
        right,
        split,
        at,
    })
}

/// The rows of every part file under `folder` (`treesMetadata/`).
pub fn read_trees(folder: &Path) -> Result<Vec<TreeRow>> {
    let mut out = Vec::new();
    for file in part_files(folder)? {
        for (r, row) in rows(&file)?.iter().enumerate() {
            let at = RowAt {
                file: file.clone(),
                row: r,
                prefix: "",
            };
            let tree = int(need(row, "treeID", &at, "treeID")?, &at, "treeID")?;
            let weight = double(need(row, "weights", &at, "weights")?, &at, "weights")?;
            out.push(TreeRow { tree, weight, at });
        }
    }
    Ok(out)
}
