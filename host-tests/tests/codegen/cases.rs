//! The models the codegen tests compile, with their rows and the core's outputs for them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use emkern::forest::Forest;
use emkern_host::export::blob;
use emkern_host::export::codegen::model::{Model, Test};
use emkern_host::export::codegen::{self, CodegenError, Lang};
use emkern_host::model;

use super::models;

/// One model to generate: its blob, rows (row-major, `n_features` each) and the core's outputs for every row.
pub struct Case {
    /// Fixture directory and file, or the hand-built model's name (several names when files give one blob).
    pub name: String,
    pub blob: Vec<u8>,
    pub n_features: usize,
    pub n_outputs: usize,
    pub output_len: usize,
    pub rows: Vec<f32>,
    /// Per row: `n_outputs` margins then `output_len` predictions, from the core.
    pub expected: Vec<f32>,
}

impl Case {
    pub fn n_rows(&self) -> usize {
        self.rows.len() / self.n_features.max(1)
    }
}

/// A small deterministic generator (SplitMix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Values every feature is probed with: NaN, signed zeros, LightGBM's zero band and its edges, subnormals,
/// infinities, values a categorical split truncates or rejects, NaNs with the sign bit set or a payload (the
/// integer-key tests of size builds must send them where the float tests do).
const SPECIAL: [f32; 16] = [
    f32::NAN,
    f32::from_bits(0xffc0_0000),
    f32::from_bits(0x7f80_0001),
    0.0,
    -0.0,
    1.0e-35,
    -1.0e-35,
    1.000_000_1e-35,
    1.0e-36,
    -1.0e-36,
    f32::MIN_POSITIVE,
    1.0e-45,
    f32::INFINITY,
    f32::NEG_INFINITY,
    -0.5,
    -1.0,
];

/// Probe rows for `m` from `base` (a data row): every split threshold (up to ~150 splits, evenly chosen) at its
/// value and its two f32 neighbours, category values in, next to and outside each set, the special values on
/// every feature (up to 64), and random rows.
fn probes(m: &Model, base: &[f32], rng: &mut Rng) -> Vec<Vec<f32>> {
    let nf = m.n_features;
    let mut rows = vec![vec![f32::NAN; nf], vec![0.0; nf], vec![-0.0; nf]];
    let nodes: Vec<_> = m.trees.iter().flat_map(|t| &t.nodes).collect();
    let stride = (nodes.len() / 150).max(1);
    let with = |f: usize, v: f32| {
        let mut r = base.to_vec();
        r[f] = v;
        r
    };
    for node in nodes.iter().step_by(stride) {
        let f = node.feature;
        match node.test {
            Test::Numeric { threshold: t, .. } => {
                for v in [t, t.next_up(), t.next_down()] {
                    rows.push(with(f, v));
                }
            }
            Test::Categorical { set, .. } => {
                let words = m.set(set);
                let members: Vec<u32> = (0..32 * words.len() as u32)
                    .filter(|&c| words[c as usize / 32] >> (c % 32) & 1 != 0)
                    .take(4)
                    .collect();
                let absent = (0..).find(|c| !members.contains(c)).unwrap_or(0);
                let mut values = vec![
                    absent as f32,
                    32.0 * words.len() as f32,
                    16_777_216.0,
                    1e9,
                    -0.5,
                    -1.0,
                    f32::NAN,
                ];
                for c in members {
                    values.extend([c as f32, c as f32 + 0.5, c as f32 - 0.5]);
                }
                rows.extend(values.into_iter().map(|v| with(f, v)));
            }
        }
    }
    for f in 0..nf.min(64) {
        rows.extend(SPECIAL.iter().map(|&v| with(f, v)));
    }
    for _ in 0..24 {
        let r = (0..nf)
            .map(|f| match rng.below(8) {
                0 => f32::NAN,
                1 => SPECIAL[rng.below(SPECIAL.len())],
                2 => rng.below(40) as f32,
                3 => base[f] * (0.5 + rng.unit()),
                _ => 6.0 * rng.unit() - 3.0,
            })
            .collect();
        rows.push(r);
    }
    rows
}

/// The case for `blob` with `data` rows (each at least `n_features` long) plus probe rows.
pub fn case(name: String, blob: Vec<u8>, data: &[Vec<f32>], rng: &mut Rng) -> Case {
    let m = Model::from_blob(&blob).unwrap_or_else(|e| panic!("{name}: {e}"));
    let forest = Forest::new(&blob).unwrap();
    let nf = m.n_features;
    let base = data
        .first()
        .map_or_else(|| vec![0.5; nf], |r| r[..nf].to_vec());
    let mut all: Vec<Vec<f32>> = data.iter().map(|r| r[..nf].to_vec()).collect();
    all.extend(probes(&m, &base, rng));
    let (no, np) = (forest.n_outputs(), forest.output_len());
    let mut expected = Vec::with_capacity(all.len() * (no + np));
    let mut margin = vec![0f32; no];
    // Exactly `output_len` values of room, as a firmware gives (an argmax over more than 32 columns included).
    let mut pred = vec![0f32; np];
    for r in &all {
        forest.predict_margin(r, &mut margin).unwrap();
        forest.predict(r, &mut pred).unwrap();
        expected.extend(&margin);
        expected.extend(&pred);
    }
    Case {
        name,
        blob,
        n_features: nf,
        n_outputs: no,
        output_len: np,
        rows: all.concat(),
        expected,
    }
}

fn read_rows(path: &Path) -> Vec<Vec<f32>> {
    let t = emkern_host::io::read_csv_f64(path).unwrap_or_else(|e| panic!("{e}"));
    t.rows
        .iter()
        .map(|r| r.iter().map(|&v| v as f32).collect())
        .collect()
}

fn fixture_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Every fixture model file: XGBoost JSON and UBJSON, LightGBM text, scikit-learn JSON (each with its
/// `input.csv`), the training fixtures' XGBoost models and the bundled demo model (probe rows only).
fn fixture_models() -> Vec<(String, PathBuf, Vec<Vec<f32>>)> {
    let root = fixture_root();
    let mut out = Vec::new();
    for (framework, files) in [
        ("xgboost", &["model.json", "model.ubj"][..]),
        ("lightgbm", &["model.txt"][..]),
        ("sklearn", &["model.json"][..]),
    ] {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join(framework))
            .unwrap_or_else(|e| panic!("fixtures/{framework}: {e}"))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("input.csv").is_file())
            .collect();
        dirs.sort();
        assert!(!dirs.is_empty(), "no {framework} fixtures");
        for dir in dirs {
            let rows = read_rows(&dir.join("input.csv"));
            let dir_name = dir.file_name().unwrap().to_string_lossy().into_owned();
            for file in files {
                let path = dir.join(file);
                if path.is_file() {
                    out.push((format!("{framework}/{dir_name}/{file}"), path, rows.clone()));
                }
            }
        }
    }
    let mut train: Vec<PathBuf> = std::fs::read_dir(root.join("train"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ubj"))
        .collect();
    train.sort();
    for p in train {
        let name = format!("train/{}", p.file_name().unwrap().to_string_lossy());
        out.push((name, p, Vec::new()));
    }
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/breast_cancer_xgboost.json");
    out.push(("data/breast_cancer_xgboost.json".into(), demo, Vec::new()));
    out
}

/// Model files that give one blob: their names, the blob, their rows.
type Group = (Vec<String>, Vec<u8>, Vec<Vec<f32>>);

/// All cases: every fixture model file (files that give the same blob, like a fixture's JSON and UBJSON, share
/// one case, their rows joined) and every hand-built model. Returns the cases and the number of model files
/// generated (fixtures of a weighted median or of sorted quantiles are refused by codegen, with a clear error).
pub fn all() -> (Vec<Case>, usize) {
    let mut rng = Rng::new(0x00C0_DE6E_u64);
    let mut by_blob: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut n_refused = 0usize;
    let files = fixture_models();
    let n_files = files.len();
    for (name, path, rows) in files {
        let loaded = model::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        match by_blob.get(&loaded.blob) {
            Some(&g) => {
                groups[g].0.push(name);
                if groups[g].2 != rows {
                    groups[g].2.extend(rows);
                }
            }
            None => {
                by_blob.insert(loaded.blob.clone(), groups.len());
                groups.push((vec![name], loaded.blob, rows));
            }
        }
    }
    let mut cases: Vec<Case> = Vec::new();
    for (names, blob, rows) in groups {
        let name = names.join(" = ");
        match codegen::generate(&blob, Lang::C, "m", "") {
            // Models codegen refuses: only the aggregations and transforms it does not generate yet, each with
            // an error that names it (never wrong code).
            Err(CodegenError::Unsupported(what)) => {
                assert!(
                    what.contains("aggregation 2") || what.contains("SortAscending"),
                    "{name}: unexpected refusal: {what}"
                );
                eprintln!("codegen refuses {name}: {what} is not supported by codegen yet");
                n_refused += 1;
            }
            _ => cases.push(case(name, blob, &rows, &mut rng)),
        }
    }
    for s in models::all() {
        let blob = blob::write(&s.ensemble).unwrap_or_else(|e| panic!("{}: {e}", s.name));
        cases.push(case(
            format!("hand-built/{}", s.name),
            blob,
            &s.rows,
            &mut rng,
        ));
    }
    (cases, n_files - n_refused)
}
