//! What 16-bit quantized inputs would change, for the integer engine: its `predict_i16` on the profile's rows
//! quantized as emlearn's int16 models take them (each value `x` as `round(x · 2^e)`, one power-of-two scale for
//! every feature, the largest that keeps every finite value within ±32 767; NaN as `i16::MIN`, the missing mark),
//! against its `predict` on the f32 rows. The map from an `i16` to bins is exact for the quantized value, so every
//! difference comes from the quantization itself.

use emkern::forest::int::IntForest;

use super::report::{Agreement, max_abs_diff};

/// The largest exponent `e` in `-64..=64` for which every finite value of `values` rounds to at most 32 767 in
/// magnitude as `x · 2^e` (0 when there is no nonzero finite value).
pub fn scale_exponent(values: &[f32]) -> i32 {
    let largest = values
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |m, &v| m.max(f64::from(v).abs()));
    if largest == 0.0 {
        return 0;
    }
    (-64..=64)
        .rev()
        .find(|&e| (largest * 2f64.powi(e)).round() <= 32_767.0)
        .unwrap_or(-64)
}

/// `x` quantized at `2^exp`: `round(x · 2^exp)` saturated to ±32 767, `i16::MIN` for NaN.
pub fn quantize(x: f32, exp: i32) -> i16 {
    if x.is_nan() {
        return i16::MIN;
    }
    (f64::from(x) * 2f64.powi(exp))
        .round()
        .clamp(-32_767.0, 32_767.0) as i16
}

/// The agreement of `int_blob` (an `.emki` blob) on the row-major `values` (`n_features` per row).
pub fn agreement(int_blob: &[u8], values: &[f32], n_features: usize) -> Result<Agreement, String> {
    // The reader wants a 4-byte aligned blob: copy it to an aligned offset of a buffer.
    let mut buf = vec![0u8; int_blob.len() + 3];
    let at = buf.as_ptr().align_offset(4).min(3);
    buf[at..at + int_blob.len()].copy_from_slice(int_blob);
    let f = IntForest::new(&buf[at..at + int_blob.len()])
        .map_err(|e| format!("integer blob: {e:?}"))?;
    let exp = scale_exponent(values);
    let mut bins = vec![0u16; f.bins_len()];
    let width = f.output_len();
    let (mut plain, mut quantized) = (vec![0f32; width], vec![0f32; width]);
    let mut q = vec![0i16; n_features];
    let (mut identical, mut worst, mut rows) = (0, 0f64, 0);
    for row in values.chunks_exact(n_features.max(1)) {
        for (q, &x) in q.iter_mut().zip(row) {
            *q = quantize(x, exp);
        }
        f.predict(row, &mut bins, &mut plain)
            .and_then(|()| f.predict_i16(&q, exp, &mut bins, &mut quantized))
            .map_err(|e| format!("integer engine: {e:?}"))?;
        rows += 1;
        identical += usize::from(
            plain
                .iter()
                .zip(&quantized)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
        );
        worst = worst.max(max_abs_diff(&quantized, &plain));
    }
    Ok(Agreement {
        exp,
        rows,
        identical,
        max_abs_diff: worst,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The agreement counts what an independent computation counts: the f32 rows against their dequantized
    /// twins (`q · 2^-e` as f32) through the plain f32 `predict`; rows already on the grid agree exactly.
    #[test]
    fn agreement_is_the_dequantized_rows_agreement() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/xgboost/v3.2.0-binary-logistic");
        let loaded = crate::model::load(&dir.join("model.json")).unwrap();
        let blob = crate::export::int::write(loaded.ensemble.as_ref().unwrap()).unwrap();
        let table = crate::io::read_csv(&dir.join("input.csv")).unwrap();
        let nf = table.columns.len();
        let a = agreement(&blob, &table.values, nf).unwrap();
        assert_eq!(a.rows, table.rows);

        let mut buf = vec![0u8; blob.len() + 3];
        let at = buf.as_ptr().align_offset(4).min(3);
        buf[at..at + blob.len()].copy_from_slice(&blob);
        let f = IntForest::new(&buf[at..at + blob.len()]).unwrap();
        let mut bins = vec![0u16; f.bins_len()];
        let predict = |row: &[f32], bins: &mut [u16]| {
            let mut out = vec![0f32; f.output_len()];
            f.predict(row, bins, &mut out).unwrap();
            out
        };
        let dequantized: Vec<f32> = table
            .values
            .iter()
            .map(|&x| match quantize(x, a.exp) {
                i16::MIN => f32::NAN,
                q => (f64::from(q) * 2f64.powi(-a.exp)) as f32,
            })
            .collect();
        let mut identical = 0;
        for (row, deq) in table
            .values
            .chunks_exact(nf)
            .zip(dequantized.chunks_exact(nf))
        {
            let (p, d) = (predict(row, &mut bins), predict(deq, &mut bins));
            identical += usize::from(p.iter().zip(&d).all(|(a, b)| a.to_bits() == b.to_bits()));
        }
        assert_eq!(a.identical, identical);
        assert!(
            a.identical < a.rows,
            "the fixture's rows are not all on the int16 grid"
        );

        let on_grid = agreement(&blob, &dequantized, nf).unwrap();
        assert_eq!(
            (on_grid.identical, on_grid.max_abs_diff),
            (on_grid.rows, 0.0)
        );
    }

    #[test]
    fn the_scale_is_the_largest_that_fits() {
        assert_eq!(scale_exponent(&[]), 0);
        assert_eq!(scale_exponent(&[0.0, f32::NAN, f32::INFINITY]), 0);
        // 1.0 · 2^14 = 16 384 fits, 2^15 = 32 768 does not.
        assert_eq!(scale_exponent(&[1.0, -0.5]), 14);
        assert_eq!(scale_exponent(&[-3.0]), 13);
        assert_eq!(scale_exponent(&[1e30]), -64);
        assert_eq!(quantize(1.0, 14), 16_384);
        assert_eq!(quantize(-1e9, 14), -32_767);
        assert_eq!(quantize(f32::NAN, 3), i16::MIN);
        assert_eq!(quantize(0.3, 2), 1);
    }
}
