//! The integer blob (`.emki`): tree ensembles for cores without an FPU (Cortex-M0+/M3, RISC-V `imc`), read by
//! [`IntForest`]. No prediction step executes a float instruction or calls a soft-float routine: the row is
//! mapped once to per-feature bin indices with integer compares on order-preserving keys of the f32 bit
//! patterns, nodes compare small integers, leaves are fixed-point `i32` summed in integers, and the outputs are
//! assembled as f32 bit patterns by integer code ([`fixed_to_f32`]).
//!
//! **Scope**: numeric splits; per feature one missing-value mode for all its nodes (NaN takes the node's default
//! direction; LightGBM's `None`, NaN read as 0; LightGBM's `Zero`, `|x| ≤ 1e-35` and NaN take the default
//! direction); at most [`MAX_OUTPUTS`] margin columns; per tree one scalar leaf adding to one column (version 1
//! and 2), or (version 2, crate feature `int-vector-leaves`) a leaf naming a row of a leaf table that adds one
//! value to every column — a scikit-learn random-forest classifier's class probabilities, XGBoost's multi-output
//! trees; a sum or a mean
//! of the trees (the mean's divisor and the tree weights are folded into the leaves by the writer); the
//! transforms identity, sigmoid, argmax and (version 2, crate feature `int-softmax`) softmax. The host writer
//! (`emkern_host::export::int`) names what keeps a model out (categorical splits, linear leaves, exp, the
//! weighted median, a feature whose nodes mix missing modes, …) and writes version 1 for every model version 1
//! holds.
//!
//! **Decisions** are those of the general layout ([`Forest`](super::Forest)) on every f32 row, bit for bit:
//! the writer keeps, per feature, the sorted distinct f32 thresholds exactly as the general writer rounds them
//! (see *Bins* below), so a node's integer test is the f32 comparison, including `<` versus `<=`, `-0.0 = +0.0`,
//! infinities and NaN's default direction.
//!
//! **Margins** are fixed point with one scale `s` per model: the margin is `v · 2^-s` for the `i32` sum `v` of the base
//! margin and the leaves, each rounded to nearest at that scale by the writer. The writer chooses the largest `s` (at
//! most [`MAX_SCALE`]) for which the base margin and the largest leaf of every tree of a column add up to less than
//! 2^30 in magnitude (after rounding; with a leaf table: the base margin and `n_trees` times the column's largest
//! table value); the reader checks that this worst case fits an `i32` (else [`IntError::BadField`]`("scale")`), so a
//! sum cannot overflow. A leaf table's row is the leaf's values rounded one by one, so the bound below holds per
//! column with `T` counting every tree that adds a rounded value to it (vector-leaf trees, and the column's scalar
//! trees; a scalar tree's zeros in the other columns are exact). Error bound, for a column with `T` trees: the
//! fixed-point margin is within `(T + 1) · 2^-(s+1)` of the exact real sum of the writer's values (`base + Σ weight ·
//! leaf / divisor`, f64 in the writer), and the f32 margin [`IntForest::predict_margin`] returns is that value rounded
//! to nearest f32 (half an ulp more). The f32 general layout itself sums in f32 (an error of up to about `T` ulps of
//! the running sum), so the two differ by at most the sum of both bounds; `host-tests/tests/forest_int.rs` checks it on
//! every fixture row.
//!
//! **Sigmoid** ([`sigmoid_fixed`]): a table of `1 − σ(x)` at `x = i/32`, `0 ≤ i ≤ 512`, in Q16, linear
//! interpolation between entries (σ(−x) = 1 − σ(x); `σ = 1` in Q16 precision past `x = 16`); the margin enters
//! truncated to Q16. Largest absolute error against the exact sigmoid of the fixed-point margin:
//! [`SIGMOID_MAX_ERROR`] (interpolation `h²/8 · max|σ″|` = 1.2e-5, table rounding 7.6e-6, input truncation
//! 3.8e-6, output rounding to f32), tested over a dense grid against f64. The table is 1 026 bytes of flash,
//! linked with [`IntForest::predict`] (the transform is read from the blob at run time), not with
//! [`IntForest::margins_fixed`] or [`IntForest::predict_margin`] alone.
//!
//! **Softmax** ([`softmax_fixed`], feature `int-softmax`): with `m` the largest fixed-point margin, each column's
//! `x = (m − v) · 2^-s ≥ 0` is truncated to Q20 and saturated at 20; `e^-x = e^-a · e^-(j/64) · e^-r` for `x = a +
//! j/64 + r` from two tables in Q30 (`e^-a`, `a < 20`; `e^-(j/64)`, `j < 64`; 336 bytes) and `1 − e^-r ≈ r − r²/2 +
//! r³/6` for `r < 1/64`, with 32-bit multiplies only; each term is truncated to Q26 (the largest is exactly 1), the
//! terms are summed in a `u32` (at most 32 · 2^26) and each probability is `⌊e_k · 2^30 / Σ⌋` by a 30-step long
//! division, rounded to f32. Largest absolute error against the exact softmax of the fixed-point margins:
//! [`SOFTMAX_MAX_ERROR`] = 1.1e-6 for up to 32 columns (input truncation `2^-20/4` = 2.4e-7; each term within
//! 2.3e-8 — Q26 truncation 1.5e-8, table rounding and the multiplies' truncation 4 · 2^-30, the cubic's remainder
//! 2.5e-9, a dropped term below `e^-20` = 2.1e-9 — and the sum's error moves a probability by at most `n` times
//! that; quotient truncation 2^-30; f32 rounding 3e-8), tested over a dense grid against f64. The tables and the
//! division are linked with [`IntForest::predict`] only when the feature is on; without it a softmax blob is
//! refused at load ([`IntError::BadField`]`("transform")`), so a firmware that has no softmax model leaves the
//! feature off and pays nothing for it.
//!
//! **Argmax**: the first column with the largest fixed-point margin. When two columns' margins are within the
//! error bound above of each other (or tie in f32 but not in fixed point, or the reverse) the chosen index can
//! differ from the general layout's.
//!
//! ## Layout (normative)
//!
//! All integers little-endian. The blob must start at a 4-byte aligned address (the reader refuses it
//! otherwise); every section starts at a multiple of 4.
//!
//! ```text
//! offset size field
//!      0    4 magic       b"EMKI"
//!      4    2 version     1 or 2
//!      6    2 header_len  40 (version 1) or 44 (version 2)
//!      8    4 total_len   bytes in the whole blob: the end of the words section exactly
//!     12    4 checksum    CRC-32 (IEEE 802.3, as the general layout) of bytes 16..total_len
//!     16    4 n_features  row length the model reads: 1 ..= 65 536
//!     20    4 n_trees     tree entries
//!     24    4 n_words     record words over all trees: below 2²⁴
//!     28    4 n_keys      threshold keys over all used features
//!     32    2 n_used      features the splits read ("used features"), 0 ..= 65 535
//!     34    1 n_outputs   margin columns: 1 ..= 32
//!     35    1 transform   0 identity, 1 sigmoid, 3 argmax, and in version 2 also 2 softmax (the general
//!                         layout's codes)
//!     36    1 scale       s, an i8 in MIN_SCALE ..= MAX_SCALE: a margin is v · 2^-s
//!     37    1 t_bits      width of a split's bin threshold: 1 ..= 15
//!     38    1 f_bits      width of a split's bin index: 1 ..= 17, with t_bits + f_bits ≤ 30
//!     39    1 reserved    zero
//!     40    4 n_rows      version 2 only: rows of the leaf table, below 2³⁰ (0: scalar leaves, as version 1)
//! header_len  base margins  n_outputs i32, fixed point
//!             features      n_used entries of 8 bytes: `info: u32`, `key_end: u32`
//!             keys          n_keys i32
//!             trees         n_trees u32: bits 0–23 the tree's first word, bits 24–31 its column (0 when
//!                           n_rows > 0)
//!             words         n_words u32
//!             leaf table    version 2 only: n_rows rows of n_outputs i32, fixed point (row r, column k at
//!                           r · n_outputs + k)
//! ```
//!
//! **Feature entry** `u`: `info` bits 0–15 the row index of the feature (< n_features), bits 16–23 its
//! missing mode (0 NaN → default direction, 1 NaN read as 0, 2 `|x| ≤ 1e-35` or NaN → default direction),
//! bits 24–31 zero. Its keys are `keys[key_end_{u−1} .. key_end_u]` (`key_end_{−1} = 0`): strictly
//! increasing, at most [`MAX_KEYS_PER_FEATURE`]; the last `key_end` is `n_keys`.
//!
//! **Bins**: the key of a non-NaN f32 `x` with bits `b` is `b & 0x7fff_ffff` as `i32`, negated when the sign bit is
//! set: the order of the keys is the order of the values, and `-0.0` and `+0.0` share key 0. For used feature `u` with
//! `m` keys, the bin of `x` is `r = 1 + #{ j : keys_u[j] ≤ key(x) }` (`1 ..= m + 1`) and its mirror `m + 2 − r`; a
//! missing value (by the feature's mode) has bin and mirror 0. A row's bins are an array of `2 · n_used` values: the
//! bins of the used features in order, then their mirrors. The writer stores, for a split `x < t` (XGBoost), the key of
//! `t` rounded up to f32 (`x ≥ t ⇔ key(x) ≥ key(t)`), and for `x ≤ t` (LightGBM, scikit-learn) the key of `t` rounded
//! down to f32, plus one (`x > t ⇔ key(x) ≥ key(t) + 1`) — the general writer's f32 thresholds. So threshold `k` of the
//! feature (0-based in its keys) sends `x` right exactly when its bin is at least `k + 2`, and left exactly when its
//! mirror is at least `m + 1 − k` (both at least 2; a missing value meets neither).
//!
//! **Records** (a tree's words, in pre-order with the node's default child next):
//!
//! ```text
//! leaf   bit 0 = 1; the word as i32 shifted right by one (arithmetic): with n_rows = 0 the leaf's value,
//!        31-bit fixed point, added to the tree's column; with n_rows > 0 a row index r (0 ≤ r < n_rows),
//!        and row r of the leaf table is added to the margins, column by column
//! split  bit 0 = 0; bits 1 .. 1+t_bits the threshold `t`; the next f_bits the bin index `f` (< 2 · n_used);
//!        the remaining 31 − t_bits − f_bits top bits the far offset `d` (≥ 2)
//! ```
//!
//! A split at word `i` moves to word `i + d` when `bins[f] ≥ t`, else to word `i + 1` (its default child).
//! The writer sets, for threshold index `k` of used feature `u` with `m` keys: default child left (next), far
//! child right: `f = u`, `t = k + 2`; default child right: `f = n_used + u` (the mirror), `t = m + 1 − k`. A
//! missing value (0 in both halves) never reaches `t ≥ 2`, so it takes the default child. One word per node,
//! one halfword load and one compare per visit.
//!
//! **What the reader checks** ([`IntForest::new`]): the header fields, the checksum, the lengths; every
//! feature entry (index, mode, key ranges, keys strictly increasing); tree starts strictly increasing from 0
//! with columns below `n_outputs` (0 with a leaf table); every split word of a tree with its bin index below `2 ·
//! n_used`, `d ≥ 2` and `i + d` inside the tree (so both children are); with a leaf table every leaf's row index
//! below `n_rows`; and per column `|base| + Σ_trees max |leaf| ≤ i32::MAX` (with a leaf table `|base| + n_trees ·
//! max_r |row_r| ≤ i32::MAX`). A walk then moves only forward inside its tree and ends at its first leaf, and the sums cannot
//! overflow.
//!
//! Without the `int-vector-leaves` feature the reader refuses a blob with `n_rows > 0`
//! ([`IntError::BadField`]`("n_rows")`) and links no leaf-table walk, so a firmware with scalar-leaf models pays
//! nothing for it (likewise `int-softmax` for softmax, above).
//!
//! The version changes whenever this layout changes. Version 2 adds `n_rows`, the leaf table and softmax to
//! version 1; the reader accepts both, and the writer writes version 1 for a model without vector leaves or
//! softmax (so such blobs are unchanged).
//!
//! ## Measured (`emkern profile`, `boards/profile`: release, fat LTO, `opt-level = 3`)
//!
//! - Cortex-M0 (`thumbv6m`): the walk's inner loop is 18 instructions per node visit towards the default child
//!   and 19 towards the far one (`arm-none-eabi-objdump -d` of `walk_all`: the fields' shifts and masks, the
//!   bin's `ldrh`, the compare, the step; two of the field masks live on the stack); `walk_all` is 148 bytes,
//!   `sums` 90, `new` 1 748, the prediction entry with the inlined row mapping, sigmoid and f32 assembly about
//!   1.5 KB, plus the sigmoid table (1 026 bytes), the CRC-32 table (1 KiB) and `__clzsi2` (108 bytes, an
//!   integer routine). `arm-none-eabi-nm` lists no soft-float routine (`__aeabi_f*`, `__aeabi_d*`,
//!   `__addsf3`, …) in the image, sigmoid output included.
//! - Instructions per prediction over 100 held-out rows, this reader against [`Forest`](super::Forest) on the
//!   same model (whose f32 compares and sums are soft-float calls on these cores): XGBoost 20 trees of depth 4
//!   on 50 features, Cortex-M0 5 275 (20 385), Cortex-M3 3 724 (13 931); XGBoost 100 trees of depth 6, 20 762
//!   (117 224) and 14 797 (83 787); a scikit-learn random-forest regressor of 20 trees of depth 8, 10 462
//!   (36 321) and 7 373 (23 126). For small models the row mapping (a binary search per used feature) is most
//!   of it. The engine adds about 6 KB of code and tables to a firmware where the general interpreter adds
//!   55–65 KB.
//! - Multi-class, Cortex-M0, 64 fixture rows (integer engine against the compact layout's reader, instructions per
//!   prediction; flash over the image without a model, the model's part in parentheses): XGBoost `multi:softprob`
//!   3 classes × 10 rounds, 5 226 (compact 14 195), 10 392 (2 048) bytes (compact 8 956 (3 228)); the same with
//!   multi-output trees (vector leaves and softmax), 3 877 (11 146), 10 768 (1 856) (compact 7 916 (2 196));
//!   LightGBM `multiclass` 3 × 10, 5 222, 10 464 (2 112); a scikit-learn random-forest classifier of 8 trees (vector
//!   leaves, 3 classes), 2 155, 9 928 (2 236) (the last two compute in f64, outside the compact layout). The
//!   softmax (`softmax_fixed` 608 bytes, `exp_neg_q20` 152, `div_q30` 90, tables 336) is about 1.2 KB and the
//!   leaf-table walk 404 bytes, each linked only with its feature; a scalar-leaf model without softmax links
//!   neither (`arm-none-eabi-nm`: `walk_all` 148 bytes and `sums` 92, as before; on the demo model the engine's
//!   runtime is 6 224 bytes against 6 180 for the version-1-only reader, the difference reading version 2 headers
//!   in `new`, and 10 458 instructions per prediction against 10 456).
//! - Blob size: 4 bytes per node and per leaf, 4 per distinct threshold and 8 per used feature: 3 840, 49 524
//!   and 58 292 bytes for those three models (the general layout: 4 064, 56 400, 79 880); 5 948 for the
//!   100-tree demo model (general 8 168, compact 9 368).

//! ## Using it
//!
//! The caller passes the bins scratch, [`IntForest::bins_len`] = `2 · n_used` `u16` values (a firmware that knows its
//! row length can use `[u16; 2 * N_FEATURES]`, since `n_used ≤ n_features`): [`IntForest::predict`] maps the row into
//! it and walks the trees; [`IntForest::map_row`] and [`IntForest::margins_fixed`] are the two halves, for callers that
//! keep the fixed-point margins.
//!
//! **16-bit rows**: [`IntForest::predict_i16`] and [`IntForest::map_row_i16`] take a row already quantized to `i16`
//! with one global power-of-two scale, feature `i` being `row[i] · 2^-exp` and `i16::MIN` a missing value. Such a
//! value is an f32 exactly, and its bins are computed from that f32's bits by integer code, so the prediction is
//! the one of the dequantized f32 row bit for bit (tested on every fixture that fits); how close that is to the
//! prediction of the unquantized row depends on the data and the scale (the same test reports it). Not linked
//! unless called.

mod error;
mod fixed;
mod predict;
mod sigmoid;
#[cfg(feature = "int-softmax")]
mod softmax;
mod view;

pub use error::IntError;
pub use fixed::fixed_to_f32;
pub use sigmoid::{SIGMOID_MAX_ERROR, sigmoid_fixed};
#[cfg(feature = "int-softmax")]
pub use softmax::{SOFTMAX_MAX_ERROR, softmax_fixed};
pub use view::IntForest;

/// The four magic bytes at the start of an integer blob.
pub const MAGIC: [u8; 4] = *b"EMKI";
/// The newest layout version described above (2: leaf table, softmax).
pub const VERSION: u16 = 2;
/// The first layout version (scalar leaves; identity, sigmoid, argmax), which the reader still accepts and the
/// writer still writes for a model inside its scope.
pub const VERSION_1: u16 = 1;
/// Bytes in a version-1 header.
pub const HEADER_LEN: usize = 40;
/// Bytes in a version-2 header (`n_rows` after the version-1 fields).
pub const HEADER_LEN_2: usize = 44;
/// Bytes in a feature entry.
pub const FEATURE_ENTRY: usize = 8;
/// Most margin columns.
pub const MAX_OUTPUTS: usize = 32;
/// Most features a row has (16-bit row indices).
pub const MAX_FEATURES: usize = 1 << 16;
/// Most used features (16-bit used-feature indices; the count is a `u16`).
pub const MAX_USED: usize = (1 << 16) - 1;
/// Words must be fewer than this (24-bit tree starts).
pub const MAX_WORDS: usize = 1 << 24;
/// Most thresholds per feature (split thresholds up to `MAX_KEYS_PER_FEATURE + 1` fit 15 bits).
pub const MAX_KEYS_PER_FEATURE: usize = (1 << 15) - 2;
/// Widest split threshold field.
pub const MAX_T_BITS: u32 = 15;
/// Widest split bin index field (`2 · n_used < 2^17`).
pub const MAX_F_BITS: u32 = 17;
/// Most bits the threshold and bin index fields take together (the far offset keeps at least one).
pub const MAX_TF_BITS: u32 = 30;
/// Smallest scale.
pub const MIN_SCALE: i32 = -40;
/// Largest scale.
pub const MAX_SCALE: i32 = 40;
/// Shift of the tree's column in a tree entry.
pub const COLUMN_SHIFT: u32 = 24;
/// Mask of the first word in a tree entry.
pub const ROOT_MASK: u32 = 0x00FF_FFFF;
/// Missing mode: NaN takes the default direction.
pub const MISSING_NAN: u8 = 0;
/// Missing mode: NaN is read as 0.
pub const MISSING_NAN_AS_ZERO: u8 = 1;
/// Missing mode: `|x| ≤ 1e-35` and NaN take the default direction.
pub const MISSING_ZERO_OR_NAN: u8 = 2;

/// The word of a split with threshold `t`, bin index `f` and far offset `far` for field widths `t_bits` and
/// `f_bits` (see the module documentation), or `None` when a field does not fit.
pub const fn split_word(t: u32, f: u32, far: usize, t_bits: u32, f_bits: u32) -> Option<u32> {
    if t_bits == 0 || t_bits > MAX_T_BITS || f_bits == 0 || f_bits > MAX_F_BITS {
        return None;
    }
    if t_bits + f_bits > MAX_TF_BITS {
        return None;
    }
    let far_bits = 31 - t_bits - f_bits;
    if t >> t_bits != 0 || f >> f_bits != 0 || far < 2 || (far as u64) >> far_bits != 0 {
        return None;
    }
    Some((t << 1) | (f << (1 + t_bits)) | ((far as u32) << (1 + t_bits + f_bits)))
}

/// The word of a leaf of fixed-point value `v`, or `None` when `v` does not fit 31 bits.
pub const fn leaf_word(v: i32) -> Option<u32> {
    if v < -(1 << 30) || v >= 1 << 30 {
        return None;
    }
    Some(((v as u32) << 1) | 1)
}

/// The order-preserving key of a non-NaN f32 (see *Bins*): `-0.0` and `+0.0` both give 0.
pub const fn key(x: f32) -> i32 {
    let b = x.to_bits();
    let m = (b & 0x7FFF_FFFF) as i32;
    if b >> 31 != 0 { -m } else { m }
}
