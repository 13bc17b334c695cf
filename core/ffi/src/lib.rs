//! C API for emkern: the tree-ensemble core (`emkern::forest`), attention ([`attention`]), RoPE ([`rope`]) and
//! the Medusa acceptance step ([`medusa`]), as a static library (`libemkern_ffi.a`) and the header
//! `include/emkern.h`, generated from this crate by cbindgen.
//!
//! The caller owns every byte: an [`EmkForest`] (`emk_forest` in C) is a fixed-size struct the caller declares
//! (on the stack, in a static), [`emk_forest_init`] validates a model blob once and stores the view in it, and the
//! predict calls write into caller buffers. Nothing allocates, and every misuse the library can detect — a null
//! pointer, a misaligned pointer, a buffer shorter than needed, a forest that was never initialized (zeroed), a
//! malformed blob — returns an [`EmkStatus`] instead of crashing.
//!
//! What the library cannot detect is the C caller's side of the contract: a pointer must point to as many
//! readable (or writable) values as its length argument says, and the blob must stay alive and unchanged while a
//! forest initialized from it is in use.

#![no_std]

// On hosted targets the static library takes the panic runtime (and the unwinding glue a Rust static library
// needs) from std; the code here uses `core` only. Bare-metal targets get the handler below.
#[cfg(not(target_os = "none"))]
extern crate std;

pub mod attention;
pub mod medusa;
pub mod rope;
mod status;

use core::mem::{MaybeUninit, align_of, size_of};
use core::ptr;
use core::slice;

use emkern::forest::Forest;

pub use status::{EmkStatus, emk_status_str};

/// 64-bit words of the private storage inside an `emk_forest`.
pub const EMK_FOREST_STORAGE_WORDS: usize = 32;

/// Size in bytes of an `emk_forest`, the same on every target.
pub const EMK_FOREST_SIZE: usize = 8 + 8 * EMK_FOREST_STORAGE_WORDS;

/// Alignment in bytes of an `emk_forest`.
pub const EMK_FOREST_ALIGN: usize = 8;

/// The value of `magic` in an initialized forest.
const MAGIC: u64 = 0x454d_4b46_4f52_4553; // "EMKFORES"

/// A validated model: caller-owned storage of fixed size and alignment (`EMK_FOREST_SIZE`, `EMK_FOREST_ALIGN`)
/// that `emk_forest_init` fills. Its fields are private: do not read or write them.
///
/// The forest borrows the blob it was initialized from: the blob must stay alive and unchanged for as long as the
/// forest is used. A forest may be copied (`memcpy`, struct assignment); the copy borrows the same blob.
/// Zero-initialize a forest you have not initialized yet (`emk_forest f = {0};` or a static): the predict calls
/// then return `EMK_NOT_INITIALIZED` rather than reading garbage. A failed `emk_forest_init` leaves the forest
/// uninitialized in the same way. The predict and query calls only read the forest (and the blob): several threads
/// or interrupt handlers may use one forest at once.
#[repr(C)]
pub struct EmkForest {
    /// Private: a fixed value once `emk_forest_init` succeeded, anything else otherwise.
    magic: u64,
    /// Private: the validated view of the blob (some of its bytes are padding with indeterminate values; copying
    /// the struct is fine).
    // `MaybeUninit` because those padding bytes are uninitialized, which a Rust integer may not be.
    storage: MaybeUninit<[u64; EMK_FOREST_STORAGE_WORDS]>,
}

const _: () = {
    assert!(size_of::<Forest<'static>>() <= 8 * EMK_FOREST_STORAGE_WORDS);
    assert!(align_of::<Forest<'static>>() <= EMK_FOREST_ALIGN);
    assert!(size_of::<EmkForest>() == EMK_FOREST_SIZE);
    assert!(align_of::<EmkForest>() == EMK_FOREST_ALIGN);
};

/// The forest inside `f`, if `f` is non-null, aligned and initialized.
///
/// # Safety
/// `f` is null or points to `size_of::<EmkForest>()` readable bytes.
unsafe fn forest<'a>(f: *const EmkForest) -> Result<&'a Forest<'static>, EmkStatus> {
    if f.is_null() {
        return Err(EmkStatus::EMK_NULL_POINTER);
    }
    if !f.is_aligned() {
        return Err(EmkStatus::EMK_MISALIGNED);
    }
    // SAFETY: `f` is non-null and aligned; the caller guarantees it points to a readable `EmkForest`, initialized
    // or zeroed (`magic` an initialized integer; `storage` is `MaybeUninit`, valid with any bytes).
    let f = unsafe { &*f };
    if f.magic != MAGIC {
        return Err(EmkStatus::EMK_NOT_INITIALIZED);
    }
    // SAFETY: `magic` is set only by `emk_forest_init`, after it wrote a `Forest` into `storage` (which is large
    // and aligned enough: the assertions above); copies of the struct copy that `Forest`, which is `Copy`. The
    // blob it borrows is alive by the caller's contract.
    Ok(unsafe { &*f.storage.as_ptr().cast::<Forest<'static>>() })
}

/// A slice of `len` values at `p`, after the null and alignment checks; `too_long` when `len` values would span
/// more than `isize::MAX` bytes (no allocation can: the caller's claim is impossible).
///
/// # Safety
/// `p` is null or points to at least `len` readable `T`.
unsafe fn input<'a, T>(p: *const T, len: usize, too_long: EmkStatus) -> Result<&'a [T], EmkStatus> {
    check_pointer(p, len, too_long)?;
    // SAFETY: non-null, aligned, at most `isize::MAX` bytes, and the caller guarantees `len` readable values that
    // nothing writes meanwhile.
    Ok(unsafe { slice::from_raw_parts(p, len) })
}

/// A mutable slice of `len` values at `p`, after the checks of [`input`].
///
/// # Safety
/// `p` is null or points to at least `len` writable `T` that nothing else accesses during the call.
unsafe fn output<'a, T>(
    p: *mut T,
    len: usize,
    too_long: EmkStatus,
) -> Result<&'a mut [T], EmkStatus> {
    check_pointer(p.cast_const(), len, too_long)?;
    // SAFETY: non-null, aligned, at most `isize::MAX` bytes, and the caller guarantees `len` writable values,
    // accessed only through this slice.
    Ok(unsafe { slice::from_raw_parts_mut(p, len) })
}

/// The checks a pointer and length pass before they become a slice.
fn check_pointer<T>(p: *const T, len: usize, too_long: EmkStatus) -> Result<(), EmkStatus> {
    if p.is_null() {
        return Err(EmkStatus::EMK_NULL_POINTER);
    }
    if !p.is_aligned() {
        return Err(EmkStatus::EMK_MISALIGNED);
    }
    if len > isize::MAX as usize / size_of::<T>().max(1) {
        return Err(too_long);
    }
    Ok(())
}

/// Turns a `Result` into the status C sees.
fn status(r: Result<(), EmkStatus>) -> EmkStatus {
    match r {
        Ok(()) => EmkStatus::EMK_OK,
        Err(s) => s,
    }
}

/// Validates the model blob `blob[0..len]` (header, checksum, every offset and tree) once, and on success stores
/// the validated view in `*f`.
///
/// The forest borrows the blob: keep the blob alive and unchanged while `*f` is used (a blob in flash, a
/// `static const uint8_t[]`, is the usual case). The blob needs no alignment. On failure `*f` is left
/// uninitialized (the predict calls return `EMK_NOT_INITIALIZED`) and the status says why the blob was rejected
/// (`EMK_CHECKSUM_MISMATCH` for a corrupted byte, `EMK_TRUNCATED` for a short one, …).
///
/// # Safety
/// `f` is null or points to a writable `emk_forest`; `blob` is null or points to `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn emk_forest_init(
    f: *mut EmkForest,
    blob: *const u8,
    len: usize,
) -> EmkStatus {
    if f.is_null() || blob.is_null() {
        return EmkStatus::EMK_NULL_POINTER;
    }
    if !f.is_aligned() {
        return EmkStatus::EMK_MISALIGNED;
    }
    // SAFETY: `f` is non-null and aligned and the caller guarantees a writable `EmkForest`; writing an integer
    // field of a `repr(C)` struct through a raw place creates no reference to possibly uninitialized memory.
    unsafe { ptr::addr_of_mut!((*f).magic).write(0) };
    // SAFETY: `blob` is non-null (u8 needs no alignment) and the caller guarantees `len` readable bytes (so at most
    // `isize::MAX` of them) that outlive every use of the forest (the documented contract; the `'static` lifetime
    // stands for it).
    let bytes: &'static [u8] = unsafe { slice::from_raw_parts(blob, len) };
    match Forest::new(bytes) {
        Ok(forest) => {
            // SAFETY: `storage` is large and aligned enough for a `Forest` (the compile-time assertions), `f` is
            // valid for writes; `write` does not read or drop the old bytes.
            unsafe {
                ptr::addr_of_mut!((*f).storage)
                    .cast::<Forest<'static>>()
                    .write(forest);
                ptr::addr_of_mut!((*f).magic).write(MAGIC);
            }
            EmkStatus::EMK_OK
        }
        Err(e) => EmkStatus::from_blob_error(e),
    }
}

/// Writes the prediction of one row into `out[0..emk_forest_output_len(f)]`: the margins through the model's
/// output transform (probabilities for classifiers, the class index for an arg-max model, the value for a
/// regressor).
///
/// `row` holds `n_row` values, at least `emk_forest_n_features(f)` (extra values are ignored); NaN marks a
/// missing value. `out` has room for `n_out` values, at least `emk_forest_output_len(f)`.
///
/// # Safety
/// `f` is null or points to an `emk_forest` (initialized or zeroed); `row` is null or points to `n_row` readable
/// floats; `out` is null or points to `n_out` writable floats that do not overlap `row`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn emk_forest_predict(
    f: *const EmkForest,
    row: *const f32,
    n_row: usize,
    out: *mut f32,
    n_out: usize,
) -> EmkStatus {
    // SAFETY: the caller's contract, forwarded.
    status(unsafe { predict_one(f, row, n_row, out, n_out, false) })
}

/// Writes the raw margins of one row (before the output transform) into `out[0..emk_forest_n_outputs(f)]`.
///
/// `row` holds `n_row` values, at least `emk_forest_n_features(f)`; `out` has room for `n_out` values, at least
/// `emk_forest_n_outputs(f)`.
///
/// # Safety
/// As for `emk_forest_predict`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn emk_forest_predict_margin(
    f: *const EmkForest,
    row: *const f32,
    n_row: usize,
    out: *mut f32,
    n_out: usize,
) -> EmkStatus {
    // SAFETY: the caller's contract, forwarded.
    status(unsafe { predict_one(f, row, n_row, out, n_out, true) })
}

/// One row, either call. Slices cover only what the model reads and writes, so an over-long length argument
/// never makes a slice larger than the call needs.
///
/// # Safety
/// As for `emk_forest_predict`.
unsafe fn predict_one(
    f: *const EmkForest,
    row: *const f32,
    n_row: usize,
    out: *mut f32,
    n_out: usize,
    margin: bool,
) -> Result<(), EmkStatus> {
    // SAFETY: the caller's contract.
    let forest = unsafe { forest(f)? };
    if row.is_null() || out.is_null() {
        return Err(EmkStatus::EMK_NULL_POINTER);
    }
    let needed_out = if margin {
        forest.n_outputs()
    } else {
        forest.output_len()
    };
    if n_row < forest.n_features() {
        return Err(EmkStatus::EMK_ROW_TOO_SHORT);
    }
    if n_out < needed_out {
        return Err(EmkStatus::EMK_OUTPUT_TOO_SHORT);
    }
    // SAFETY: `n_features <= n_row` readable floats at `row`, `needed_out <= n_out` writable ones at `out`.
    let (row, out) = unsafe {
        (
            input(row, forest.n_features(), EmkStatus::EMK_ROW_TOO_SHORT)?,
            output(out, needed_out, EmkStatus::EMK_OUTPUT_TOO_SHORT)?,
        )
    };
    let r = if margin {
        forest.predict_margin(row, out)
    } else {
        forest.predict(row, out)
    };
    r.map_err(EmkStatus::from_shape_error)
}

/// Predicts `n_rows` rows stored row-major in `rows`, `stride` floats between the starts of consecutive rows
/// (`stride >= emk_forest_n_features(f)` when `n_rows > 1`), and writes `n_rows` results row-major into `out`:
/// `emk_forest_output_len(f)` values per row, or `emk_forest_n_outputs(f)` margins per row when `margin` is
/// non-zero.
///
/// `rows` holds `(n_rows - 1) * stride + emk_forest_n_features(f)` floats or more; `out` has room for `n_out`
/// values, at least `n_rows` times the per-row count. With `n_rows == 0` nothing is read or written (the pointers
/// must still be non-null).
///
/// # Safety
/// `f` as for `emk_forest_predict`; `rows` is null or points to every float the rows span (the count above);
/// `out` is null or points to `n_out` writable floats that do not overlap `rows`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn emk_forest_predict_batch(
    f: *const EmkForest,
    rows: *const f32,
    stride: usize,
    n_rows: usize,
    out: *mut f32,
    n_out: usize,
    margin: core::ffi::c_int,
) -> EmkStatus {
    // SAFETY: the caller's contract, forwarded.
    status(unsafe { predict_batch(f, rows, stride, n_rows, out, n_out, margin != 0) })
}

/// The batch call.
///
/// # Safety
/// As for `emk_forest_predict_batch`.
unsafe fn predict_batch(
    f: *const EmkForest,
    rows: *const f32,
    stride: usize,
    n_rows: usize,
    out: *mut f32,
    n_out: usize,
    margin: bool,
) -> Result<(), EmkStatus> {
    // SAFETY: the caller's contract.
    let forest = unsafe { forest(f)? };
    if rows.is_null() || out.is_null() {
        return Err(EmkStatus::EMK_NULL_POINTER);
    }
    if n_rows == 0 {
        return Ok(());
    }
    let nf = forest.n_features();
    if n_rows > 1 && stride < nf {
        return Err(EmkStatus::EMK_BAD_STRIDE);
    }
    let width = if margin {
        forest.n_outputs()
    } else {
        forest.output_len()
    };
    // The rows span this many floats; a count that overflows (or spans more than `isize::MAX` bytes, checked by
    // `input`) cannot be readable memory.
    let needed_in = (n_rows - 1)
        .checked_mul(stride)
        .and_then(|v| v.checked_add(nf))
        .ok_or(EmkStatus::EMK_ROW_TOO_SHORT)?;
    let needed_out = n_rows
        .checked_mul(width)
        .filter(|&n| n <= n_out)
        .ok_or(EmkStatus::EMK_OUTPUT_TOO_SHORT)?;
    // SAFETY: the caller guarantees the rows span readable floats (`needed_in` of them) and `n_out >= needed_out`
    // writable floats at `out`.
    let (rows, out) = unsafe {
        (
            input(rows, needed_in, EmkStatus::EMK_ROW_TOO_SHORT)?,
            output(out, needed_out, EmkStatus::EMK_OUTPUT_TOO_SHORT)?,
        )
    };
    forest
        .predict_batch(rows, stride, n_rows, out, margin)
        .map_err(EmkStatus::from_shape_error)
}

/// Reads one number from an initialized forest; 0 for a null, misaligned or uninitialized one.
///
/// # Safety
/// `f` is null or points to an `emk_forest`.
unsafe fn query<T: Default>(f: *const EmkForest, get: impl FnOnce(&Forest<'static>) -> T) -> T {
    // SAFETY: the caller's contract.
    match unsafe { forest(f) } {
        Ok(forest) => get(forest),
        Err(_) => T::default(),
    }
}

/// Features a row must have (the minimum `n_row`); 0 if `f` is null or not initialized.
///
/// # Safety
/// `f` is null or points to an `emk_forest` (initialized or zeroed).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn emk_forest_n_features(f: *const EmkForest) -> usize {
    // SAFETY: the caller's contract, forwarded.
    unsafe { query(f, Forest::n_features) }
}

/// Margin columns `emk_forest_predict_margin` writes per row; 0 if `f` is null or not initialized.
///
/// # Safety
/// `f` is null or points to an `emk_forest` (initialized or zeroed).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn emk_forest_n_outputs(f: *const EmkForest) -> usize {
    // SAFETY: the caller's contract, forwarded.
    unsafe { query(f, Forest::n_outputs) }
}

/// Values `emk_forest_predict` writes per row: 1 for an arg-max model, else the margin columns; 0 if `f` is
/// null or not initialized.
///
/// # Safety
/// `f` is null or points to an `emk_forest` (initialized or zeroed).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn emk_forest_output_len(f: *const EmkForest) -> usize {
    // SAFETY: the caller's contract, forwarded.
    unsafe { query(f, Forest::output_len) }
}

/// The worst-case number of internal nodes one row visits (the sum of every tree's depth, times the passes a
/// prediction makes): a bound on a prediction's work for timing analysis. 0 if `f` is null or not initialized.
///
/// # Safety
/// `f` is null or points to an `emk_forest` (initialized or zeroed).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn emk_forest_worst_case_visits(f: *const EmkForest) -> u64 {
    // SAFETY: the caller's contract, forwarded.
    unsafe { query(f, Forest::worst_case_visits) }
}

/// The panic handler of bare-metal builds (a static library must bring one; this crate is for C firmware, Rust
/// firmware uses `emkern` directly). Every entry point checks its inputs and the core never panics, so no call to
/// it should survive optimization; it calls a function defined nowhere, so a firmware that still reaches it fails
/// to link (`undefined reference to emkern_ffi_panic_path_survived`) instead of shipping a panic path.
#[cfg(target_os = "none")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    unsafe extern "C" {
        /// Declared, defined nowhere: see above.
        fn emkern_ffi_panic_path_survived() -> !;
    }
    // SAFETY: never linked into a working firmware (see above); if it were defined, it takes no arguments.
    unsafe { emkern_ffi_panic_path_survived() }
}
