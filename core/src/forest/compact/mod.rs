//! The compact blob (`.emkc`): a second, smaller layout for the common tree ensemble, read by
//! [`CompactForest`], beside the general [`Forest`](super::Forest) layout (which stays for everything else).
//!
//! **Scope** (version 3): numeric splits only; a missing value (NaN) takes the node's default direction
//! (XGBoost's and scikit-learn's semantics; the writer gives a LightGBM `None` split the side 0.0 takes, and a
//! `Zero` split whose zero band compares to its default side that side); f32 thresholds and f32 leaf values; per tree either one scalar leaf
//! adding to one margin column, or a vector leaf adding to every column (scikit-learn's random-forest and
//! extra-trees classifiers with per-class probabilities, multi-output regressors); at most [`MAX_OUTPUTS`]
//! columns; a sum or a mean of the trees with f32 base margins; the transforms identity, sigmoid, softmax, argmax
//! and exp. Predictions are those of the general layout on the same model bit for bit: the same f32 decisions,
//! the same summation order (base margin, then the trees in order, in f32, a vector leaf column by column; a mean
//! divides the tree sum by the divisor and then adds the base margin) and the same transform code. The host
//! writer (`emkern_host::export::compact`) names what keeps a model out of it.
//!
//! **Why this layout**: on an in-order core (Cortex-M) a walk costs the instructions it executes, so one node
//! visit is two word loads from the record, one load from the row, one float compare and one conditional
//! branch, with no per-node flag tests: the writer folds the comparison (`<` or `<=`) and the node's default
//! direction into the threshold and a sign bit (below), and stores a tree in pre-order so that one child is the
//! next record (no field, no load) and the other is a short forward offset. Leaves are records too (their info
//! word is zero, so their far offset is zero), so a walk never checks a child's kind before moving to it: one
//! test per visit, the far offset below 2, tells the records that end a walk (a leaf, a bottom split with its
//! leaf pair, an oblivious tree's header) from a split that moves on.
//!
//! ## Layout (normative)
//!
//! All integers and floats are little-endian. The blob must start at a 4-byte aligned address (the reader
//! refuses it otherwise): all sections start at multiples of 4 from the blob start, so every word is aligned and
//! the predictor loads a threshold straight into a float register. The Rust and C sources `emkern import` writes
//! align the blob to 8; `include_bytes!` needs an aligned wrapper (`#[repr(C, align(4))] struct A<T: ?Sized>(T)`
//! around `*include_bytes!(…)`).
//!
//! ```text
//! offset size field
//!      0    4 magic           b"EMKC"
//!      4    2 version         3 (versions 2 and 1, below, are still read)
//!      6    2 header_len      40
//!      8    4 total_len       bytes in the whole blob: vectors_off + 4·n_outputs·n_vectors exactly
//!     12    4 checksum        CRC-32 (IEEE 802.3, as the general layout) of bytes 16..total_len
//!     16    4 n_features      row length the model reads: 1 ..= 65 536 (every feature index is below it)
//!     20    4 n_trees         tree entries
//!     24    4 n_records       node and leaf records over all trees: below 2²⁴
//!     28    1 n_outputs       margin columns: 1 ..= 32
//!     29    1 aggregate       0: sum (margin = base + Σ leaves); 1: mean (margin = Σ leaves / divisor + base)
//!     30    1 transform       0 identity, 1 sigmoid, 2 softmax, 3 argmax, 4 exp (the general layout's codes)
//!     31    1 reserved        zero
//!     32    4 divisor         f32, finite and > 0; 1 for a sum
//!     36    4 n_vectors       leaf vectors in the vector table (0 when no tree has vector leaves)
//!     40      base margins    n_outputs f32, finite
//!             trees           n_trees u32 entries: bits 0–23 the tree's root record, bits 24–31 its column,
//!                             or 255 ([`VECTOR_COLUMN`]): the tree's leaves are vectors
//!             records         n_records records of 8 bytes, each tree's records contiguous, trees in order
//!             vectors         n_vectors leaf vectors of n_outputs f32 each (vectors_off = records_off +
//!                             8·n_records)
//! ```
//!
//! **Version 2** (still read; the writer writes version 3): as version 3 without leaf pairs (no split with far
//! offset 1). **Version 1**: as version 2 with `header_len` 36, no `n_vectors` field (the base margins start at
//! 36), no vector table, and no tree with column 255.
//!
//! Tree `t`'s records are `root_t .. root_{t+1}` (the last tree's end at `n_records`); the first tree's root is
//! record 0 and every tree has at least one record.
//!
//! **Record** (8 bytes): `value: f32`, `info: u32`.
//!
//! ```text
//! info == 0          a leaf. In a scalar tree `value` (finite) is the tree's output, already multiplied by the
//!                    tree's weight in f32 (the general layout's `weight · leaf`, one rounding, so the sums
//!                    agree bit for bit). In a vector tree (column 255) the bits of `value` are a u32 index
//!                    below n_vectors: the leaf adds vector `index` to the margins, value `k` to column `k`.
//!                    Vector values are finite and likewise already multiplied by the tree's weight; equal
//!                    vectors (bit for bit) are stored once and shared by their leaves.
//! info != 0          a split node:
//!   bit 0            negate: compare `-x` instead of `x` (the sign bit flipped; NaN stays NaN)
//!   bits 1–16        feature index (< n_features)
//!   bits 17–31       far offset `d` (2 ..= 32 767): the far child is record `i + d`; or `d = 1`: a bottom split
//!                    (version 3), whose two children are leaves stored together as the next record, a *leaf
//!                    pair*: its first word is the next child's value, its second the far child's (each as a
//!                    leaf's `value` above: an f32, or a vector index in a vector tree)
//! ```
//!
//! A leaf pair saves one record (8 bytes) per split whose children are both leaves: the bottom level of a tree,
//! about a quarter of a depth-limited boosted model's records.
//!
//! **Oblivious trees** (version 3): a complete tree whose splits on each level are the same test — CatBoost's
//! symmetric trees, or any tree of that shape — is stored as `1 + depth + 2^(depth − 1)` records instead of one
//! per split and leaf pair: a header record (`value`: the depth `d`, 2 ..= [`MAX_OBLIVIOUS_DEPTH`], as a u32;
//! `info` exactly [`OBLIVIOUS`]: far offset 0, which no split has), then one record per level from the root
//! (`value` and `info` as a split's, with far offset 0), then the `2^d` leaf words, two per record. A row walks
//! the levels: at level `k` it reads `y` as a split does and sets bit `d − 1 − k` of the leaf index when
//! `y >= value` (the far side); the leaf is word `index` of the table. The header is the tree's root (its tree
//! entry points at it), so the walk meets it as a split with far offset 0 and takes this path instead. The
//! writer uses the form when a tree of depth 2 or more has that shape (it is smaller then: a depth-6 tree
//! takes 39 records instead of 95).
//!
//! (The bit order serves the Cortex-M walk: `info << 31` is the sign mask to XOR into `x`, and `info >> 17` the
//! offset, one shifted operand each.)
//!
//! A split node `i` reads `y = x[feature]` (negated when bit 0 is set) and moves to record `i + d` when
//! `y >= value` (an IEEE ordered comparison: false when `y` or `value` is NaN), otherwise to record `i + 1`; a
//! bottom split (`d = 1`) ends the walk at the second word of its pair when `y >= value`, else the first. So
//! a missing value always goes to the next record, which the writer makes the node's default child; a NaN
//! `value` sends every row to the next record. For a split `x < t` / `x <= t` with the default child on the left
//! or on the right, with `t` the f32 threshold of the general layout (`t` rounded up to f32 for `<`, down for
//! `<=`, exact for every f32 input):
//!
//! ```text
//! compare  default  next   far    negate  value
//!   <      left     left   right  no      t                  (far when x >= t)
//!   <      right    right  left   yes     next_up(-t)        (far when x < t  ⇔ -x > -t)
//!   <=     left     left   right  no      next_up(t)         (far when x > t)
//!   <=     right    right  left   yes     -t                 (far when x <= t ⇔ -x >= -t)
//! ```
//!
//! where `next_up(+∞)` is written as NaN (no f32 is above +∞). For every f32 row these decisions are the
//! general layout's.
//!
//! **What the reader checks** ([`CompactForest::new`]), so that no walk reads out of bounds or fails to end:
//! the header fields above, the checksum, the lengths; tree roots strictly increasing from 0, below
//! `n_records`, columns below `n_outputs` or 255; every vector value finite; and each tree's records in
//! exact pre-order: walked from its root with a bounded stack of pending far children ([`MAX_CHECKED_DEPTH`]
//! deep), every record is reached exactly once, in order — a split's next child right after it (after its pair
//! for a bottom split), its far child right after the next child's subtree (so `i + d` is checked to be that
//! record), the last record at the tree's end; every leaf's info exactly 0 and, in a scalar tree, its value (each
//! value of a pair) finite, in a vector tree its index below `n_vectors`; every split's feature below
//! `n_features`. No pointer then leads into a pair. A tree deeper than the stack (version 2 blobs of very deep
//! trees) is checked record by record instead, which allows no pair: every record a leaf or a split with far
//! offset at least 2 and both children inside the tree. Either way a walk only moves forward inside its tree and
//! stops at the first leaf (or pair) it reaches: at most one visit per record of the tree.
//!
//! The version changes whenever this layout changes.
//!
//! **Validation in two parts**: [`CompactForest::new`] checks everything above;
//! [`CompactForest::new_without_checksum`] checks everything but the CRC-32 (every check a walk's memory safety
//! rests on stays), so a firmware whose blob is in its own image, or which checks the bytes otherwise, links no
//! CRC code and no 1 KiB CRC table; [`CompactForest::verify_checksum`] checks the CRC-32 later if wanted.
//! A blob validated before — when the firmware was built, by `emkern-build`, which then generates the call —
//! needs no validation code at all: [`CompactForest::new_unchecked`] (`unsafe`: the caller vouches that these
//! bytes passed [`CompactForest::new_without_checksum`]) only reads the header's fields.
//!
//! **Transforms by type**: [`CompactForest::predict`] reads the transform from the blob, so all five are linked
//! (and libm's `expf`). [`CompactForest::predict_with`] takes the transform as a type ([`Identity`],
//! [`Sigmoid`], [`Softmax`], [`ArgMax`], [`Exp`]): only that one is linked; [`CompactForest::predict_margin`]
//! links none.
//!
//! ## Measured (Cortex-M4F, `boards/compact`: release, fat LTO; `arm-none-eabi-nm --size-sort -S -C`)
//!
//! - The walk's inner loop is 14 instructions per node visit at `opt-level = 3` and `"s"` (`arm-none-eabi-objdump
//!   -d` of `walk_all`): the feature offset (`and`), the row load, `eor` of the negate bit, `vmov`, the far
//!   offset times 8 (one `and` of `info >> 14`), `vcmp`, `vmrs`, an `it`/`mov` select of the step, the add, the
//!   next record's two loads (`ldr` info, `vldr` value) and one test of its far offset (`cmp`/`bne`: below 2 ends
//!   the walk). A leaf then costs one more test (`cmp`/`beq`), a bottom split 12 (its row value, the compare, the
//!   pair's word), an oblivious tree a call. Per tree, a model of one column without vector leaves takes the lean
//!   loop: the sum stays in a register, and the leaf's `vldr`/`vadd`, the end test (`add`, `cmp`, `beq`) and the
//!   next root (`ldr`, `add`) are 7 instructions; every other model takes the general loop, which adds the column
//!   test (`lsrs`/`cmp`/`bne`), the root mask (4) and a scalar leaf's add through memory (about 19 in all), or a
//!   vector leaf's `n_outputs` values. (Before: 17 per visit, a pair or oblivious test and a leaf test in each,
//!   and about 19 per tree plus the pair's select in one loop for all models.)
//! - `emkern profile --target cortex-m4f --engine compact-prevalidated` on `benches/mcu`'s models (150 rows,
//!   whole prediction), instructions per prediction / flash the engine adds, in bytes, before and after:
//!
//!   | model                                         | before          | after           | change |
//!   |-----------------------------------------------|-----------------|-----------------|--------|
//!   | `rf10-d6` (2 columns, vector leaves)          | 1 353 / 3 824   | 1 262 / 3 860   | −6.7%  |
//!   | `rf50-d8` (2 columns, vector leaves)          | 5 844 / 13 368  | 5 371 / 13 404  | −8.1%  |
//!   | `xgb20-d4` (one column)                       | 2 014 / 5 732   | 1 607 / 5 768   | −20.2% |
//!   | `xgb100-d6` (one column)                      | 12 251 / 58 672 | 9 669 / 58 708  | −21.1% |
//!   | `rf-multi4` (4 columns, vector leaves)        | 3 251 / 31 044  | 2 935 / 31 080  | −9.7%  |
//!   | `xgb20-d4-nan` (one column, missing values)   | 2 013 / 5 740   | 1 606 / 5 776   | −20.2% |
//!
//! - On the XGBoost demo model (100 trees, depth ≤ 5; `boards/compact/data`) through `emkern profile
//!   --target cortex-m4f` (171 rows, whole prediction with the sigmoid): 5 020 instructions per row for this
//!   reader (6 557 with the earlier 17-instruction walk, and 5 750 with that walk's version-2 predecessor, which
//!   had no leaf pairs and no oblivious branch), 16 528 for [`Forest`](super::Forest); its runtime (all but the blob) adds 4 216 bytes
//!   of flash to the firmware, 1 984 when the blob was validated at build time
//!   ([`CompactForest::new_unchecked`]); [`Forest`](super::Forest)'s 54 408.
//! - Code, in bytes, `opt-level = "s"` / `3`, of a firmware that loads with
//!   [`CompactForest::new_without_checksum`] and predicts a model with the identity transform through
//!   [`CompactForest::predict_with`]`::<`[`Identity`]`>` (a numeric f32 regressor):
//!
//!   | part                                                                  | `"s"` | `3`   |
//!   |-----------------------------------------------------------------------|-------|-------|
//!   | prediction: `predict_with` 100 / 96, `sums` 164 / 446, `walk_all` 490 / 700 | 754   | 1 242 |
//!   | validation: `new_without_checksum` 628 / 720, `validate_trees` 722 / 778, `validate_oblivious` 282 / 288, `validate_flat` 164 / 180, `leaf_fault` 50 / 54, `first_non_finite` 52 / 114 | 1 898 | 2 134 |
//!   | total                                                                 | 2 652 | 3 376 |
//!
//!   The lean loop for one-column models is most of `walk_all`'s growth from 276 / 656 bytes with the earlier
//!   walk (one loop for all models): 214 bytes at `"s"`, where the tree walk is inlined into both loops, 44 at
//!   `3` (36 bytes more flash for `compact-prevalidated` above). So the prediction code is within 1 KiB at
//!   `"s"`, the whole reader with validation is not: validation alone is about 1.9 KiB (the pre-order check with its stack of pending far children is about 0.5 KiB more
//!   than version 2's record-by-record check, which could not allow leaf pairs). With
//!   [`CompactForest::new_unchecked`] (a blob validated at build time) the firmware links the prediction and
//!   about 40 bytes of header reads: about 0.8 KiB of forest code in all at `"s"` (`boards/compact --features
//!   prevalidated`). Validation checks 12 header fields and every record, and each typed error (field name,
//!   record or tree index and what is wrong) costs 10 to 16 bytes to build (about 25 of them), the checked
//!   section arithmetic about 100, the view's construction about 80. At `3` the loops of `sums` and of the
//!   vector-leaf add are unrolled. Nothing of [`Forest`](super::Forest) is linked, nor `core::fmt` (the errors'
//!   `Display` is linked only when used).
//! - A transform by type adds only its own code: [`Sigmoid`] makes `predict_with` 656 / 660 bytes (libm's
//!   `expf` inlined into it). [`CompactForest::predict`] (the transform read from the blob) is 216 / 992
//!   bytes plus `expf` (472 / 484) for the five transforms; [`CompactForest::new`] adds the table-driven
//!   CRC-32: a 1 KiB table and a short loop.
//! - A blob holds 8 bytes per split, 8 per leaf or leaf pair, and 4 bytes per value of each distinct leaf
//!   vector: the demo model takes 7 652 bytes, the general layout 8 168. Over the fixtures that fit, leaf pairs
//!   save about 23% of the records.

mod error;
mod predict;
mod transform;
mod view;

pub use error::CompactError;
pub use transform::{ArgMax, CompactTransform, Exp, Identity, Sigmoid, Softmax};
pub use view::CompactForest;

/// The four magic bytes at the start of a compact blob.
pub const MAGIC: [u8; 4] = *b"EMKC";
/// The layout version described above.
pub const VERSION: u16 = 3;
/// Depth of the stack of pending far children with which the reader checks a tree's pre-order (trees that need
/// more, which only version 2 writers wrote, are checked record by record and may not use leaf pairs).
pub const MAX_CHECKED_DEPTH: usize = 64;
/// The far offset that marks a bottom split (its two leaves are the next record, a leaf pair).
pub const PAIR_FAR: u32 = 1;
/// The `info` word of an oblivious tree's header record (its root, version 3): far offset 0, which no split has.
pub const OBLIVIOUS: u32 = NEGATE;
/// Deepest oblivious tree (levels); its leaf table has `2^depth` words.
pub const MAX_OBLIVIOUS_DEPTH: u32 = 16;
/// Bytes in the header.
pub const HEADER_LEN: usize = 40;
/// Bytes in a version-1 header (no `n_vectors` field).
pub const HEADER_LEN_V1: usize = 36;
/// The column of a tree entry whose tree has vector leaves (every other column is below [`MAX_OUTPUTS`]).
pub const VECTOR_COLUMN: u32 = 0xFF;
/// Bytes in a record.
pub const RECORD: usize = 8;
/// Bytes in a tree entry.
pub const TREE_ENTRY: usize = 4;
/// Most margin columns a compact model has (one stack buffer of this many f32 holds the sums).
pub const MAX_OUTPUTS: usize = 32;
/// Most features a compact model reads (16-bit feature indices).
pub const MAX_FEATURES: usize = 1 << 16;
/// Records must be fewer than this (24-bit root indices).
pub const MAX_RECORDS: usize = 1 << 24;
/// Largest far offset (15 bits).
pub const MAX_FAR: usize = (1 << 15) - 1;
/// `info` bit: compare the negated value.
pub const NEGATE: u32 = 1;
/// Shift of the feature index in `info`.
pub const FEATURE_SHIFT: u32 = 1;
/// Mask of the feature index after shifting.
pub const FEATURE_MASK: u32 = 0xFFFF;
/// Shift of the far offset in `info` (its top 15 bits).
pub const FAR_SHIFT: u32 = 17;
/// Tree entry bits of the root record.
pub const ROOT_MASK: u32 = 0x00FF_FFFF;
/// Shift of the column in a tree entry.
pub const COLUMN_SHIFT: u32 = 24;

/// The `info` word of a split node (see the module documentation); `None` when a field is out of range. A far
/// offset of 1 ([`PAIR_FAR`]) makes a bottom split, whose leaf pair is the next record.
pub const fn split_info(feature: usize, far: usize, negate: bool) -> Option<u32> {
    if feature >= MAX_FEATURES || far == 0 || far > MAX_FAR {
        return None;
    }
    Some(
        ((feature as u32) << FEATURE_SHIFT)
            | ((far as u32) << FAR_SHIFT)
            | if negate { NEGATE } else { 0 },
    )
}
