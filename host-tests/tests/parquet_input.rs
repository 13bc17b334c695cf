//! Parquet input: a table written with the `parquet` crate (nulls, a dictionary-encoded string category, a string
//! label, integer, boolean, float and double columns, several row groups, three codecs) reads into exactly the
//! dataset its CSV twin does; `emkern train` and `emkern eval` take Parquet files end to end and give the same
//! model and scores as on CSV; unsupported column types and bad values are errors naming the file, the row, the
//! row group and the column.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use emkern_host::io;
use emkern_host::train::dataset::{Dataset, DatasetSpec, Task};
use parquet::basic::{Compression, Encoding, GzipLevel, ZstdLevel};
use parquet::data_type::{
    BoolType, ByteArray, ByteArrayType, DoubleType, FixedLenByteArray, FixedLenByteArrayType,
    FloatType, Int32Type, Int64Type, Int96, Int96Type,
};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use parquet::schema::types::ColumnPath;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("parquet_input");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// One column's values (`None` = null).
#[derive(Clone)]
enum Values {
    Bool(Vec<Option<bool>>),
    I32(Vec<Option<i32>>),
    I64(Vec<Option<i64>>),
    F32(Vec<Option<f32>>),
    F64(Vec<Option<f64>>),
    Str(Vec<Option<String>>),
    /// 16-bit floats: the IEEE half bits and the value they hold.
    F16(Vec<Option<(u16, f32)>>),
    /// `n` INT96 values (legacy timestamps), for the rejection test.
    I96(usize),
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::Bool(v) => v.len(),
            Values::I32(v) => v.len(),
            Values::I64(v) => v.len(),
            Values::F32(v) => v.len(),
            Values::F64(v) => v.len(),
            Values::Str(v) => v.len(),
            Values::F16(v) => v.len(),
            Values::I96(n) => *n,
        }
    }

    /// The cell a CSV writer (pandas' `to_csv` with booleans as 0/1) puts in row `r`.
    fn csv(&self, r: usize) -> String {
        fn opt<T>(v: &Option<T>, f: impl Fn(&T) -> String) -> String {
            v.as_ref().map_or_else(String::new, f)
        }
        match self {
            Values::Bool(v) => opt(&v[r], |b| (*b as u8).to_string()),
            Values::I32(v) => opt(&v[r], i32::to_string),
            Values::I64(v) => opt(&v[r], i64::to_string),
            Values::F32(v) => opt(&v[r], |x| format!("{x}")),
            Values::F64(v) => opt(&v[r], |x| format!("{x}")),
            Values::Str(v) => opt(&v[r], |s| format!("\"{s}\"")),
            Values::F16(v) => opt(&v[r], |(_, x)| format!("{x}")),
            Values::I96(_) => unreachable!("INT96 has no CSV twin"),
        }
    }
}

/// A column: its Parquet schema line (`OPTIONAL INT32 n;`), its name, its values, its codec and whether it is
/// dictionary-encoded.
#[derive(Clone)]
struct Column {
    schema: String,
    name: String,
    values: Values,
    compression: Compression,
    dictionary: bool,
}

fn definition_levels<T>(v: &[Option<T>]) -> Vec<i16> {
    v.iter().map(|x| x.is_some() as i16).collect()
}

fn present<T: Clone>(v: &[Option<T>]) -> Vec<T> {
    v.iter().flatten().cloned().collect()
}

/// Writes `columns` as a Parquet file with row groups of `group_rows` rows.
fn write_parquet(path: &Path, columns: &[Column], group_rows: usize) {
    let message = format!(
        "message table {{ {} }}",
        columns
            .iter()
            .map(|c| c.schema.as_str())
            .collect::<String>()
    );
    let schema = Arc::new(parse_message_type(&message).unwrap());
    let mut props = WriterProperties::builder().set_dictionary_enabled(false);
    for c in columns {
        props = props
            .set_column_compression(ColumnPath::from(c.name.as_str()), c.compression)
            .set_column_dictionary_enabled(ColumnPath::from(c.name.as_str()), c.dictionary);
    }
    let mut w =
        SerializedFileWriter::new(File::create(path).unwrap(), schema, Arc::new(props.build()))
            .unwrap();
    let n = columns[0].values.len();
    for start in (0..n).step_by(group_rows) {
        let end = (start + group_rows).min(n);
        let mut rg = w.next_row_group().unwrap();
        for c in columns {
            let mut col = rg
                .next_column()
                .unwrap()
                .expect("a column per schema field");
            let required = c.schema.trim_start().starts_with("REQUIRED");
            macro_rules! put {
                ($ty:ty, $v:expr, $map:expr) => {{
                    let slice = &$v[start..end];
                    let defs = definition_levels(slice);
                    let vals: Vec<_> = present(slice).into_iter().map($map).collect();
                    col.typed::<$ty>()
                        .write_batch(&vals, (!required).then_some(&defs[..]), None)
                        .unwrap();
                }};
            }
            match &c.values {
                Values::Bool(v) => put!(BoolType, v, |x| x),
                Values::I32(v) => put!(Int32Type, v, |x| x),
                Values::I64(v) => put!(Int64Type, v, |x| x),
                Values::F32(v) => put!(FloatType, v, |x| x),
                Values::F64(v) => put!(DoubleType, v, |x| x),
                Values::Str(v) => put!(ByteArrayType, v, |s: String| ByteArray::from(s.as_str())),
                Values::F16(v) => put!(FixedLenByteArrayType, v, |(bits, _): (u16, f32)| {
                    FixedLenByteArray::from(bits.to_le_bytes().to_vec())
                }),
                Values::I96(_) => {
                    let v = vec![Int96::new(); end - start];
                    let defs = vec![1i16; end - start];
                    col.typed::<Int96Type>()
                        .write_batch(&v, Some(&defs), None)
                        .unwrap();
                }
            }
            col.close().unwrap();
        }
        rg.close().unwrap();
    }
    w.close().unwrap();
}

/// The same table as CSV.
fn write_csv(path: &Path, columns: &[Column]) {
    let mut text = columns
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(",")
        + "\n";
    for r in 0..columns[0].values.len() {
        let cells: Vec<String> = columns.iter().map(|c| c.values.csv(r)).collect();
        text += &(cells.join(",") + "\n");
    }
    std::fs::write(path, text).unwrap();
}

/// A deterministic mixed-type table of `n` rows (offset `seed` varies the values).
fn table(n: usize, seed: usize) -> Vec<Column> {
    let colours = ["red", "green", "blue", "dark red"];
    let labels = ["cat", "dog", "bird"];
    let h = |i: usize, k: usize| (i * 7919 + seed * 104_729 + k * 31) % 1009;
    let col = |schema: &str, name: &str, values, compression, dictionary| Column {
        schema: schema.into(),
        name: name.into(),
        values,
        compression,
        dictionary,
    };
    vec![
        col(
            "OPTIONAL DOUBLE x;",
            "x",
            Values::F64(
                (0..n)
                    .map(|i| (h(i, 1) % 9 != 0).then(|| h(i, 2) as f64 / 37.0 - 11.3))
                    .collect(),
            ),
            Compression::SNAPPY,
            false,
        ),
        col(
            "REQUIRED INT32 n;",
            "n",
            Values::I32((0..n).map(|i| Some(h(i, 3) as i32 - 500)).collect()),
            Compression::ZSTD(ZstdLevel::default()),
            false,
        ),
        col(
            "OPTIONAL INT32 small (INT_8);",
            "small",
            Values::I32((0..n).map(|i| Some((h(i, 5) % 5) as i32)).collect()),
            Compression::GZIP(GzipLevel::default()),
            false,
        ),
        col(
            "OPTIONAL INT64 big (INTEGER(64, false));",
            "big",
            Values::I64((0..n).map(|i| Some(h(i, 6) as i64 * 1_000_003)).collect()),
            Compression::UNCOMPRESSED,
            false,
        ),
        col(
            "OPTIONAL FLOAT f;",
            "f",
            Values::F32(
                (0..n)
                    .map(|i| (h(i, 7) % 13 != 0).then(|| h(i, 8) as f32 * 0.1 - 3.7))
                    .collect(),
            ),
            Compression::SNAPPY,
            false,
        ),
        col(
            "OPTIONAL BOOLEAN flag;",
            "flag",
            Values::Bool(
                (0..n)
                    .map(|i| (h(i, 9) % 17 != 0).then(|| h(i, 10) % 2 == 0))
                    .collect(),
            ),
            Compression::SNAPPY,
            false,
        ),
        col(
            "OPTIONAL BYTE_ARRAY colour (UTF8);",
            "colour",
            Values::Str(
                (0..n)
                    .map(|i| (h(i, 11) % 7 != 0).then(|| colours[h(i, 12) % 4].to_string()))
                    .collect(),
            ),
            Compression::ZSTD(ZstdLevel::default()),
            true,
        ),
        col(
            "REQUIRED BYTE_ARRAY label (STRING);",
            "label",
            Values::Str(
                (0..n)
                    .map(|i| Some(labels[h(i, 13) % 3].to_string()))
                    .collect(),
            ),
            Compression::SNAPPY,
            false,
        ),
        col(
            "REQUIRED DOUBLE w;",
            "w",
            Values::F64((0..n).map(|i| Some(0.5 + (h(i, 14) % 4) as f64)).collect()),
            Compression::SNAPPY,
            false,
        ),
        // pyarrow's type for a column of nulls only.
        col(
            "OPTIONAL INT32 empty (UNKNOWN);",
            "empty",
            Values::I32(vec![None; n]),
            Compression::SNAPPY,
            false,
        ),
        col(
            "OPTIONAL FIXED_LEN_BYTE_ARRAY (2) half (FLOAT16);",
            "half",
            Values::F16(
                (0..n)
                    .map(|i| {
                        let halves = [
                            (0x3E00, 1.5),
                            (0xC000, -2.0),
                            (0x3400, 0.25),
                            (0x4900, 10.0),
                        ];
                        (h(i, 15) % 5 != 0).then(|| halves[h(i, 16) % 4])
                    })
                    .collect(),
            ),
            Compression::SNAPPY,
            false,
        ),
    ]
}

/// Writes the table as `name.parquet` (row groups of `group_rows`) and `name.csv`.
fn twins(name: &str, n: usize, seed: usize, group_rows: usize) -> (PathBuf, PathBuf) {
    let columns = table(n, seed);
    let pq = scratch(&format!("{name}.parquet"));
    let csv = scratch(&format!("{name}.csv"));
    write_parquet(&pq, &columns, group_rows);
    write_csv(&csv, &columns);
    (pq, csv)
}

/// Equal datasets (apart from the file name), feature values compared bit for bit (NaN = missing).
fn same_dataset(parquet: &Dataset, csv: &Dataset) {
    assert_eq!(parquet.schema, csv.schema);
    assert_eq!(parquet.n_rows, csv.n_rows);
    assert_eq!(parquet.target, csv.target);
    assert_eq!(parquet.weights, csv.weights);
    let bits =
        |d: &Dataset| -> Vec<u32> { d.rows_row_major().iter().map(|v| v.to_bits()).collect() };
    assert_eq!(bits(parquet), bits(csv));
}

#[test]
fn parquet_reads_into_the_dataset_of_its_csv_twin() {
    let (pq, csv) = twins("mixed", 57, 1, 20);
    // The fixture has what it claims: 3 row groups, `colour` dictionary-encoded, `label` plain, nulls.
    let reader = SerializedFileReader::new(File::open(&pq).unwrap()).unwrap();
    let meta = reader.metadata();
    assert_eq!(meta.num_row_groups(), 3);
    let encodings =
        |c: usize| -> Vec<Encoding> { meta.row_group(0).column(c).encodings().collect() };
    assert!(
        encodings(6)
            .iter()
            .any(|e| matches!(e, Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY)),
        "{:?}",
        encodings(6)
    );
    assert!(
        !encodings(7)
            .iter()
            .any(|e| matches!(e, Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY))
    );
    let records = io::read_records(&pq).unwrap();
    assert_eq!(records.row_groups, [20, 20, 17]);
    assert!(records.rows.iter().all(|r| r.cells[9].is_empty()));
    assert!(records.rows.iter().any(|r| r.cells[10] == "1.5"));
    assert_eq!(records.rows.len(), 57);
    assert!(records.rows.iter().any(|r| r.cells[0].is_empty()));

    let spec = |target: &str, categorical: &[&str], weight: Option<&str>, task| DatasetSpec {
        target: target.into(),
        categorical: categorical.iter().map(|s| s.to_string()).collect(),
        weight: weight.map(str::to_string),
        task,
    };
    let specs = [
        // String label, string category with nulls (names sorted), boolean category, weights.
        spec("label", &["colour", "flag"], Some("w"), None),
        // An integer column as the target: classification by inference, numeric class order; integer codes.
        spec("small", &["colour", "label"], None, None),
        // Regression on an integer column; the string label as a category.
        spec("n", &["colour", "label"], Some("w"), Some(Task::Regression)),
        // The label by its 0-based column index.
        spec("7", &["colour"], None, None),
    ];
    let (vpq, vcsv) = twins("mixed_valid", 23, 2, 10);
    for s in &specs {
        let a = Dataset::from_csv(&pq, s).unwrap_or_else(|e| panic!("{e}"));
        let b = Dataset::from_csv(&csv, s).unwrap_or_else(|e| panic!("{e}"));
        same_dataset(&a, &b);
        assert_eq!(a.n_rows, 57);
        let va = Dataset::from_csv_like(&vpq, &a.schema).unwrap_or_else(|e| panic!("{e}"));
        let vb = Dataset::from_csv_like(&vcsv, &b.schema).unwrap_or_else(|e| panic!("{e}"));
        same_dataset(&va, &vb);
    }
    // A target with nulls is an error from both, at the same row.
    let s = spec("f", &["colour", "label"], None, Some(Task::Regression));
    let (a, b) = (
        Dataset::from_csv(&pq, &s).unwrap_err(),
        Dataset::from_csv(&csv, &s).unwrap_err(),
    );
    assert_eq!((a.line + 1, a.column), (b.line, b.column), "{a}\n{b}");
    assert!(a.message.starts_with(&b.message), "{a}\n{b}");
    let d = Dataset::from_csv(&pq, &specs[0]).unwrap();
    assert_eq!(
        d.schema.classes.as_deref().unwrap(),
        ["bird".to_string(), "cat".into(), "dog".into()]
    );
    let colour = d
        .schema
        .feature_names
        .iter()
        .position(|n| n == "colour")
        .unwrap();
    assert!(d.column(colour).iter().any(|v| v.is_nan()));
    let d = Dataset::from_csv(&pq, &specs[1]).unwrap();
    assert_eq!(d.task(), Task::Classification);
    assert_eq!(
        d.schema.classes.as_deref().unwrap(),
        [
            "0".to_string(),
            "1".into(),
            "2".into(),
            "3".into(),
            "4".into()
        ]
    );
}

#[test]
fn parquet_errors_name_file_row_group_column_and_value() {
    // A string column used as a numeric feature: the row (0-based), its row group, the column and the value.
    let n = 30;
    let mut columns = table(n, 3);
    columns.truncate(2);
    columns.push(Column {
        schema: "OPTIONAL BYTE_ARRAY grade (UTF8);".into(),
        name: "grade".into(),
        values: Values::Str(
            (0..n)
                .map(|i| Some(if i == 17 { "A+".into() } else { i.to_string() }))
                .collect(),
        ),
        compression: Compression::SNAPPY,
        dictionary: true,
    });
    let pq = scratch("bad_value.parquet");
    write_parquet(&pq, &columns, 8);
    let spec = DatasetSpec {
        target: "n".into(),
        task: Some(Task::Regression),
        ..DatasetSpec::default()
    };
    let e = Dataset::from_csv(&pq, &spec).unwrap_err();
    let text = e.to_string();
    assert_eq!((e.line, e.column), (18, 3), "{text}");
    assert!(
        text.contains("bad_value.parquet: row 17: column 3")
            && text.contains("`A+`")
            && text.contains("`grade`")
            && text.contains("(row group 2)"),
        "{text}"
    );

    // Decimal and date columns are rejected by type, naming the column.
    for (schema, name, values, ty) in [
        (
            "OPTIONAL INT32 price (DECIMAL(9, 2));",
            "price",
            Values::I32((0..n).map(|i| Some(i as i32 * 100)).collect()),
            "DECIMAL(9, 2)",
        ),
        (
            "OPTIONAL INT32 day (DATE);",
            "day",
            Values::I32((0..n).map(|i| Some(19_000 + i as i32)).collect()),
            "DATE",
        ),
        ("OPTIONAL INT96 stamp;", "stamp", Values::I96(n), "INT96"),
        (
            "OPTIONAL group nested { OPTIONAL INT32 a; }",
            "nested",
            Values::I32(vec![None; n]),
            "group",
        ),
    ] {
        let mut columns = table(n, 3);
        columns.truncate(2);
        columns.push(Column {
            schema: schema.into(),
            name: name.into(),
            values,
            compression: Compression::SNAPPY,
            dictionary: false,
        });
        let pq = scratch(&format!("{name}.parquet"));
        write_parquet(&pq, &columns, 16);
        let text = Dataset::from_csv(&pq, &spec).unwrap_err().to_string();
        assert!(
            text.contains(&format!("{name}.parquet: column 3"))
                && text.contains(&format!("`{name}`"))
                && text.contains(ty),
            "{text}"
        );
    }

    // Later data without a training column; a label the training data did not have.
    let (pq, _) = twins("train_for_mismatch", 40, 4, 16);
    let s = DatasetSpec {
        target: "label".into(),
        categorical: vec!["colour".into()],
        ..DatasetSpec::default()
    };
    let d = Dataset::from_csv(&pq, &s).unwrap();
    let mut other = table(12, 5);
    other.retain(|c| c.name != "colour");
    let missing = scratch("no_colour.parquet");
    write_parquet(&missing, &other, 12);
    let text = Dataset::from_csv_like(&missing, &d.schema)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("no_colour.parquet") && text.contains("no column `colour`"),
        "{text}"
    );
    let mut other = table(12, 5);
    if let Values::Str(v) = &mut other[7].values {
        v[9] = Some("fish".into());
    }
    let unknown = scratch("unknown_label.parquet");
    write_parquet(&unknown, &other, 5);
    let text = Dataset::from_csv_like(&unknown, &d.schema)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("unknown_label.parquet: row 9: column 8")
            && text.contains("`fish`")
            && text.contains("(row group 1)"),
        "{text}"
    );

    // Not a Parquet file at all.
    let fake = scratch("fake.parquet");
    std::fs::write(&fake, "a,b\n1,2\n").unwrap();
    let text = Dataset::from_csv(&fake, &spec).unwrap_err().to_string();
    assert!(
        text.contains("fake.parquet") && text.contains("Parquet"),
        "{text}"
    );
}

/// Columns for the iris rows `records`: four doubles and a dictionary-encoded string label.
fn iris_columns(records: &io::Records) -> Vec<Column> {
    let n = records.header.len();
    records
        .header
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let label = c + 1 == n;
            let cells = records.rows.iter().map(|r| r.cells[c].clone());
            Column {
                schema: if label {
                    format!("REQUIRED BYTE_ARRAY {name} (UTF8);")
                } else {
                    format!("REQUIRED DOUBLE {name};")
                },
                name: name.clone(),
                values: if label {
                    Values::Str(cells.map(Some).collect())
                } else {
                    Values::F64(cells.map(|s| Some(s.parse().unwrap())).collect())
                },
                compression: Compression::SNAPPY,
                dictionary: label,
            }
        })
        .collect()
}

/// The iris split as Parquet, in two row groups.
fn iris_parquet(split: &str) -> PathBuf {
    let records = io::read_records(&repo().join(format!("data/iris_{split}.csv"))).unwrap();
    let path = scratch(&format!("iris_{split}.parquet"));
    write_parquet(
        &path,
        &iris_columns(&records),
        records.rows.len().div_ceil(2),
    );
    path
}

fn emkern(args: &[&std::ffi::OsStr]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_emkern"))
        .current_dir(repo())
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn os(s: &(impl AsRef<std::ffi::OsStr> + ?Sized)) -> &std::ffi::OsStr {
    s.as_ref()
}

#[test]
fn cli_trains_and_evaluates_on_parquet_like_on_csv() {
    let train_pq = iris_parquet("train");
    let test_pq = iris_parquet("test");
    let train_csv = repo().join("data/iris_train.csv");
    let test_csv = repo().join("data/iris_test.csv");
    let mut outputs = Vec::new();
    for (train, test, name) in [
        (&train_pq, &test_pq, "from_parquet.emk"),
        (&train_csv, &test_csv, "from_csv.emk"),
    ] {
        let model = scratch(name);
        let (ok, stdout, stderr) = emkern(&[
            os("train"),
            os("--algo"),
            os("rf"),
            os("--data"),
            os(train),
            os("--valid"),
            os(test),
            os("--target"),
            os("label"),
            os("--n-estimators"),
            os("15"),
            os("--threads"),
            os("2"),
            os("--quiet"),
            os("-o"),
            os(&model),
        ]);
        assert!(ok, "{stdout}\n{stderr}");
        // Scores only (the first line names the file).
        let scores: Vec<String> = stdout
            .lines()
            .filter(|l| l.contains("accuracy"))
            .map(str::to_string)
            .collect();
        assert_eq!(scores.len(), 2, "{stdout}");
        outputs.push((std::fs::read(&model).unwrap(), scores, model));
    }
    assert_eq!(
        outputs[0].0, outputs[1].0,
        "the blobs trained on Parquet and CSV differ"
    );
    assert_eq!(outputs[0].1, outputs[1].1);

    // eval on Parquet: no --classes needed (the blob stores them), same numbers as eval on the CSV.
    let model = &outputs[0].2;
    let mut evals = Vec::new();
    for test in [&test_pq, &test_csv] {
        let (ok, stdout, stderr) = emkern(&[
            os("eval"),
            os("--model"),
            os(model),
            os("--data"),
            os(test),
            os("--target"),
            os("label"),
        ]);
        assert!(ok, "{stdout}\n{stderr}");
        assert!(
            stdout.contains("accuracy") && stdout.contains("log-loss"),
            "{stdout}"
        );
        evals.push(stdout.lines().skip(1).collect::<Vec<_>>().join("\n"));
    }
    assert_eq!(evals[0], evals[1]);

    // eval's own errors on Parquet name the row, row group and column: a label the model does not know.
    let mut records = io::read_records(&test_csv).unwrap();
    records.rows[40].cells[4] = "rose".into();
    let columns = iris_columns(&records);
    let bad = scratch("iris_rose.parquet");
    write_parquet(&bad, &columns, 16);
    let (ok, stdout, stderr) = emkern(&[
        os("eval"),
        os("--model"),
        os(model),
        os("--data"),
        os(&bad),
        os("--target"),
        os("label"),
    ]);
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains("iris_rose.parquet: row 40: column 5")
            && stderr.contains("`rose`")
            && stderr.contains("(row group 2)"),
        "{stderr}"
    );
}

/// `emkern predict` reads Parquet rows as it reads their CSV twin: the same predictions, byte for byte.
#[test]
fn cli_predicts_parquet_like_csv() {
    let train_csv = repo().join("data/iris_train.csv");
    let model = scratch("predict_iris.emk");
    let (ok, stdout, stderr) = emkern(&[
        os("train"),
        os("--algo"),
        os("rf"),
        os("--data"),
        os(&train_csv),
        os("--target"),
        os("label"),
        os("--n-estimators"),
        os("9"),
        os("--quiet"),
        os("-o"),
        os(&model),
    ]);
    assert!(ok, "{stdout}\n{stderr}");
    // The test split's features only, as CSV and as Parquet (two row groups).
    let records = io::read_records(&repo().join("data/iris_test.csv")).unwrap();
    let mut columns = iris_columns(&records);
    columns.pop();
    let pq = scratch("iris_features.parquet");
    write_parquet(&pq, &columns, records.rows.len().div_ceil(2));
    let csv = scratch("iris_features.csv");
    write_csv(&csv, &columns);
    // Streamed a chunk at a time: many row groups (7 rows each) and chunks that end inside them, before them
    // and after them give the same bytes as the CSV twin.
    let pq_groups = scratch("iris_features_groups.parquet");
    write_parquet(&pq_groups, &columns, 7);
    let mut outputs = Vec::new();
    for (input, chunk) in [
        (&pq, None),
        (&csv, None),
        (&pq_groups, Some("1")),
        (&pq_groups, Some("5")),
        (&pq_groups, Some("7")),
        (&pq_groups, Some("16")),
    ] {
        let mut args = vec![
            os("predict"),
            os("--model"),
            os(&model),
            os("--input"),
            os(input),
            os("--quiet"),
        ];
        if let Some(c) = chunk {
            args.extend([os("--chunk-rows"), os(c)]);
        }
        let (ok, stdout, stderr) = emkern(&args);
        assert!(ok, "{stdout}\n{stderr}");
        assert_eq!(stdout.lines().count(), records.rows.len());
        outputs.push(stdout);
    }
    for o in &outputs[1..] {
        assert_eq!(&outputs[0], o);
    }
    // A cell that is not a number, in the third row group: the error names the file, the row (from 0, as
    // pandas numbers them), the column and the row group, and no output is left behind.
    let mut bad = columns.clone();
    let Values::F64(v) = &bad[2].values else {
        unreachable!("iris features are doubles")
    };
    let n = v.len();
    bad[2] = Column {
        schema: format!("REQUIRED BYTE_ARRAY {} (UTF8);", bad[2].name),
        name: bad[2].name.clone(),
        values: Values::Str(
            (0..n)
                .map(|r| {
                    Some(if r == 16 {
                        "wide".to_string()
                    } else {
                        "1.5".to_string()
                    })
                })
                .collect(),
        ),
        compression: Compression::SNAPPY,
        dictionary: false,
    };
    let pq_bad = scratch("iris_features_bad.parquet");
    write_parquet(&pq_bad, &bad, 7);
    let out_file = scratch("iris_bad_predictions.csv");
    let _ = std::fs::remove_file(&out_file);
    let (ok, _, stderr) = emkern(&[
        os("predict"),
        os("--model"),
        os(&model),
        os("--input"),
        os(&pq_bad),
        os("--quiet"),
        os("--chunk-rows"),
        os("5"),
        os("--output"),
        os(&out_file),
    ]);
    assert!(!ok);
    assert!(
        stderr.contains("iris_features_bad.parquet")
            && stderr.contains("row 16:")
            && stderr.contains("`wide` is not a number")
            && stderr.contains("row group 2"),
        "{stderr}"
    );
    assert!(!out_file.exists(), "a partial output was left");
}
