//! Blob validation and prediction: `Forest::new` on the input as is and, when only the checksum is wrong, again
//! with the CRC-32 recomputed (so the fuzzer reaches the structural checks behind it); an accepted blob is then
//! predicted through every API on rows taken from the bytes after `total_len` (which the loader ignores).

use emkern::forest::{BlobError, Forest, crc32};

use super::util::{f32s, predict_everything};

/// The `total_len` header field, if the input has one.
fn total_len(data: &[u8]) -> Option<usize> {
    let b = data.get(8..12)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

/// Runs one input.
pub fn run(data: &[u8]) {
    match Forest::new(data) {
        Ok(forest) => predict(&forest, data),
        Err(BlobError::ChecksumMismatch { .. }) => {
            let Some(end) = total_len(data).filter(|&e| e >= 16 && e <= data.len()) else {
                panic!("a checksum mismatch on a blob without a valid total_len");
            };
            let mut fixed = data.to_vec();
            let crc = crc32(&fixed[16..end]);
            fixed[12..16].copy_from_slice(&crc.to_le_bytes());
            match Forest::new(&fixed) {
                Ok(forest) => predict(&forest, &fixed),
                Err(BlobError::ChecksumMismatch { .. }) => {
                    panic!("the recomputed checksum is rejected")
                }
                Err(_) => {}
            }
        }
        Err(_) => {}
    }
}

fn predict(forest: &Forest<'_>, data: &[u8]) {
    let tail = total_len(data)
        .and_then(|e| data.get(e..))
        .unwrap_or_default();
    predict_everything(forest, &f32s(tail));
}
