//! The engine this image measures, chosen by one cargo feature (none: the baseline image, which runs the same
//! harness around an engine that computes nothing, for the flash growth).
//!
//! Every engine is called through [`emkern_profile_predict`], the measured job: an unmangled, never-inlined
//! function, so the generated engines' code ends up in it or in the generated module's own symbols, which
//! `emkern profile` counts as the model's flash.

use crate::config::{N_FEATURES, OUTPUT_LEN};

#[cfg(any(
    all(feature = "engine-blob", feature = "engine-rust"),
    all(feature = "engine-blob", feature = "engine-c"),
    all(feature = "engine-rust", feature = "engine-c"),
    all(
        feature = "engine-compact",
        any(feature = "engine-blob", feature = "engine-rust", feature = "engine-c")
    ),
    all(
        feature = "engine-int",
        any(
            feature = "engine-blob",
            feature = "engine-compact",
            feature = "engine-rust",
            feature = "engine-c"
        )
    ),
))]
compile_error!(
    "enable at most one of the features engine-blob, engine-compact, engine-int, engine-rust, engine-c"
);

/// The engine's name, as `emkern profile` reports it.
#[cfg(feature = "engine-blob")]
pub const NAME: &str = "blob";
/// The engine's name, as `emkern profile` reports it.
#[cfg(all(feature = "engine-compact", not(feature = "prevalidated")))]
pub const NAME: &str = "compact";
/// The engine's name, as `emkern profile` reports it.
#[cfg(all(feature = "engine-compact", feature = "prevalidated"))]
pub const NAME: &str = "compact-prevalidated";
/// The engine's name, as `emkern profile` reports it.
#[cfg(feature = "engine-rust")]
pub const NAME: &str = "rust";
/// The engine's name, as `emkern profile` reports it.
#[cfg(feature = "engine-c")]
pub const NAME: &str = "c";
/// The engine's name, as `emkern profile` reports it.
#[cfg(feature = "engine-int")]
pub const NAME: &str = "int";
/// The engine's name, as `emkern profile` reports it.
#[cfg(not(any(
    feature = "engine-blob",
    feature = "engine-compact",
    feature = "engine-int",
    feature = "engine-rust",
    feature = "engine-c"
)))]
pub const NAME: &str = "baseline";

#[cfg(feature = "engine-blob")]
/// The model blob, read in place from flash (the format needs no alignment).
static MODEL: &[u8] = include_bytes!(concat!(env!("EMKERN_PROFILE_GEN"), "/model.emk"));

/// 4-byte alignment for the compact and integer blobs (their readers load aligned words).
#[cfg(any(feature = "engine-compact", feature = "engine-int"))]
#[repr(C, align(4))]
struct Aligned<T: ?Sized>(T);

#[cfg(feature = "engine-compact")]
/// The model in the compact layout, read in place from flash.
static COMPACT: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(
    env!("EMKERN_PROFILE_GEN"),
    "/model.emkc"
)));

#[cfg(feature = "engine-compact")]
/// The model's transform as a type (`ModelTransform`), written by `emkern profile`.
mod compact_transform {
    include!(concat!(env!("EMKERN_PROFILE_GEN"), "/compact.rs"));
}

#[cfg(feature = "engine-int")]
/// The integer blob, read in place from flash.
static INT_MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(
    env!("EMKERN_PROFILE_GEN"),
    "/model.emki"
)));

#[cfg(feature = "engine-rust")]
include!(concat!(env!("OUT_DIR"), "/generated_model.rs"));

#[cfg(feature = "engine-c")]
unsafe extern "C" {
    /// The generated C model's `predict`, through a one-line wrapper `emkern profile` compiles with it.
    fn emkern_profile_c_predict(row: *const f32, out: *mut f32);
}

/// A ready engine.
pub struct Engine {
    #[cfg(feature = "engine-blob")]
    forest: emkern::forest::Forest<'static>,
    #[cfg(feature = "engine-compact")]
    compact: emkern::forest::CompactForest<'static>,
    #[cfg(feature = "engine-int")]
    forest: emkern::forest::IntForest<'static>,
}

/// Prepares the engine: validates the blob (blob engine; the compact engine without the CRC-32, as a firmware
/// that embeds its model may) and checks that the model's shape is the one the rows
/// were written for.
pub fn new() -> Result<Engine, &'static str> {
    #[cfg(feature = "engine-blob")]
    {
        let forest =
            emkern::forest::Forest::new(MODEL).map_err(|_| "the model blob was rejected")?;
        if forest.n_features() != N_FEATURES || forest.output_len() != OUTPUT_LEN {
            return Err("the model's shape differs from the rows' configuration");
        }
        Ok(Engine { forest })
    }
    #[cfg(feature = "engine-compact")]
    {
        use emkern::forest::compact::CompactTransform;
        #[cfg(not(feature = "prevalidated"))]
        let compact = emkern::forest::CompactForest::new_without_checksum(&COMPACT.0)
            .map_err(|_| "the compact model blob was rejected")?;
        // SAFETY: `COMPACT` is 4-byte aligned (`Aligned4`), and `emkern profile` writes `model.emkc` only after
        // `CompactForest::new` accepted exactly these bytes on the host (`inputs::Inputs::compact`), as
        // `emkern-build` validates the model a firmware embeds when the firmware is built.
        #[cfg(feature = "prevalidated")]
        let compact = unsafe { emkern::forest::CompactForest::new_unchecked(&COMPACT.0) };
        if compact.n_features() != N_FEATURES
            || compact.output_len() != OUTPUT_LEN
            || compact.transform() != compact_transform::ModelTransform::TRANSFORM
        {
            return Err("the model's shape differs from the rows' configuration");
        }
        Ok(Engine { compact })
    }
    #[cfg(feature = "engine-int")]
    {
        let forest = emkern::forest::IntForest::new(&INT_MODEL.0)
            .map_err(|_| "the integer model blob was rejected")?;
        if forest.n_features() != N_FEATURES || forest.output_len() != OUTPUT_LEN {
            return Err("the model's shape differs from the rows' configuration");
        }
        Ok(Engine { forest })
    }
    #[cfg(feature = "engine-rust")]
    {
        if generated_model::N_FEATURES != N_FEATURES || generated_model::OUTPUT_LEN != OUTPUT_LEN {
            return Err("the model's shape differs from the rows' configuration");
        }
        Ok(Engine {})
    }
    #[cfg(not(any(
        feature = "engine-blob",
        feature = "engine-compact",
        feature = "engine-int",
        feature = "engine-rust"
    )))]
    {
        Ok(Engine {})
    }
}

/// One prediction: the engine, the row, the output, and whether the engine accepted the row.
pub struct Job<'a> {
    /// The engine.
    pub engine: &'a Engine,
    /// The row.
    pub row: [f32; N_FEATURES],
    /// The prediction.
    pub out: [f32; OUTPUT_LEN],
    /// `false` if the engine refused the row (the blob interpreter's error, which validation rules out).
    pub ok: bool,
}

/// Predicts `job.row` into `job.out`: the job the measurements call (through `Ticks::time` and `stack_used`).
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn emkern_profile_predict(job: *mut Job<'_>) {
    // SAFETY: the measurements pass the pointer they were given, which `main` derives from a live, exclusive
    // `&mut Job` that outlives the call.
    let Some(job) = (unsafe { job.as_mut() }) else {
        return;
    };
    #[cfg(feature = "engine-blob")]
    {
        job.ok = job.engine.forest.predict(&job.row, &mut job.out).is_ok();
    }
    #[cfg(feature = "engine-compact")]
    {
        job.ok = job
            .engine
            .compact
            .predict_with::<compact_transform::ModelTransform>(&job.row, &mut job.out)
            .is_ok();
    }
    #[cfg(feature = "engine-int")]
    {
        // The bins scratch, `2 · n_used` values: the model reads at most N_FEATURES features.
        let mut bins = [0u16; 2 * N_FEATURES];
        job.ok = job
            .engine
            .forest
            .predict(&job.row, &mut bins, &mut job.out)
            .is_ok();
    }
    // Only the blob, compact and integer engines have state; the others are plain functions.
    #[cfg(not(any(
        feature = "engine-blob",
        feature = "engine-compact",
        feature = "engine-int"
    )))]
    let _ = job.engine;
    #[cfg(feature = "engine-rust")]
    {
        generated_model::predict(&job.row, &mut job.out);
    }
    #[cfg(feature = "engine-c")]
    {
        // SAFETY: the generated C `predict` reads N_FEATURES floats from `row` and writes OUTPUT_LEN floats to
        // `out` (the header's contract); both arrays have exactly those lengths, and `emkern profile` compiled
        // the object from the same model as `config.rs`.
        unsafe { emkern_profile_c_predict(job.row.as_ptr(), job.out.as_mut_ptr()) };
    }
    #[cfg(not(any(
        feature = "engine-blob",
        feature = "engine-compact",
        feature = "engine-int",
        feature = "engine-rust",
        feature = "engine-c"
    )))]
    {
        core::hint::black_box(&job.row);
        job.out.fill(core::hint::black_box(0.0));
    }
}
