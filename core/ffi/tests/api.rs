//! The C API called from Rust through its `extern "C"` functions: the demo XGBoost model's predictions against
//! XGBoost's own probabilities (`boards/selftest/data`), batch against single rows, copies of a forest, and every
//! misuse the library detects (including what C cannot express portably: misaligned pointers, spans past
//! `isize::MAX` bytes). No process spawning, so `scripts/miri.sh` runs it under Miri to check the FFI layer's
//! `unsafe` code.

use std::ffi::CStr;
use std::path::Path;

use emkern_ffi::*;

fn data(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../boards/selftest/data")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// A zeroed forest, as C's `emk_forest f = {0};` or a static makes it.
fn zeroed() -> EmkForest {
    // SAFETY: `EmkForest` is an integer and `MaybeUninit` words: all-zero bytes are a valid value.
    unsafe { std::mem::zeroed() }
}

/// Under Miri every row costs seconds: a sample of rows there, all of them natively.
fn row_step() -> usize {
    if cfg!(miri) { 29 } else { 1 }
}

#[test]
fn predictions_match_xgboost_through_the_c_abi() {
    let blob = data("model.emk");
    let rows = f32s(&data("rows.bin"));
    let expected = f32s(&data("expected.bin"));
    let mut forest = zeroed();
    // SAFETY: valid pointers with the lengths given; the blob outlives the forest.
    unsafe {
        assert_eq!(
            emk_forest_init(&mut forest, blob.as_ptr(), blob.len()),
            EmkStatus::EMK_OK
        );
        let nf = emk_forest_n_features(&forest);
        assert_eq!(emk_forest_output_len(&forest), 1);
        assert_eq!(emk_forest_n_outputs(&forest), 1);
        assert!(emk_forest_worst_case_visits(&forest) > 0);
        let n_rows = expected.len() / 2;
        assert_eq!(rows.len(), n_rows * nf);
        // A byte-for-byte copy of a forest (C struct assignment) is a forest over the same blob.
        let copy: EmkForest = std::ptr::read(&forest);
        let mut batch = vec![0.0f32; n_rows];
        assert_eq!(
            emk_forest_predict_batch(
                &copy,
                rows.as_ptr(),
                nf,
                n_rows,
                batch.as_mut_ptr(),
                n_rows,
                0
            ),
            EmkStatus::EMK_OK
        );
        for r in (0..n_rows).step_by(row_step()) {
            let want = expected[2 * r];
            let mut p = f32::NAN;
            assert_eq!(
                emk_forest_predict(&forest, rows.as_ptr().add(r * nf), nf, &mut p, 1),
                EmkStatus::EMK_OK
            );
            // The tolerance of the board self-test: XGBoost sums in f32 as well.
            assert!(
                (p - want).abs() <= 1e-6 + 1e-5 * want.abs(),
                "row {r}: {p} vs XGBoost {want}"
            );
            assert_eq!(batch[r], p, "row {r}: batch and single row differ");
            let mut margin = f32::NAN;
            assert_eq!(
                emk_forest_predict_margin(&forest, rows.as_ptr().add(r * nf), nf, &mut margin, 1),
                EmkStatus::EMK_OK
            );
            let logistic = 1.0 / (1.0 + (-(margin as f64)).exp());
            assert!(
                (logistic - p as f64).abs() <= 1e-6,
                "row {r}: margin {margin}, p {p}"
            );
        }
    }
}

#[test]
fn misuse_gets_its_status() {
    let mut blob = data("model.emk");
    let rows = vec![0.25f32; 4 * 30 + 1];
    let mut out = [0.0f32; 4];
    let mut forest = zeroed();
    let null = std::ptr::null::<f32>();
    // SAFETY: valid pointers and lengths throughout, except where the call must reject them before any access.
    unsafe {
        assert_eq!(emk_forest_n_features(&forest), 0, "a zeroed forest");
        assert_eq!(emk_forest_n_features(std::ptr::null()), 0, "a null forest");
        assert_eq!(
            emk_forest_predict(&forest, rows.as_ptr(), 30, out.as_mut_ptr(), 1),
            EmkStatus::EMK_NOT_INITIALIZED
        );
        assert_eq!(
            emk_forest_init(&mut forest, std::ptr::null(), 10),
            EmkStatus::EMK_NULL_POINTER
        );
        assert_eq!(
            emk_forest_init(std::ptr::null_mut(), blob.as_ptr(), blob.len()),
            EmkStatus::EMK_NULL_POINTER
        );
        assert_eq!(
            emk_forest_init(&mut forest, blob.as_ptr(), blob.len()),
            EmkStatus::EMK_OK
        );
        let nf = emk_forest_n_features(&forest);
        assert_eq!(nf, 30);
        let predict = |row: *const f32, n_row: usize, out: *mut f32, n_out: usize| {
            emk_forest_predict(&forest, row, n_row, out, n_out)
        };
        assert_eq!(
            predict(null, nf, out.as_mut_ptr(), 1),
            EmkStatus::EMK_NULL_POINTER
        );
        assert_eq!(
            predict(rows.as_ptr(), nf, std::ptr::null_mut(), 1),
            EmkStatus::EMK_NULL_POINTER
        );
        assert_eq!(
            predict(rows.as_ptr(), nf - 1, out.as_mut_ptr(), 1),
            EmkStatus::EMK_ROW_TOO_SHORT
        );
        assert_eq!(
            predict(rows.as_ptr(), nf, out.as_mut_ptr(), 0),
            EmkStatus::EMK_OUTPUT_TOO_SHORT
        );
        let misaligned = rows.as_ptr().cast::<u8>().add(1).cast::<f32>();
        assert_eq!(
            predict(misaligned, nf, out.as_mut_ptr(), 1),
            EmkStatus::EMK_MISALIGNED
        );
        let store = [0u64; 40];
        let misaligned_forest = store.as_ptr().cast::<u8>().add(4).cast::<EmkForest>();
        assert_eq!(
            emk_forest_predict(misaligned_forest, rows.as_ptr(), nf, out.as_mut_ptr(), 1),
            EmkStatus::EMK_MISALIGNED
        );
        let batch = |rows: *const f32, stride: usize, n_rows: usize, n_out: usize| {
            emk_forest_predict_batch(
                &forest,
                rows,
                stride,
                n_rows,
                out.as_ptr().cast_mut(),
                n_out,
                0,
            )
        };
        assert_eq!(
            batch(rows.as_ptr(), nf - 1, 2, 4),
            EmkStatus::EMK_BAD_STRIDE
        );
        assert_eq!(
            batch(rows.as_ptr(), nf, 3, 2),
            EmkStatus::EMK_OUTPUT_TOO_SHORT
        );
        assert_eq!(batch(null, nf, 3, 4), EmkStatus::EMK_NULL_POINTER);
        // Spans that overflow `usize`, or fit it but not `isize::MAX` bytes, cannot be readable memory.
        assert_eq!(
            batch(rows.as_ptr(), usize::MAX / 2, 3, 4),
            EmkStatus::EMK_ROW_TOO_SHORT
        );
        assert_eq!(
            batch(rows.as_ptr(), usize::MAX / 8, 2, 4),
            EmkStatus::EMK_ROW_TOO_SHORT
        );
        // No rows: nothing read or written.
        assert_eq!(batch(rows.as_ptr(), nf, 0, 0), EmkStatus::EMK_OK);

        // Bad blobs: the status names the kind, and the forest is left uninitialized.
        let mut bad = zeroed();
        let mid = blob.len() / 2;
        blob[mid] ^= 0x40;
        assert_eq!(
            emk_forest_init(&mut bad, blob.as_ptr(), blob.len()),
            EmkStatus::EMK_CHECKSUM_MISMATCH
        );
        assert_eq!(
            emk_forest_predict(&bad, rows.as_ptr(), nf, out.as_mut_ptr(), 1),
            EmkStatus::EMK_NOT_INITIALIZED
        );
        blob[mid] ^= 0x40;
        assert_eq!(
            emk_forest_init(&mut bad, blob.as_ptr(), blob.len() - 1),
            EmkStatus::EMK_TRUNCATED
        );
        assert_eq!(
            emk_forest_init(&mut bad, blob.as_ptr(), 10),
            EmkStatus::EMK_TRUNCATED
        );
        blob[0] = b'X';
        assert_eq!(
            emk_forest_init(&mut bad, blob.as_ptr(), blob.len()),
            EmkStatus::EMK_BAD_MAGIC
        );
    }
}

#[test]
fn every_status_has_its_own_text() {
    let text = |code| {
        // SAFETY: `emk_status_str` returns a static NUL-terminated string.
        unsafe { CStr::from_ptr(emk_status_str(code)) }
            .to_str()
            .expect("ASCII")
    };
    let mut seen = std::collections::HashSet::new();
    for code in 0..23 {
        assert_ne!(text(code), "unknown status", "code {code}");
        assert!(
            seen.insert(text(code)),
            "code {code} repeats `{}`",
            text(code)
        );
    }
    assert_eq!(text(23), "unknown status");
    assert_eq!(text(-1), "unknown status");
    assert_eq!(
        text(EmkStatus::EMK_CHECKSUM_MISMATCH as i32),
        "blob checksum mismatch (corrupted)"
    );
}

#[test]
fn attention_through_the_c_abi_equals_the_core_call() {
    use emkern::attention::{self, Params, Qkv, Tensor, TensorMut};
    use emkern::simd::Simd;
    use emkern_ffi::attention::{EmkAttentionDims, emk_attention, emk_attention_params_default};
    use emkern_ffi::attention::{EmkDtype, emk_attention_scratch_len};

    let (hq, hkv, lq, lkv, dk, dv) = (4usize, 2usize, 3usize, 5usize, 4usize, 3usize);
    let values = |n: usize, seed: u32| -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s >> 8) as f32 / 8_388_608.0 - 1.0
            })
            .collect()
    };
    let (q, k, v) = (
        values(hq * lq * dk, 1),
        values(hkv * lkv * dk, 2),
        values(hkv * lkv * dv, 3),
    );
    let dims = EmkAttentionDims {
        heads_q: hq,
        heads_kv: hkv,
        len_q: lq,
        len_kv: lkv,
        d_k: dk,
        d_v: dv,
    };
    let mut params = emk_attention_params_default();
    params.causal = 1;
    params.softcap = 5.0;
    // An explicit scale: the default 1/sqrt(d_k) calls libm's sqrtf, inline assembly on x86_64, which Miri
    // cannot run (the C test, kernels.c, covers the default).
    params.scale = 0.5;
    let mut need = 0usize;
    // SAFETY: every pointer refers to a live local of the documented type.
    let s =
        unsafe { emk_attention_scratch_len(&dims, EmkDtype::EMK_F32 as i32, &params, &mut need) };
    assert_eq!(s, EmkStatus::EMK_OK);
    let mut scratch = vec![0.0f32; need];
    let mut out = vec![0.0f32; hq * lq * dv];
    // SAFETY: q, k, v, out and scratch hold the element counts `dims` and `need` imply.
    let s = unsafe {
        emk_attention(
            &dims,
            &params,
            q.as_ptr(),
            k.as_ptr().cast(),
            v.as_ptr().cast(),
            EmkDtype::EMK_F32 as i32,
            out.as_mut_ptr(),
            std::ptr::null_mut(),
            scratch.as_mut_ptr(),
            need,
        )
    };
    assert_eq!(s, EmkStatus::EMK_OK);

    // The same call through the Rust API, with the parameters the C struct stands for.
    let simd = Simd::best();
    let mut p = Params::for_level(simd.level());
    p.mask.causal = true;
    p.softcap = Some(5.0);
    p.scale = Some(0.5);
    let qkv = Qkv {
        q: Tensor::new(&q[..], hq, lq, dk),
        k: Tensor::new(&k[..], hkv, lkv, dk),
        v: Tensor::new(&v[..], hkv, lkv, dv),
    };
    let mut want = vec![0.0f32; hq * lq * dv];
    let mut scratch = vec![0.0f32; attention::scratch_len(qkv.dims(), qkv.dtypes(), p.tiles)];
    attention::attention(
        simd,
        &qkv,
        &p,
        TensorMut::new(&mut want[..], hq, lq, dv),
        None,
        &mut scratch,
    )
    .expect("the core call");
    assert_eq!(out, want);

    // Misuse of the new calls.
    // SAFETY: null pointers are the point; the others are live locals.
    let s = unsafe { emk_attention_scratch_len(std::ptr::null(), 0, &params, &mut need) };
    assert_eq!(s, EmkStatus::EMK_NULL_POINTER);
    // SAFETY: as above.
    let s = unsafe { emk_attention_scratch_len(&dims, 0, std::ptr::null(), &mut need) };
    assert_eq!(s, EmkStatus::EMK_NULL_POINTER);
    let huge = EmkAttentionDims {
        heads_q: usize::MAX,
        ..dims
    };
    // SAFETY: live locals; the shape's sizes overflow, which the call must report.
    let s = unsafe { emk_attention_scratch_len(&huge, 0, &params, &mut need) };
    assert_eq!(s, EmkStatus::EMK_BAD_SHAPE);
}

/// Not under Miri: the frequencies call libm's `pow`, whose `sqrt` is inline assembly on x86_64.
#[test]
#[cfg_attr(
    miri,
    ignore = "libm's pow calls sqrt through inline assembly on x86_64"
)]
fn rope_tables_through_the_c_abi_equal_the_core_tables() {
    // RoPE tables equal the core's table writer.
    let (mut cos, mut sin) = (vec![0.0f32; 3 * 4], vec![0.0f32; 3 * 4]);
    // SAFETY: both tables hold 12 floats.
    let s = unsafe {
        emkern_ffi::rope::emk_rope_tables(
            500_000.0,
            8,
            1.0,
            2.0,
            7,
            3,
            cos.as_mut_ptr(),
            sin.as_mut_ptr(),
            12,
        )
    };
    assert_eq!(s, EmkStatus::EMK_OK);
    let mut config = emkern::rope::RopeConfig::new(500_000.0, 8);
    config.scaling = emkern::rope::Scaling::Linear { factor: 2.0 };
    let mut inv = [0.0f64; 4];
    let scale = emkern::rope::freq::inv_freq(&config, None, &mut inv).expect("frequencies");
    let (mut wc, mut ws) = (vec![0.0f32; 12], vec![0.0f32; 12]);
    emkern::rope::table::fill_range(&inv, 7, 3, scale, &mut wc, &mut ws).expect("tables");
    assert_eq!((cos, sin), (wc, ws));
}
