//! `emkern::forest`: validation, every prediction API and every accessor, on the selftest's model blob (opaque,
//! so validation cannot be folded) and on a corrupted copy; the same for the compact reader on the compact
//! firmware's blob and for the integer reader on a committed integer blob (a fuzz seed).

use emkern::forest::{CompactForest, Forest, IntForest, Transform, compact, crc32, format};

use crate::{keep, o};

/// The self-test's demo model.
static MODEL: &[u8] = include_bytes!("../../selftest/data/model.emk");
/// 4-byte alignment for an embedded blob (the compact reader reads aligned words).
#[repr(C, align(4))]
struct Aligned<T: ?Sized>(T);

/// The same model in the compact layout.
static COMPACT: &Aligned<[u8]> = &Aligned(*include_bytes!("../../compact/data/model.emkc"));

/// An XGBoost binary model in the integer layout.
static INT: &Aligned<[u8]> = &Aligned(*include_bytes!(
    "../../../host-tests/fuzz/seeds/int_forest/xgboost-binary-logistic.emki"
));

/// Runs every call.
pub fn run() {
    let mut copy = [0u8; 512];
    keep(crc32(o(MODEL)));
    keep(Transform::from_u8(o(3)));
    keep(format::node_size(o(2), o(4)));
    keep(format::align8(o(usize::MAX - 3)));
    if let Ok(f) = Forest::new(o(&copy[..])) {
        use_forest(&f);
    }
    for (d, s) in copy.iter_mut().zip(MODEL) {
        *d = *s ^ 1;
    }
    if let Ok(f) = Forest::new(o(&copy[..])) {
        use_forest(&f);
    }
    if let Ok(f) = Forest::new(o(MODEL)) {
        use_forest(&f);
    }
    keep(compact::split_info(o(3), o(40), o(true)));
    let mut copy = Aligned([0u8; 512]);
    let copy = &mut copy.0;
    if let Ok(f) = CompactForest::new(o(&copy[..])) {
        use_compact(&f);
    }
    for (d, s) in copy.iter_mut().zip(&COMPACT.0) {
        *d = *s ^ 1;
    }
    if let Ok(f) = CompactForest::new(o(&copy[..])) {
        use_compact(&f);
    }
    if let Ok(f) = CompactForest::new(o(&COMPACT.0)) {
        use_compact(&f);
    }
    if let Ok(f) = CompactForest::new_without_checksum(o(&COMPACT.0)) {
        use_compact(&f);
    }
    // SAFETY: `COMPACT` is the compact firmware's blob, which the host test `board_data` validates with
    // `CompactForest::new`; it is 4-aligned (`Aligned`).
    use_compact(&unsafe { CompactForest::new_unchecked(o(&COMPACT.0)) });
    let mut copy = Aligned([0u8; 512]);
    let copy = &mut copy.0;
    if let Ok(f) = IntForest::new(o(&copy[..])) {
        use_int(&f);
    }
    for (d, s) in copy.iter_mut().zip(&INT.0) {
        *d = *s ^ 1;
    }
    if let Ok(f) = IntForest::new(o(&copy[..])) {
        use_int(&f);
    }
    if let Ok(f) = IntForest::new(o(&INT.0)) {
        use_int(&f);
    }
    keep(emkern::forest::int::fixed_to_f32(o(-7), o(40)));
    keep(emkern::forest::int::sigmoid_fixed(o(i32::MIN), o(31)));
    let margins = [i32::MIN, 0, i32::MAX, 7];
    let mut probs = [0.0f32; 40];
    emkern::forest::int::softmax_fixed(o(&margins[..]), o(-40), o(&mut probs[..]));
    keep(probs);
}

fn use_int(f: &IntForest<'_>) {
    let rows = [0.25f32; 64];
    let mut bins = [0u16; 128];
    let mut out = [0.0f32; 16];
    let mut fixed = [0i32; 16];
    keep(f.n_features());
    keep(f.n_used());
    keep(f.bins_len());
    keep(f.n_outputs());
    keep(f.output_len());
    keep(f.n_trees());
    keep(f.transform());
    keep(f.scale());
    keep(f.map_row(o(&rows[..]), o(&mut bins[..])));
    keep(f.margins_fixed(o(&bins[..]), o(&mut fixed[..])));
    keep(f.predict(o(&rows[..]), o(&mut bins[..]), o(&mut out[..])));
    keep(f.predict_margin(o(&rows[..]), o(&mut bins[..]), o(&mut out[..])));
    let quantized = [-7i16; 64];
    keep(f.map_row_i16(o(&quantized[..]), o(12), o(&mut bins[..])));
    keep(f.predict_i16(o(&quantized[..]), o(-70), o(&mut bins[..]), o(&mut out[..])));
    keep(f.n_rows());
}

fn use_compact(f: &CompactForest<'_>) {
    let rows = [0.25f32; 64];
    let mut out = [0.0f32; 16];
    keep(f.n_features());
    keep(f.n_outputs());
    keep(f.output_len());
    keep(f.n_trees());
    keep(f.transform());
    keep(f.predict(o(&rows[..]), o(&mut out[..])));
    keep(f.predict_margin(o(&rows[..]), o(&mut out[..])));
    keep(f.verify_checksum());
    keep(f.predict_with::<compact::Identity>(o(&rows[..]), o(&mut out[..])));
    keep(f.predict_with::<compact::Sigmoid>(o(&rows[..]), o(&mut out[..])));
    keep(f.predict_with::<compact::Softmax>(o(&rows[..]), o(&mut out[..])));
    keep(f.predict_with::<compact::ArgMax>(o(&rows[..]), o(&mut out[..])));
    keep(f.predict_with::<compact::Exp>(o(&rows[..]), o(&mut out[..])));
}

fn use_forest(f: &Forest<'_>) {
    let rows = [0.25f32; 160];
    let mut out = [0.0f32; 16];
    keep(f.n_features());
    keep(f.n_outputs());
    keep(f.output_len());
    keep(f.transform());
    keep(f.worst_case_visits());
    keep(f.worst_case_tree_walks());
    keep(f.passes());
    keep(f.median_passes());
    keep(f.summary());
    for name in f.class_names() {
        keep(name);
    }
    keep(f.class_names().len());
    keep(f.predict(o(&rows[..]), o(&mut out[..])));
    keep(f.predict_margin(o(&rows[..]), o(&mut out[..])));
    keep(f.predict_batch(o(&rows[..]), o(31), o(5), o(&mut out[..]), o(false)));
    keep(f.predict_batch(o(&rows[..]), o(31), o(5), o(&mut out[..]), o(true)));
    keep(f.simd_plan_len());
    let mut words = [0u32; 1024];
    let plan = f.simd_plan(o(&mut words[..]));
    for simd in emkern_simd::Simd::available() {
        keep(f.predict_batch_simd(
            simd,
            plan.as_ref().ok(),
            o(&rows[..]),
            o(31),
            o(5),
            o(&mut out[..]),
            o(false),
        ));
    }
}
