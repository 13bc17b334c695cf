//! The firmware self-test embeds the bundled demo model and its test rows (`boards/selftest/data/`). This test
//! rebuilds those files from `data/` and fails if the committed ones differ, so the firmware always checks the
//! current exporter's blob against XGBoost's own probabilities. `EMKERN_BLESS=1` rewrites them.
//!
//! Files: `model.emk` (the blob); `rows.bin` (little-endian f32, rows × 30 features); `expected.bin` (little-endian
//! f32 pairs per row: XGBoost's probability, the label).

use std::path::{Path, PathBuf};

use emkern_host::{export::blob, io, model};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn le_bytes(values: impl IntoIterator<Item = f32>) -> Vec<u8> {
    values.into_iter().flat_map(f32::to_le_bytes).collect()
}

#[test]
fn board_data_is_current() {
    let root = root();
    let loaded = model::load(&root.join("data/breast_cancer_xgboost.json")).unwrap();
    let ensemble = loaded.ensemble.unwrap();
    let model = blob::write(&ensemble).unwrap();
    let test = io::read_csv(&root.join("data/breast_cancer_test.csv")).unwrap();
    let proba = io::read_csv(&root.join("data/breast_cancer_xgboost_test_proba.csv")).unwrap();
    let nf = ensemble.n_features as usize;
    let label = test.columns.iter().position(|c| c == "label").unwrap();
    assert_eq!(proba.rows, test.rows);
    let rows = le_bytes((0..test.rows).flat_map(|r| test.row(r)[..nf].to_vec()));
    let expected = le_bytes((0..test.rows).flat_map(|r| [proba.values[r], test.row(r)[label]]));

    let dir = root.join("boards/selftest/data");
    let files = [
        ("model.emk", model),
        ("rows.bin", rows),
        ("expected.bin", expected),
    ];
    let bless = std::env::var_os("EMKERN_BLESS").is_some();
    for (name, bytes) in files {
        let path = dir.join(name);
        if bless {
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == bytes,
            "{} is stale: run `EMKERN_BLESS=1 cargo test -p emkern-host --test board_data`",
            path.display()
        );
    }
}

/// The compact-reader firmware (`boards/compact/data/`) embeds the demo model as a compact blob and the general
/// reader's prediction of every self-test row, which the firmware must reproduce bit for bit. Rebuilt here from
/// `data/` like the self-test's files; `EMKERN_BLESS=1` rewrites them.
#[test]
fn compact_board_data_is_current() {
    use emkern::forest::{CompactForest, Forest};
    use emkern_host::export::compact;

    let root = root();
    let loaded = model::load(&root.join("data/breast_cancer_xgboost.json")).unwrap();
    let ensemble = loaded.ensemble.unwrap();
    let general = blob::write(&ensemble).unwrap();
    let model = compact::write(&ensemble).unwrap();
    let forest = Forest::new(&general).unwrap();
    let compact = CompactForest::new(&model).unwrap();
    let test = io::read_csv(&root.join("data/breast_cancer_test.csv")).unwrap();
    let nf = ensemble.n_features as usize;
    let mut expected = Vec::new();
    for r in 0..test.rows {
        let row = &test.row(r)[..nf];
        let (mut a, mut b) = ([0.0f32], [0.0f32]);
        forest.predict(row, &mut a).unwrap();
        compact.predict(row, &mut b).unwrap();
        assert_eq!(a[0].to_bits(), b[0].to_bits(), "row {r}");
        expected.push(a[0]);
    }
    let rows = le_bytes((0..test.rows).flat_map(|r| test.row(r)[..nf].to_vec()));
    let dir = root.join("boards/compact/data");
    let files = [
        ("model.emkc", model),
        ("rows.bin", rows),
        ("expected.bin", le_bytes(expected)),
    ];
    let bless = std::env::var_os("EMKERN_BLESS").is_some();
    for (name, bytes) in files {
        let path = dir.join(name);
        if bless {
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == bytes,
            "{} is stale: run `EMKERN_BLESS=1 cargo test -p emkern-host --test board_data`",
            path.display()
        );
    }
}

/// The RISC-V firmware (`boards/riscv/data/`) embeds the demo model in the integer layout and the host integer
/// engine's prediction of every self-test row, which the firmware must reproduce bit for bit (it also checks the
/// compact blob against `boards/compact/data/`). Rebuilt here from `data/`; `EMKERN_BLESS=1` rewrites them.
#[test]
fn riscv_board_data_is_current() {
    use emkern::forest::IntForest;
    use emkern_host::export::int;

    let root = root();
    let loaded = model::load(&root.join("data/breast_cancer_xgboost.json")).unwrap();
    let ensemble = loaded.ensemble.unwrap();
    let model = int::write(&ensemble).unwrap();
    // The integer reader needs a 4-aligned blob: copy it into u32 words.
    let words: Vec<u32> = model
        .chunks(4)
        .map(|c| {
            let mut w = [0u8; 4];
            w[..c.len()].copy_from_slice(c);
            u32::from_le_bytes(w)
        })
        .collect();
    let aligned: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let forest = IntForest::new(&aligned[..model.len()]).unwrap();
    let test = io::read_csv(&root.join("data/breast_cancer_test.csv")).unwrap();
    let nf = ensemble.n_features as usize;
    let mut bins = vec![0u16; forest.bins_len()];
    let mut expected = Vec::new();
    for r in 0..test.rows {
        let mut out = [0.0f32];
        forest
            .predict(&test.row(r)[..nf], &mut bins, &mut out)
            .unwrap();
        expected.push(out[0]);
    }
    // The rows the firmware reads are the compact firmware's (`boards/compact/data/rows.bin`).
    let rows = le_bytes((0..test.rows).flat_map(|r| test.row(r)[..nf].to_vec()));
    let committed_rows =
        std::fs::read(root.join("boards/compact/data/rows.bin")).unwrap_or_default();
    assert!(
        committed_rows == rows,
        "boards/compact/data/rows.bin is stale: run `EMKERN_BLESS=1 cargo test -p emkern-host --test board_data`"
    );
    let dir = root.join("boards/riscv/data");
    let files = [
        ("model.emki", model),
        ("expected_int.bin", le_bytes(expected)),
    ];
    let bless = std::env::var_os("EMKERN_BLESS").is_some();
    for (name, bytes) in files {
        let path = dir.join(name);
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == bytes,
            "{} is stale: run `EMKERN_BLESS=1 cargo test -p emkern-host --test board_data`",
            path.display()
        );
    }
}
