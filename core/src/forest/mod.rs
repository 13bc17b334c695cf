//! Tree-ensemble inference from a validated, zero-copy model blob.
//!
//! A [`Forest`] is a view over `&[u8]` (for example `include_bytes!` of an `.emk` file in flash): [`Forest::new`]
//! validates the blob once — header, checksum, every offset and length, every tree's shape in canonical
//! breadth-first order, feature indices, category sets — and returns a typed [`BlobError`] for anything malformed.
//! After that, prediction does no further checks on the model and cannot read out of bounds; it never allocates
//! and never panics.
//!
//! Split semantics follow the framework the model came from (recorded in the blob by the exporter): XGBoost's
//! `x < t`, LightGBM's and scikit-learn's `x <= t`, missing values by each node's default direction (including
//! LightGBM's `None` and `Zero` missing types), categorical sets with each framework's side. Trees combine by a
//! sum, a mean, or (feature `weighted-median`, on by default) scikit-learn's weighted median of AdaBoost.R2. The
//! format is specified in [`format`].
//!
//! A second, smaller layout for the common case (numeric splits, NaN takes the default direction, f32 values, a
//! scalar or a vector leaf per tree) is read by [`CompactForest`] and specified in [`compact`]: the same predictions bit for
//! bit, in fewer instructions per node on in-order cores and with far less code (a firmware that uses only
//! [`CompactForest`] links none of [`Forest`]).
//!
//! A third layout for cores without an FPU (Cortex-M0+/M3, RISC-V `imc`) is read by [`IntForest`] and
//! specified in [`int`]: the same split decisions as [`Forest`] on every f32 row, made with integer compares on
//! per-feature bin indices, fixed-point leaves summed in integers (a stated error bound on the margin), and no
//! soft-float routine linked.
//!
//! ```
//! # fn demo(blob: &[u8]) -> Result<(), emkern::forest::BlobError> {
//! use emkern::forest::Forest;
//! let forest = Forest::new(blob)?;
//! let row = [0.5f32; 4];
//! let mut out = [0.0f32; 1];
//! if forest.predict(&row, &mut out).is_ok() {
//!     // out[0] is the prediction (after the objective's transform)
//! }
//! # Ok(()) }
//! ```

mod batch;
pub mod compact;
mod crc;
mod error;
pub mod format;
pub mod int;
#[cfg(feature = "weighted-median")]
mod median;
mod metadata;
mod predict;
mod view;

pub use batch::{BatchPath, PlanUnsupported};
pub use compact::{CompactError, CompactForest};
pub use crc::crc32;
pub use error::{BlobError, ShapeError};
pub use format::{Aggregate, Compare, MissingMode, Transform};
pub use int::{IntError, IntForest};
pub use metadata::ClassNames;
pub use view::{Forest, Summary};
