//! The build helper on the demo model (an XGBoost classifier of the 30-feature breast-cancer data, binary: one
//! probability) and on damaged copies of it: the shape it reports, and the reader's message for each damage.

use std::path::Path;

fn demo() -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../boards/selftest/data/model.emk");
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn the_demo_model_validates_with_the_datasets_shape() {
    let shape = emkern_build::validate(&demo()).expect("the demo model is valid");
    assert_eq!(shape.layout, emkern_build::Layout::General);
    assert_eq!(
        shape.n_features, 30,
        "the breast-cancer data has 30 features"
    );
    assert_eq!(
        shape.output_len, 1,
        "a binary classifier writes one probability"
    );
}

#[test]
fn damaged_models_fail_with_the_readers_message() {
    let good = demo();
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x40;
    let e = emkern_build::validate(&flipped).expect_err("a flipped byte");
    assert!(e.contains("checksum"), "{e}");

    let e = emkern_build::validate(&good[..good.len() / 2]).expect_err("half a blob");
    assert!(e.contains("truncated"), "{e}");

    let e = emkern_build::validate(&[b'x'; 80]).expect_err("not a blob");
    assert!(e.contains("magic"), "{e}");
}

#[test]
fn the_generated_source_names_the_shape() {
    let shape = emkern_build::validate(&demo()).expect("valid");
    let src = emkern_build::source(Path::new("/m/model.emk"), "MODEL", 8168, &shape);
    for line in [
        "pub const MODEL_N_FEATURES: usize = 30;",
        "pub const MODEL_OUTPUT_LEN: usize = 1;",
        "pub const MODEL_LEN: usize = 8168;",
        "pub const MODEL_LAYOUT: &str = \"general\";",
        "include_bytes!(\"/m/model.emk\")",
    ] {
        assert!(src.contains(line), "missing `{line}` in:\n{src}");
    }
    assert!(
        !src.contains("new_unchecked"),
        "a general blob gets no unchecked view"
    );
}

#[test]
fn a_compact_blob_gets_its_view_without_runtime_validation() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../boards/compact/data/model.emkc");
    let bytes = std::fs::read(&p).unwrap();
    let shape = emkern_build::validate(&bytes).expect("the compact demo model is valid");
    assert_eq!(shape.layout, emkern_build::Layout::Compact);
    assert_eq!((shape.n_features, shape.output_len), (30, 1));
    let src = emkern_build::source(&p, "MODEL", bytes.len(), &shape);
    assert!(
        src.contains("pub fn model_forest() -> emkern::forest::CompactForest<'static>"),
        "{src}"
    );
    assert!(src.contains("CompactForest::new_unchecked(MODEL)"), "{src}");
    // A corrupted compact blob is refused (so no unchecked view is ever generated for it).
    let mut bad = bytes.clone();
    let at = bad.len() - 8;
    bad[at] ^= 1;
    assert!(
        emkern_build::validate(&bad)
            .unwrap_err()
            .contains("checksum")
    );
}
