//! Compact blob validation and prediction: `CompactForest::new_without_checksum` on the input (every structural
//! check, so the fuzzer reaches them without matching a CRC-32), and `CompactForest::new` must agree with it:
//! the same error when the structure is rejected, else accepted exactly when `verify_checksum` passes. An
//! accepted blob then predicts rows taken from the bytes after `total_len` (which the loader ignores) through
//! `predict_margin`, `predict` and `predict_with` (the model's transform as a type: the same bits as `predict`),
//! and a row one value short or an output too small is an error that writes nothing.

use emkern::forest::compact::{ArgMax, Exp, Identity, Sigmoid, Softmax};
use emkern::forest::{CompactForest, Transform};

use super::util::f32s;

/// The `total_len` header field, if the input has one.
fn total_len(data: &[u8]) -> Option<usize> {
    let b = data.get(8..12)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

/// Runs one input (from a fresh allocation, aligned like any heap block: the reader needs a 4-aligned blob).
pub fn run(data: &[u8]) {
    let data = &data.to_vec()[..];
    match CompactForest::new_without_checksum(data) {
        Ok(forest) => {
            assert_eq!(
                CompactForest::new(data).is_ok(),
                forest.verify_checksum().is_ok(),
                "new and new_without_checksum + verify_checksum disagree"
            );
            predict(&forest, data);
        }
        Err(e) => assert_eq!(
            CompactForest::new(data).err(),
            Some(e),
            "new and new_without_checksum reject differently"
        ),
    }
}

fn predict(forest: &CompactForest<'_>, data: &[u8]) {
    let tail = total_len(data)
        .and_then(|e| data.get(e..))
        .unwrap_or_default();
    let mut row = f32s(tail);
    // Rows as long as the model reads, the missing values NaN (n_features ≤ 65 536 is validated).
    row.resize(row.len().max(forest.n_features()), f32::NAN);
    let n = forest.n_outputs();
    let mut out = vec![0.0f32; n];
    forest
        .predict_margin(&row, &mut out)
        .expect("margins of a full row");
    let mut pred = vec![0.0f32; forest.output_len()];
    forest
        .predict(&row, &mut pred)
        .expect("prediction of a full row");
    let mut typed = vec![0.0f32; forest.output_len()];
    match forest.transform() {
        Transform::Identity => forest.predict_with::<Identity>(&row, &mut typed),
        Transform::Sigmoid => forest.predict_with::<Sigmoid>(&row, &mut typed),
        Transform::Softmax => forest.predict_with::<Softmax>(&row, &mut typed),
        Transform::ArgMax => forest.predict_with::<ArgMax>(&row, &mut typed),
        t => {
            assert_eq!(t, Transform::Exp, "a transform outside the layout's five");
            forest.predict_with::<Exp>(&row, &mut typed)
        }
    }
    .expect("typed prediction of a full row");
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(&pred),
        bits(&typed),
        "predict_with differs from predict"
    );
    let mut untouched = vec![7.0f32; n];
    assert!(
        forest
            .predict_margin(&row[..forest.n_features() - 1], &mut untouched)
            .is_err()
    );
    assert!(forest.predict(&row, &mut untouched[..0]).is_err());
    assert!(untouched.iter().all(|&v| v == 7.0), "an error wrote output");
}
