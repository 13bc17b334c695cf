//! Training data: a table of f32 features stored column by column, an f64 target, optional sample weights.
//!
//! Reading a CSV file ([`Dataset::from_csv`]; a `.parquet`/`.parq` file is read into the same cells by
//! [`crate::io::parquet::read_records`], so the rules below apply to it unchanged, with rows in place of lines):
//! - the first non-empty line is the header; cells may be quoted (`"a,b"`); every row has as many cells;
//! - the target column is named (or given as a 0-based column index); an optional weight column is named too;
//!   every other column is a feature, in file order;
//! - an empty cell, `nan`/`NaN`/`NA`/`null` is a missing feature value (NaN); a missing target or weight is an
//!   error, and so is an infinite feature value;
//! - a numeric feature's cells are parsed as f64 and stored as f32 (the precision a device sees);
//! - a categorical feature (named with [`DatasetSpec::categorical`]) keeps its codes as they are when every value
//!   is a non-negative integer below 2²⁴ (so a device reads the raw column); otherwise its distinct strings are
//!   sorted and coded 0, 1, … in that order ([`Categories::Names`]);
//! - a classification target's distinct labels are sorted (numerically when every label is a number, else as
//!   strings, as scikit-learn's `LabelEncoder` does) and coded 0..K; their names are kept.
//!
//! Every error names the file, the line, the column and the offending value.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use crate::io::{self, DataError, Records};

/// What is learned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// Class labels.
    Classification,
    /// A real-valued target.
    Regression,
}

impl Task {
    /// `"classification"` or `"regression"`.
    pub fn name(self) -> &'static str {
        match self {
            Task::Classification => "classification",
            Task::Regression => "regression",
        }
    }
}

/// Without an explicit task, an all-integer target with at most this many distinct values is a classification
/// target; any non-numeric label makes one too.
pub const MAX_INFERRED_CLASSES: usize = 20;

/// How a CSV file becomes a [`Dataset`].
#[derive(Clone, Debug, Default)]
pub struct DatasetSpec {
    /// The target column: a header name, or a 0-based column index when no column has that name.
    pub target: String,
    /// Names of the categorical feature columns.
    pub categorical: Vec<String>,
    /// The sample-weight column, if any.
    pub weight: Option<String>,
    /// The task; `None` infers it from the target (see [`MAX_INFERRED_CLASSES`]).
    pub task: Option<Task>,
}

/// How a categorical feature's values map to codes.
#[derive(Clone, Debug, PartialEq)]
pub enum Categories {
    /// The values are the codes (non-negative integers below 2²⁴).
    Integer,
    /// Code `i` is the `i`-th of these sorted names; a name not in the list (in later data) gets the code
    /// `names.len()`, which no split of a trained model contains.
    Names(Vec<String>),
}

/// A feature's kind.
#[derive(Clone, Debug, PartialEq)]
pub enum FeatureKind {
    /// Ordered values, split by thresholds.
    Numeric,
    /// Unordered codes, split by category sets.
    Categorical(Categories),
}

/// The column layout of a dataset, so later files (validation, test) are read the same way.
#[derive(Clone, Debug, PartialEq)]
pub struct Schema {
    /// Feature names, in model order.
    pub feature_names: Vec<String>,
    /// Feature kinds, in model order.
    pub kinds: Vec<FeatureKind>,
    /// The target column's name.
    pub target_name: String,
    /// The weight column's name, if any.
    pub weight_name: Option<String>,
    /// Class names by class index for classification, `None` for regression.
    pub classes: Option<Vec<String>>,
}

impl Schema {
    /// The task this schema describes.
    pub fn task(&self) -> Task {
        if self.classes.is_some() {
            Task::Classification
        } else {
            Task::Regression
        }
    }
}

/// A training or evaluation table.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Where the data came from (a file name), for messages.
    pub source: String,
    /// Column layout, labels and categories.
    pub schema: Schema,
    /// Number of rows.
    pub n_rows: usize,
    /// Feature values, column-major: feature `f` is `values[f * n_rows..(f + 1) * n_rows]`.
    values: Vec<f32>,
    /// Target: the class index (as f64) for classification, the value for regression.
    pub target: Vec<f64>,
    /// Sample weights (non-negative, finite), if the data has them.
    pub weights: Option<Vec<f64>>,
}

impl Dataset {
    /// Builds a dataset from in-memory columns (`columns[f][row]`), checking the shapes. Classification targets
    /// must be class indices below `classes.len()`.
    pub fn from_columns(
        schema: Schema,
        columns: Vec<Vec<f32>>,
        target: Vec<f64>,
        weights: Option<Vec<f64>>,
    ) -> Result<Dataset, String> {
        let n_rows = target.len();
        if columns.len() != schema.feature_names.len() || columns.len() != schema.kinds.len() {
            return Err(format!(
                "{} feature columns for {} names and {} kinds",
                columns.len(),
                schema.feature_names.len(),
                schema.kinds.len()
            ));
        }
        if let Some(c) = columns.iter().position(|c| c.len() != n_rows) {
            return Err(format!(
                "feature column {c} has {} values, the target {n_rows}",
                columns[c].len()
            ));
        }
        if columns.iter().flatten().any(|v| v.is_infinite()) {
            return Err("a feature value is infinite".into());
        }
        match &schema.classes {
            Some(classes) => {
                if let Some(y) = target
                    .iter()
                    .find(|&&y| !(y >= 0.0 && y.fract() == 0.0 && y < classes.len() as f64))
                {
                    return Err(format!(
                        "target {y} is not a class index below {}",
                        classes.len()
                    ));
                }
            }
            None => {
                if target.iter().any(|y| !y.is_finite()) {
                    return Err("a regression target is not finite".into());
                }
            }
        }
        if let Some(w) = &weights {
            if w.len() != n_rows {
                return Err(format!("{} weights for {n_rows} rows", w.len()));
            }
            if w.iter().any(|&w| !(w.is_finite() && w >= 0.0)) {
                return Err("a weight is negative or not finite".into());
            }
        }
        Ok(Dataset {
            source: "(in memory)".into(),
            schema,
            n_rows,
            values: columns.concat(),
            target,
            weights,
        })
    }

    /// Reads a training CSV or Parquet file (see the module documentation).
    pub fn from_csv(path: &Path, spec: &DatasetSpec) -> Result<Dataset, DataError> {
        let records = io::read_records(path)?;
        let ctx = Ctx {
            path,
            records: &records,
        };
        let header = &records.header;
        let target_col = match header.iter().position(|h| *h == spec.target) {
            Some(c) => c,
            None => match spec.target.parse::<usize>() {
                Ok(c) if c < header.len() => c,
                _ => {
                    return Err(ctx.err(
                        0,
                        0,
                        format!(
                            "no target column `{}` (the header has: {})",
                            spec.target,
                            header.join(", ")
                        ),
                    ));
                }
            },
        };
        let weight_col = match &spec.weight {
            None => None,
            Some(name) => match header.iter().position(|h| h == name) {
                Some(c) if c == target_col => {
                    return Err(ctx.err(
                        0,
                        0,
                        format!("`{name}` cannot be both the target and the weight column"),
                    ));
                }
                Some(c) => Some(c),
                None => {
                    return Err(ctx.err(0, 0, format!("no weight column `{name}`")));
                }
            },
        };
        for name in &spec.categorical {
            match header.iter().position(|h| h == name) {
                None => return Err(ctx.err(0, 0, format!("no categorical column `{name}`"))),
                Some(c) if c == target_col || Some(c) == weight_col => {
                    return Err(ctx.err(
                        0,
                        c + 1,
                        format!("`{name}` is the target or weight column, not a feature"),
                    ));
                }
                Some(_) => {}
            }
        }
        if records.rows.is_empty() {
            return Err(ctx.err(0, 0, "no data rows after the header".into()));
        }
        let feature_cols: Vec<usize> = (0..header.len())
            .filter(|&c| c != target_col && Some(c) != weight_col)
            .collect();
        let mut kinds = Vec::with_capacity(feature_cols.len());
        for &c in &feature_cols {
            if spec.categorical.contains(&header[c]) {
                kinds.push(FeatureKind::Categorical(categories_of(&records, c)));
            } else {
                kinds.push(FeatureKind::Numeric);
            }
        }
        let task = match spec.task {
            Some(t) => t,
            None => infer_task(&records, target_col),
        };
        let classes = match task {
            Task::Classification => Some(class_names(&records, target_col, &ctx)?),
            Task::Regression => None,
        };
        let schema = Schema {
            feature_names: feature_cols.iter().map(|&c| header[c].clone()).collect(),
            kinds,
            target_name: header[target_col].clone(),
            weight_name: weight_col.map(|c| header[c].clone()),
            classes,
        };
        let data = read_with_schema(
            path,
            &records,
            schema,
            &feature_cols,
            target_col,
            weight_col,
        )?;
        // Nothing can be learned from one label or one row, and the model written would not load.
        match &data.schema.classes {
            Some(c) if c.len() < 2 => {
                return Err(ctx.err(
                    0,
                    target_col + 1,
                    format!(
                        "the target column `{}` holds one class (`{}`) in its {} rows: classification needs at \
                         least two",
                        header[target_col],
                        c.first().map_or("", String::as_str),
                        records.rows.len()
                    ),
                ));
            }
            None if records.rows.len() < 2 => {
                return Err(ctx.err(0, 0, "one data row: regression needs at least two".into()));
            }
            _ => {}
        }
        Ok(data)
    }

    /// Reads another CSV or Parquet file (validation or test data) with this dataset's schema: columns are found by name
    /// (in any order, extra columns ignored), categories use the training codes, labels must be known classes.
    pub fn from_csv_like(path: &Path, schema: &Schema) -> Result<Dataset, DataError> {
        let records = io::read_records(path)?;
        let ctx = Ctx {
            path,
            records: &records,
        };
        let find = |name: &str| {
            records
                .header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| {
                    ctx.err(
                        0,
                        0,
                        format!("no column `{name}` (the training data has one)"),
                    )
                })
        };
        let feature_cols = schema
            .feature_names
            .iter()
            .map(|n| find(n))
            .collect::<Result<Vec<usize>, _>>()?;
        let target_col = find(&schema.target_name)?;
        let weight_col = match &schema.weight_name {
            Some(n) => Some(find(n)?),
            None => None,
        };
        if records.rows.is_empty() {
            return Err(ctx.err(0, 0, "no data rows after the header".into()));
        }
        read_with_schema(
            path,
            &records,
            schema.clone(),
            &feature_cols,
            target_col,
            weight_col,
        )
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.schema.feature_names.len()
    }

    /// Number of classes (0 for regression).
    pub fn n_classes(&self) -> usize {
        self.schema.classes.as_ref().map_or(0, Vec::len)
    }

    /// The task.
    pub fn task(&self) -> Task {
        self.schema.task()
    }

    /// Feature `f`'s values for every row.
    pub fn column(&self, f: usize) -> &[f32] {
        &self.values[f * self.n_rows..(f + 1) * self.n_rows]
    }

    /// Row `r`'s feature values, written into `out` (cleared first).
    pub fn row_into(&self, r: usize, out: &mut Vec<f32>) {
        out.clear();
        out.extend((0..self.n_features()).map(|f| self.values[f * self.n_rows + r]));
    }

    /// Row `r`'s feature values.
    pub fn row(&self, r: usize) -> Vec<f32> {
        let mut v = Vec::new();
        self.row_into(r, &mut v);
        v
    }

    /// All rows, row-major (`n_rows × n_features`), the layout the core's batch prediction reads.
    pub fn rows_row_major(&self) -> Vec<f32> {
        let nf = self.n_features();
        let mut out = vec![0.0f32; self.n_rows * nf];
        for f in 0..nf {
            for (r, &v) in self.column(f).iter().enumerate() {
                out[r * nf + f] = v;
            }
        }
        out
    }

    /// Class index of every row (classification only; 0 for regression rows).
    pub fn class_indices(&self) -> Vec<usize> {
        self.target.iter().map(|&y| y as usize).collect()
    }
}

struct Ctx<'a> {
    path: &'a Path,
    records: &'a Records,
}

impl Ctx<'_> {
    fn err(&self, line: usize, column: usize, message: String) -> DataError {
        self.records.error(self.path, line, column, message)
    }
}

/// A categorical column's coding, chosen from its training values.
fn categories_of(records: &Records, c: usize) -> Categories {
    let cells = records
        .rows
        .iter()
        .map(|r| r.cells[c].as_str())
        .filter(|s| !io::is_missing(s));
    let mut integer = true;
    let mut names = BTreeSet::new();
    for s in cells {
        if integer && integer_code(s).is_none() {
            integer = false;
        }
        names.insert(s.to_string());
    }
    if integer {
        Categories::Integer
    } else {
        Categories::Names(names.into_iter().collect())
    }
}

/// A cell that is a non-negative integer below 2²⁴ (`3`, `3.0`), as a code.
fn integer_code(s: &str) -> Option<u32> {
    let v: f64 = s.parse().ok()?;
    (v >= 0.0 && v.fract() == 0.0 && v < 16_777_216.0).then_some(v as u32)
}

fn infer_task(records: &Records, target_col: usize) -> Task {
    let mut distinct = BTreeSet::new();
    for r in &records.rows {
        let s = r.cells[target_col].as_str();
        if io::is_missing(s) {
            continue;
        }
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v.fract() == 0.0 => {
                distinct.insert(v.to_bits());
            }
            Ok(_) => return Task::Regression,
            Err(_) => return Task::Classification,
        }
    }
    if distinct.len() <= MAX_INFERRED_CLASSES {
        Task::Classification
    } else {
        Task::Regression
    }
}

/// The label's canonical name: a number is written in its shortest form (`1.0` and `1` are the same class).
fn label_key(s: &str, numeric: bool) -> String {
    if numeric && let Ok(v) = s.parse::<f64>() {
        return format!("{v}");
    }
    s.to_string()
}

fn class_names(records: &Records, target_col: usize, ctx: &Ctx) -> Result<Vec<String>, DataError> {
    let mut numeric = true;
    for r in &records.rows {
        let s = r.cells[target_col].as_str();
        if io::is_missing(s) {
            return Err(ctx.err(
                r.line,
                target_col + 1,
                format!(
                    "missing label `{s}` in the target column `{}`",
                    records.header[target_col]
                ),
            ));
        }
        if !s.parse::<f64>().is_ok_and(f64::is_finite) {
            numeric = false;
        }
    }
    if numeric {
        let mut values = BTreeMap::new();
        for r in &records.rows {
            let v: f64 = r.cells[target_col].parse().unwrap_or(f64::NAN);
            values.insert(OrderedF64(v), label_key(&r.cells[target_col], true));
        }
        Ok(values.into_values().collect())
    } else {
        let names: BTreeSet<&str> = records
            .rows
            .iter()
            .map(|r| r.cells[target_col].as_str())
            .collect();
        Ok(names.into_iter().map(str::to_string).collect())
    }
}

/// Total order on finite f64 labels.
#[derive(PartialEq)]
struct OrderedF64(f64);
impl Eq for OrderedF64 {}
impl PartialOrd for OrderedF64 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OrderedF64 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

fn read_with_schema(
    path: &Path,
    records: &Records,
    schema: Schema,
    feature_cols: &[usize],
    target_col: usize,
    weight_col: Option<usize>,
) -> Result<Dataset, DataError> {
    let ctx = Ctx { path, records };
    let n_rows = records.rows.len();
    let header = &records.header;
    let mut values = vec![0.0f32; n_rows * feature_cols.len()];
    for (f, (&c, kind)) in feature_cols.iter().zip(&schema.kinds).enumerate() {
        let codes: Option<HashMap<&str, u32>> = match kind {
            FeatureKind::Categorical(Categories::Names(names)) => Some(
                names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (n.as_str(), i as u32))
                    .collect(),
            ),
            _ => None,
        };
        let out = &mut values[f * n_rows..(f + 1) * n_rows];
        for (r, rec) in records.rows.iter().enumerate() {
            let s = rec.cells[c].as_str();
            out[r] = if io::is_missing(s) {
                f32::NAN
            } else {
                match (kind, &codes) {
                    (_, Some(codes)) => codes.get(s).copied().unwrap_or(codes.len() as u32) as f32,
                    (FeatureKind::Categorical(_), None) => {
                        let v: f64 = s.parse().map_err(|_| {
                            ctx.err(
                                rec.line,
                                c + 1,
                                format!(
                                    "`{s}` in the categorical column `{}` is not an integer code (the training \
                                     data coded this column by its integer values)",
                                    header[c]
                                ),
                            )
                        })?;
                        v as f32
                    }
                    (FeatureKind::Numeric, None) => {
                        let v: f64 = s.parse().map_err(|_| {
                            ctx.err(
                                rec.line,
                                c + 1,
                                format!(
                                    "`{s}` in the column `{}` is not a number (use an empty cell or nan for a \
                                     missing value, or declare the column categorical)",
                                    header[c]
                                ),
                            )
                        })?;
                        let x = v as f32;
                        if x.is_infinite() {
                            return Err(ctx.err(
                                rec.line,
                                c + 1,
                                format!(
                                    "`{s}` in the column `{}` is infinite in f32 (use an empty cell for a missing \
                                     value)",
                                    header[c]
                                ),
                            ));
                        }
                        x
                    }
                }
            };
        }
    }
    let mut target = Vec::with_capacity(n_rows);
    let class_of: Option<HashMap<String, usize>> = schema.classes.as_ref().map(|names| {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect()
    });
    let numeric_labels = schema
        .classes
        .as_ref()
        .is_some_and(|names| names.iter().all(|n| n.parse::<f64>().is_ok()));
    for rec in &records.rows {
        let s = rec.cells[target_col].as_str();
        let name = &header[target_col];
        if io::is_missing(s) {
            return Err(ctx.err(
                rec.line,
                target_col + 1,
                format!("missing target `{s}` in the column `{name}`"),
            ));
        }
        let y = match &class_of {
            Some(map) => {
                let key = label_key(s, numeric_labels);
                *map.get(&key).ok_or_else(|| {
                    ctx.err(
                        rec.line,
                        target_col + 1,
                        format!(
                            "label `{s}` in the column `{name}` is not one of the training classes ({})",
                            schema.classes.as_deref().unwrap_or_default().join(", ")
                        ),
                    )
                })? as f64
            }
            None => {
                let v: f64 = s.parse().map_err(|_| {
                    ctx.err(
                        rec.line,
                        target_col + 1,
                        format!(
                            "target `{s}` in the column `{name}` is not a number (use --task classification for \
                             labels)"
                        ),
                    )
                })?;
                if !v.is_finite() {
                    return Err(ctx.err(
                        rec.line,
                        target_col + 1,
                        format!("target `{s}` in the column `{name}` is not finite"),
                    ));
                }
                v
            }
        };
        target.push(y);
    }
    let weights = match weight_col {
        None => None,
        Some(c) => {
            let mut w = Vec::with_capacity(n_rows);
            for rec in &records.rows {
                let s = rec.cells[c].as_str();
                match s.parse::<f64>() {
                    Ok(v) if v.is_finite() && v >= 0.0 => w.push(v),
                    _ => {
                        return Err(ctx.err(
                            rec.line,
                            c + 1,
                            format!(
                                "weight `{s}` in the column `{}` is not a finite non-negative number",
                                header[c]
                            ),
                        ));
                    }
                }
            }
            Some(w)
        }
    };
    Ok(Dataset {
        source: path.display().to_string(),
        schema,
        n_rows,
        values,
        target,
        weights,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch::Scratch;

    /// Writes `text` to `name` in `dir`; returns its path.
    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn spec(target: &str) -> DatasetSpec {
        DatasetSpec {
            target: target.into(),
            ..DatasetSpec::default()
        }
    }

    #[test]
    fn labels_sorted_features_column_major_missing_values() {
        let dir = Scratch::new("dataset-labels");
        let p = write(
            &dir,
            "a.csv",
            "x,colour,y,w\n1.5,red,b,1\n,blue,a,2\nnan,red,c,0.5\n2,NA,a,1\n",
        );
        let mut s = spec("y");
        s.categorical = vec!["colour".into()];
        s.weight = Some("w".into());
        let d = Dataset::from_csv(&p, &s).unwrap();
        assert_eq!(d.schema.feature_names, ["x", "colour"]);
        assert_eq!(d.task(), Task::Classification);
        assert_eq!(
            d.schema.classes.as_deref().unwrap(),
            ["a".to_string(), "b".into(), "c".into()]
        );
        assert_eq!(d.target, [1.0, 0.0, 2.0, 0.0]);
        assert_eq!(d.column(0)[0], 1.5);
        assert!(d.column(0)[1].is_nan() && d.column(0)[2].is_nan());
        assert_eq!(
            d.schema.kinds[1],
            FeatureKind::Categorical(Categories::Names(vec!["blue".into(), "red".into()]))
        );
        assert_eq!(&d.column(1)[..3], &[1.0, 0.0, 1.0]);
        assert!(d.column(1)[3].is_nan());
        assert_eq!(d.weights.as_deref().unwrap(), &[1.0, 2.0, 0.5, 1.0]);
        assert_eq!(d.row(0), vec![1.5, 1.0]);

        // Later data: columns by name, unseen category coded past the known ones, unknown label rejected.
        let v = write(&dir, "b.csv", "w,y,colour,x\n1,c,green,3\n1,a,blue,4\n");
        let dv = Dataset::from_csv_like(&v, &d.schema).unwrap();
        assert_eq!(dv.target, [2.0, 0.0]);
        assert_eq!(dv.column(1), &[2.0, 0.0]);
        assert_eq!(dv.column(0), &[3.0, 4.0]);
        let bad = write(&dir, "c.csv", "x,colour,y,w\n1,red,zzz,1\n");
        let e = Dataset::from_csv_like(&bad, &d.schema).unwrap_err();
        assert_eq!((e.line, e.column), (2, 3));
        assert!(e.message.contains("zzz"), "{e}");
    }

    #[test]
    fn numeric_labels_sort_by_value_and_task_inference() {
        let dir = Scratch::new("dataset-numeric-labels");
        let p = write(&dir, "n.csv", "f,label\n1,10\n2,9\n3,9.0\n4,100\n");
        let d = Dataset::from_csv(&p, &spec("label")).unwrap();
        assert_eq!(
            d.schema.classes.as_deref().unwrap(),
            ["9".to_string(), "10".into(), "100".into()]
        );
        assert_eq!(d.target, [1.0, 0.0, 0.0, 2.0]);
        let p = write(&dir, "r.csv", "f,t\n1,0.5\n2,1\n");
        assert_eq!(
            Dataset::from_csv(&p, &spec("t")).unwrap().task(),
            Task::Regression
        );
        let mut s = spec("1");
        s.task = Some(Task::Regression);
        let d = Dataset::from_csv(&p, &s).unwrap();
        assert_eq!(d.target, [0.5, 1.0]);
        assert_eq!(d.schema.target_name, "t");
        let many: String = (0..30).map(|i| format!("{i},{i}\n")).collect();
        let p = write(&dir, "m.csv", &format!("f,t\n{many}"));
        assert_eq!(
            Dataset::from_csv(&p, &spec("t")).unwrap().task(),
            Task::Regression
        );
    }

    #[test]
    fn errors_name_line_column_and_value() {
        let dir = Scratch::new("dataset-errors");
        let p = write(&dir, "e1.csv", "a,b,y\n1,2,0\n1,oops,1\n");
        let e = Dataset::from_csv(&p, &spec("y")).unwrap_err();
        assert_eq!((e.line, e.column), (3, 2));
        assert!(
            e.message.contains("oops") && e.message.contains("`b`"),
            "{e}"
        );
        assert!(e.to_string().contains("e1.csv:3: column 2"), "{e}");
        let e = Dataset::from_csv(&p, &spec("nope")).unwrap_err();
        assert!(e.message.contains("no target column `nope`"), "{e}");
        let p = write(&dir, "e2.csv", "a,y\n1,\n");
        let e = Dataset::from_csv(&p, &spec("y")).unwrap_err();
        assert_eq!((e.line, e.column), (2, 2));
        let p = write(&dir, "e3.csv", "a,y,w\n1,0,-1\n");
        let mut s = spec("y");
        s.weight = Some("w".into());
        let e = Dataset::from_csv(&p, &s).unwrap_err();
        assert_eq!((e.line, e.column), (2, 3));
        let p = write(&dir, "e4.csv", "a,y\ninf,0\n");
        let e = Dataset::from_csv(&p, &spec("y")).unwrap_err();
        assert!(e.message.contains("infinite"), "{e}");
        let p = write(&dir, "e5.csv", "a,y\n1,1.5\n2,x\n");
        let mut s = spec("y");
        s.task = Some(Task::Regression);
        let e = Dataset::from_csv(&p, &s).unwrap_err();
        assert_eq!((e.line, e.column), (3, 2));
    }

    #[test]
    fn integer_categories_keep_their_codes() {
        let dir = Scratch::new("dataset-integer-categories");
        let p = write(&dir, "i.csv", "c,y\n3,0\n7,1\n,0\n");
        let mut s = spec("y");
        s.categorical = vec!["c".into()];
        let d = Dataset::from_csv(&p, &s).unwrap();
        assert_eq!(
            d.schema.kinds[0],
            FeatureKind::Categorical(Categories::Integer)
        );
        assert_eq!(&d.column(0)[..2], &[3.0, 7.0]);
    }
}
