//! Integer blob validation and prediction: `IntForest::new` on the input as is and, when only the checksum is
//! wrong, again with the CRC-32 recomputed (so the fuzzer reaches the structural checks behind it); an accepted
//! blob then maps and predicts rows taken from the bytes after `total_len` (which the loader ignores), walks
//! arbitrary bins from the same bytes, and a row one value short, a bins scratch too small or an output too
//! small is an error that writes nothing.

use emkern::forest::{IntError, IntForest, crc32};

use super::util::f32s;

/// The `total_len` header field, if the input has one.
fn total_len(data: &[u8]) -> Option<usize> {
    let b = data.get(8..12)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

/// Runs one input (from a fresh allocation, aligned like any heap block: the reader needs a 4-aligned blob).
pub fn run(data: &[u8]) {
    let data = &data.to_vec()[..];
    match IntForest::new(data) {
        Ok(forest) => predict(&forest, data),
        Err(IntError::ChecksumMismatch { .. }) => {
            let Some(end) = total_len(data).filter(|&e| e >= 16 && e <= data.len()) else {
                panic!("a checksum mismatch on a blob without a valid total_len");
            };
            let mut fixed = data.to_vec();
            let crc = crc32(&fixed[16..end]);
            fixed[12..16].copy_from_slice(&crc.to_le_bytes());
            match IntForest::new(&fixed) {
                Ok(forest) => predict(&forest, &fixed),
                Err(IntError::ChecksumMismatch { .. }) => {
                    panic!("the recomputed checksum is rejected")
                }
                Err(_) => {}
            }
        }
        Err(_) => {}
    }
}

fn predict(forest: &IntForest<'_>, data: &[u8]) {
    let tail = total_len(data)
        .and_then(|e| data.get(e..))
        .unwrap_or_default();
    let mut row = f32s(tail);
    // Rows as long as the model reads, the missing values NaN (n_features ≤ 65 536 is validated).
    row.resize(row.len().max(forest.n_features()), f32::NAN);
    let n = forest.n_outputs();
    let mut bins = vec![0u16; forest.bins_len()];
    let mut out = vec![0.0f32; n];
    forest
        .predict_margin(&row, &mut bins, &mut out)
        .expect("margins of a full row");
    let mut pred = vec![0.0f32; forest.output_len()];
    forest
        .predict(&row, &mut bins, &mut pred)
        .expect("prediction of a full row");
    // Arbitrary bins: any values are safe to walk.
    let arbitrary: Vec<u16> = (0..forest.bins_len())
        .map(|i| {
            let b = tail.get(2 * i..2 * i + 2).unwrap_or(&[0xFF, 0x7F]);
            u16::from_le_bytes([b[0], b[1]])
        })
        .collect();
    let mut fixed = vec![0i32; n];
    forest
        .margins_fixed(&arbitrary, &mut fixed)
        .expect("margins of full bins");
    let mut untouched = vec![7.0f32; n];
    assert!(
        forest
            .predict_margin(&row[..forest.n_features() - 1], &mut bins, &mut untouched)
            .is_err()
    );
    assert!(
        forest
            .predict(&row, &mut bins, &mut untouched[..0])
            .is_err()
    );
    if forest.bins_len() > 0 {
        let mut short = vec![0u16; forest.bins_len() - 1];
        assert!(forest.predict(&row, &mut short, &mut untouched).is_err());
    }
    assert!(untouched.iter().all(|&v| v == 7.0), "an error wrote output");
}
