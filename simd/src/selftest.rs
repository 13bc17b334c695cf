//! A self-test of every [`Kernels`](crate::Kernels) primitive at one [`Simd`] level, checked against the
//! portable scalar oracle ([`Simd::scalar`], [`crate::portable`]).
//!
//! It is `no_std`, allocation-free and panic-free, and uses only fixed-size stack buffers (at most 4160 bytes
//! each, about 26 KiB live at a time, in the `gemm` cases), so the same code runs in firmware on a microcontroller and in a host
//! integration test.
//!
//! # What is run
//! Every primitive, for every length `0..=67` (all vector tail lengths) and `255`, `256`, `1000`, with the slices
//! starting at element offsets 0 to 3 (unaligned starts), with unequal slice lengths where a primitive takes the
//! common prefix, and on several input families from a fixed xorshift generator (so every run sees the same
//! inputs): uniform values in `[-1, 1)`, magnitudes over `2^±40`, tiny values near and below the normal range,
//! special values (±0, subnormals, ±inf, NaN, huge and small magnitudes), rounding ties for the narrowing
//! conversions, and raw random bit patterns. [`Kernels::dot_rows`](crate::Kernels::dot_rows) is also run with
//! 0 to 9 rows, contiguous, padded, overlapping and repeated (`stride == 0`) rows, and with a `rows` slice too
//! short for the last row. [`Kernels::gemm`](crate::Kernels::gemm) is run on 0 to 25 rows, 0 to 130 columns and
//! depths 0 to 33, contiguous and padded, accumulating or not, and with operands too short (refused);
//! [`Kernels::transpose`](crate::Kernels::transpose) on every shape up to 19 × 19 and a few long ones.
//!
//! Besides the values, each case checks that nothing outside the processed range was written (the output
//! buffers carry sentinels around the slices) and the inputs are surrounded by poison values (NaN, or `+inf` for
//! `max`) so that a kernel that reads past a slice end produces a wrong result.
//!
//! # Tolerances (the level against the scalar oracle)
//! With `u = 2⁻²⁴` and `ε = 2⁻²³`:
//! - `dot`, `dot_rows`, `sum`: `|got − want| ≤ (n + 8)·ε·Σ|terms| + (n + 1)·2⁻¹⁴⁹` (the terms' magnitudes summed
//!   by the scalar path). A NaN result must be matched by NaN, an infinite one by the same infinity.
//! - `axpy` and both rotations, per element: `|got − want| ≤ 4u·(|t₁| + |t₂|) + 2·2⁻¹⁴⁹` for a result
//!   `t₁ ± t₂` (this covers one level using a fused multiply-add where the other rounds the product); non-finite
//!   results must match in class.
//! - `exp`, `exp_in_place`: at most 3 ulp from the scalar result (which is itself within 1 ulp of the correctly
//!   rounded value under the shared contract), where `+inf` counts as one ulp above `f32::MAX` near the overflow
//!   threshold; exactly `+inf` above `88.75` and exactly `+0` below `-104`; NaN gives NaN.
//! - `scale`, `transpose` and all conversions: bit-exact, except that NaN results only need to be NaN (quiet for
//!   `f32_to_f16`; quiet and of the input's sign for `f32_to_bf16`, as their contracts say).
//! - `max`: bit-exact against the contract evaluated here with comparisons (the largest element that is not a
//!   NaN, quiet or signalling; `-inf` if there is none), either zero when the maximum is a zero.
//!
//! # Levels that flush subnormals
//! Arm's M-profile Vector Extension always evaluates vector floating-point arithmetic with flush-to-zero and
//! default-NaN semantics, whatever `FPSCR` says: subnormal operands are read as zero and results that are tiny
//! before rounding become zero. For such a level ([`flushes_subnormals`]) the arithmetic primitives (`dot`,
//! `dot_rows`, `sum`, `axpy`, `scale` and the rotations) are also accepted when they match that model: the same
//! operation on the inputs with subnormals replaced by signed zeros, compared within the tolerances above plus a
//! few units of `2⁻¹²⁶` per result (one per flushed intermediate value). `max`, `exp` and the conversions get no
//! such allowance.
//!
//! The oracle must itself be plain scalar code: built for a Cortex-M55 (`-C target-cpu=cortex-m55`), LLVM
//! auto-vectorizes parts of [`crate::portable`] into MVE instructions, which then flush subnormals too (for
//! example, subnormal results of `exp` become zero). Firmware that runs this self-test there should be built
//! with `-C no-vectorize-loops -C no-vectorize-slp`, as the project's board firmware is.
//!
//! ```
//! use emkern_simd::{Simd, selftest};
//! let tally = selftest::run(Simd::scalar(), &mut |failure| panic!("{failure:?}"));
//! assert!(tally.all_passed() && tally.passed > 0);
//! for p in &tally.primitives {
//!     println!("{}: {} passed, {} failed", p.name, p.passed, p.failed);
//! }
//! ```

use crate::{GemmShape, Level, Primitive, Simd, bf16, f16};

/// How many primitives the self-test checks (the methods of [`Kernels`](crate::Kernels): [`Primitive::ALL`]).
pub const PRIMITIVE_COUNT: usize = Primitive::COUNT;

/// The names of the checked primitives, in the order of [`Tally::primitives`] ([`Primitive::names`]).
pub const PRIMITIVES: [&str; PRIMITIVE_COUNT] = Primitive::names();

/// Which property of a case failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Check {
    /// A result value is outside its tolerance (or of the wrong class: NaN, infinity).
    Value,
    /// An element outside the range the primitive may write was modified.
    Untouched,
    /// [`Kernels::dot_rows`](crate::Kernels::dot_rows) returned the wrong number of rows.
    Count,
}

/// One failed case, as passed to the `on_failure` callback of [`run`]. Only the first wrong element of a case
/// is reported.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Failure {
    /// The level under test.
    pub level: Level,
    /// The primitive's name (one of [`PRIMITIVES`]).
    pub primitive: &'static str,
    /// The input family, e.g. `"unit"`, `"special"`, `"bits"`.
    pub data: &'static str,
    /// The nominal length of the case (the first input's length; the dimension for `dot_rows`; `m·1000 + n`
    /// for `gemm`, whose depth `k` is then in `offset`).
    pub len: u32,
    /// Start offset (in elements) of the first input slice inside its buffer (the depth `k` for `gemm`).
    pub offset: u32,
    /// Index of the wrong element relative to the output slice start (`u32::MAX` for a scalar result); for
    /// [`Check::Untouched`] it may lie before (wrapping) or after the slice.
    pub index: u32,
    /// What was checked.
    pub check: Check,
    /// The value the level produced (16-bit results widened exactly to f32; a count as f32).
    pub got: f32,
    /// The value the scalar oracle produced, in the same form.
    pub expected: f32,
    /// The allowed absolute difference (`0.0` for bit-exact checks, NaN when only the class is compared; in ulp
    /// for `exp`).
    pub tolerance: f32,
}

/// Passed and failed case counts of one primitive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PrimitiveTally {
    /// The primitive's name (one of [`PRIMITIVES`]).
    pub name: &'static str,
    /// Cases whose every check passed.
    pub passed: u32,
    /// Cases with at least one failed check.
    pub failed: u32,
}

/// The outcome of [`run`]: totals and a per-primitive breakdown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Tally {
    /// The level that was tested.
    pub level: Level,
    /// Cases that passed, over all primitives.
    pub passed: u32,
    /// Cases that failed, over all primitives.
    pub failed: u32,
    /// Per-primitive counts, in the order of [`PRIMITIVES`].
    pub primitives: [PrimitiveTally; PRIMITIVE_COUNT],
}

impl Tally {
    fn new(level: Level) -> Tally {
        let mut primitives = [PrimitiveTally {
            name: "",
            passed: 0,
            failed: 0,
        }; PRIMITIVE_COUNT];
        for (p, name) in primitives.iter_mut().zip(PRIMITIVES) {
            p.name = name;
        }
        Tally {
            level,
            passed: 0,
            failed: 0,
            primitives,
        }
    }

    /// Whether every case passed.
    pub fn all_passed(&self) -> bool {
        self.failed == 0
    }
}

/// Whether `level` evaluates vector floating-point arithmetic with subnormals flushed to zero, which the
/// self-test then accepts for the arithmetic primitives (see the [module documentation](self)). True for
/// [`Level::Helium`]: MVE ignores `FPSCR.FZ` and always flushes.
pub const fn flushes_subnormals(level: Level) -> bool {
    matches!(level, Level::Helium)
}

/// Runs every primitive at the level of `simd` against the scalar oracle and returns the counts. `on_failure`
/// is called once per failed case, with the first wrong element of that case.
///
/// Run on [`Simd::scalar`] itself, this checks the oracle against itself plus the shape rules (untouched
/// elements, row counts), and exercises the harness.
pub fn run(simd: Simd, on_failure: &mut dyn FnMut(&Failure)) -> Tally {
    let level = simd.level();
    let mut ctx = Ctx {
        simd,
        flushes: flushes_subnormals(level),
        tally: Tally::new(level),
        on_failure,
    };
    test_dot(&mut ctx);
    test_dot_rows(&mut ctx);
    test_axpy(&mut ctx);
    test_scale(&mut ctx);
    test_max(&mut ctx);
    test_sum(&mut ctx);
    test_exp(&mut ctx, false);
    test_exp(&mut ctx, true);
    test_f16_to_f32(&mut ctx);
    test_f32_to_f16(&mut ctx);
    test_bf16_to_f32(&mut ctx);
    test_f32_to_bf16(&mut ctx);
    test_rotate(&mut ctx, false);
    test_rotate(&mut ctx, true);
    test_gemm(&mut ctx);
    test_transpose(&mut ctx);
    ctx.tally
}

// ---------------------------------------------------------------------------------------------------------------
// Harness

/// Elements per buffer: the largest length (1000) plus offset, unequal-length extra and guard zone.
const CAP: usize = 1040;
/// Elements after a slice that are checked (outputs) or poisoned (inputs).
const GUARD: usize = 16;
/// Lengths beyond the exhaustive `0..=MAX_SHORT`.
const LARGE: [usize; 3] = [255, 256, 1000];
const MAX_SHORT: usize = 67;
/// Start offsets of the first and second slice of a case.
const OFFSETS: [(usize, usize); 4] = [(0, 0), (1, 2), (2, 1), (3, 3)];

/// Written around output slices; a kernel must leave it alone.
const SENTINEL: u32 = 0x7FA5_A5A5;
const SENTINEL16: u16 = 0x7D5A;
/// Placed around input slices: reading it makes arithmetic results NaN.
const POISON: f32 = f32::NAN;

/// 2⁻²³ and 2⁻²⁴.
const EPS: f32 = 1.192_092_9e-7;
const U: f32 = 5.960_464_5e-8;
/// The smallest subnormal, 2⁻¹⁴⁹, and the smallest normal, 2⁻¹²⁶.
const TINY: f32 = 1.0e-45;
const MIN_NORMAL: f32 = f32::MIN_POSITIVE;

fn lengths() -> impl Iterator<Item = usize> {
    (0..=MAX_SHORT).chain(LARGE)
}

struct Ctx<'f> {
    simd: Simd,
    flushes: bool,
    tally: Tally,
    on_failure: &'f mut dyn FnMut(&Failure),
}

/// One case in progress: remembers its first failure.
struct Case {
    prim: usize,
    data: &'static str,
    len: usize,
    offset: usize,
    fail: Option<(Check, usize, f32, f32, f32)>,
}

impl Case {
    fn new(prim: usize, data: Data, len: usize, offset: usize) -> Case {
        Case {
            prim,
            data: data.name(),
            len,
            offset,
            fail: None,
        }
    }

    fn fail(&mut self, check: Check, index: usize, got: f32, expected: f32, tolerance: f32) {
        if self.fail.is_none() {
            self.fail = Some((check, index, got, expected, tolerance));
        }
    }
}

impl Ctx<'_> {
    fn finish(&mut self, case: Case) {
        let slot = self.tally.primitives.get_mut(case.prim);
        match case.fail {
            None => {
                self.tally.passed = self.tally.passed.saturating_add(1);
                if let Some(p) = slot {
                    p.passed = p.passed.saturating_add(1);
                }
            }
            Some((check, index, got, expected, tolerance)) => {
                self.tally.failed = self.tally.failed.saturating_add(1);
                if let Some(p) = slot {
                    p.failed = p.failed.saturating_add(1);
                }
                let failure = Failure {
                    level: self.tally.level,
                    primitive: PRIMITIVES.get(case.prim).copied().unwrap_or(""),
                    data: case.data,
                    len: case.len as u32,
                    offset: case.offset as u32,
                    index: index as u32,
                    check,
                    got,
                    expected,
                    tolerance,
                };
                (self.on_failure)(&failure);
            }
        }
    }
}

/// `buf[off .. off + len]`, or an empty slice if that is out of range (never with the sizes used here).
fn sub<T>(buf: &[T], off: usize, len: usize) -> &[T] {
    buf.get(off..off.saturating_add(len)).unwrap_or(&[])
}

fn sub_mut<T>(buf: &mut [T], off: usize, len: usize) -> &mut [T] {
    buf.get_mut(off..off.saturating_add(len)).unwrap_or(&mut [])
}

/// Fills `buf[..end]` (clamped to the buffer) with `value`.
fn reset<T: Copy>(buf: &mut [T], end: usize, value: T) {
    for v in buf.iter_mut().take(end) {
        *v = value;
    }
}

/// xorshift32 (Marsaglia 2003): small, fast and deterministic.
struct Rng(u32);

impl Rng {
    /// A generator for one case, seeded from the case's coordinates so each case is reproducible on its own.
    fn for_case(parts: [usize; 4]) -> Rng {
        let mut h: u32 = 0x9E37_79B9;
        for p in parts {
            h = (h ^ p as u32).wrapping_mul(0x85EB_CA6B);
            h ^= h >> 13;
            h = h.wrapping_mul(0xC2B2_AE35);
            h ^= h >> 16;
        }
        Rng(if h == 0 { 0x2545_F491 } else { h })
    }

    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        ((u64::from(self.next()) * n as u64) >> 32) as usize
    }

    /// Uniform in `[-1, 1)`.
    fn unit(&mut self) -> f32 {
        (self.next() >> 8) as f32 * EPS - 1.0
    }

    /// True with probability `1/n`.
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn pick(&mut self, list: &[f32]) -> f32 {
        list.get(self.below(list.len())).copied().unwrap_or(0.0)
    }

    fn pick16(&mut self, list: &[u16]) -> u16 {
        list.get(self.below(list.len())).copied().unwrap_or(0)
    }
}

/// Input families.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Data {
    /// Uniform in `[-1, 1)`.
    Unit,
    /// Random sign, magnitude `(1 + f)·2^e` with `e` in `-40..=40`.
    Wide,
    /// Magnitudes `2^-149 ..= 2^-100`: about half subnormal, products underflow.
    Tiny,
    /// Unit values with some replaced by special values that cannot overflow a sum of 1000 products.
    Special,
    /// Unit and wide values mixed with extreme special values (`f32::MAX`, the f16 limits, ...).
    Extreme,
    /// NaN-dominated (every element NaN in half of the cases).
    NanHeavy,
    /// Raw random bit patterns (every class of value, 16 or 32 bits).
    Bits,
    /// Inputs of `exp` over its whole interesting range `[-110, 95]`.
    ExpRange,
    /// Inputs of `exp` near its thresholds, and special values.
    ExpSpecial,
    /// f32 values on or next to a binary16 rounding tie.
    TiesF16,
    /// f32 values on or next to a bfloat16 rounding tie.
    TiesBf16,
    /// 16-bit patterns: zeros, subnormals, extremes, infinities and NaNs, mixed with random bits.
    Special16,
}

impl Data {
    fn name(self) -> &'static str {
        match self {
            Data::Unit => "unit",
            Data::Wide => "wide",
            Data::Tiny => "tiny",
            Data::Special => "special",
            Data::Extreme => "extreme",
            Data::NanHeavy => "nan-heavy",
            Data::Bits => "bits",
            Data::ExpRange => "exp-range",
            Data::ExpSpecial => "exp-special",
            Data::TiesF16 => "ties-f16",
            Data::TiesBf16 => "ties-bf16",
            Data::Special16 => "special16",
        }
    }
}

/// Special values safe for sums of up to 1000 products (no finite overflow in any summation order).
const SAFE_SPECIALS: [f32; 20] = [
    0.0,
    -0.0,
    1.0e-40,
    -1.0e-40,
    TINY,
    -TINY,
    1.175_494_2e-38, // largest subnormal
    MIN_NORMAL,
    -MIN_NORMAL,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
    -f32::NAN,
    1.0e15,
    -1.0e15,
    1.0e-30,
    -1.0e-30,
    1.0,
    -1.0,
    0.5,
];

/// Extreme values for the element-wise primitives and conversions.
const EXTREME_SPECIALS: [f32; 28] = [
    f32::MAX,
    f32::MIN,
    3.0e38,
    -3.0e38,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
    -f32::NAN,
    0.0,
    -0.0,
    1.0e-40,
    -TINY,
    MIN_NORMAL,
    65504.0,   // f16::MAX
    65519.996, // just below the f16 overflow tie
    65520.0,   // the f16 overflow tie: rounds to inf
    -65536.0,
    6.103_515_6e-5,  // f16 smallest normal
    5.960_464_5e-8,  // f16 smallest subnormal
    2.980_232_2e-8,  // half of it: a tie that rounds to zero
    2.980_232_5e-8,  // just above that tie
    -8.940_697e-8,   // 1.5 f16 subnormal units: tie to even (2 units)
    3.389_531_4e38,  // bf16 rounding of this overflows
    -3.389_531_4e38, // same, negative
    1.0e-30,
    1.0e30,
    1.0,
    -1.0,
];

/// Inputs near the thresholds of `exp`, and special values.
const EXP_SPECIALS: [f32; 40] = [
    f32::NAN,
    -f32::NAN,
    f32::INFINITY,
    f32::NEG_INFINITY,
    0.0,
    -0.0,
    1.0e-40,
    -1.0e-40,
    1.0e-30,
    -1.0e-30,
    88.72,
    88.722_8,
    88.722_84,
    88.723,
    88.73,
    88.8,
    88.9,
    100.0,
    1.0e10,
    f32::MAX,
    -87.33,
    -87.336_55,
    -87.34,
    -88.0,
    -100.0,
    -103.97,
    -103.98,
    -104.0,
    -104.5,
    -110.0,
    -150.0,
    -1.0e10,
    f32::MIN,
    core::f32::consts::LN_2 / 2.0,
    -core::f32::consts::LN_2 / 2.0,
    core::f32::consts::LN_2,
    1.0,
    -1.0,
    44.36,
    -44.36,
];

/// Binary16 / bfloat16 patterns: zeros, subnormals, normal limits, infinities, quiet and signalling NaNs.
const SPECIALS16: [u16; 16] = [
    0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x7BFF, 0xFBFF, 0x7C00, 0xFC00, 0x7C01, 0x7E00,
    0xFE01, 0x7F80, 0xFF80, 0x7FC1,
];

/// One f32 input of the family.
fn sample(rng: &mut Rng, data: Data) -> f32 {
    match data {
        Data::Unit => rng.unit(),
        Data::Wide => wide(rng, 40),
        Data::Tiny => {
            // Exponent 2^-149 ..= 2^-100 with a random significand: scaled from a normal value in two exact steps.
            let e = rng.below(50) as i32; // 0..=49
            let m = f32::from_bits(0x3F80_0000 | (rng.next() >> 9)); // [1, 2)
            let s = if rng.next() & 1 == 0 { 1.0 } else { -1.0 };
            // m·2^(e-149): multiply by 2^(e-100) (normal) then 2^-49 (rounds once, like an IEEE product).
            s * m * pow2(e - 100) * pow2(-49)
        }
        Data::Special => {
            if rng.one_in(12) {
                rng.pick(&SAFE_SPECIALS)
            } else {
                rng.unit()
            }
        }
        Data::Extreme => match rng.below(4) {
            0 => rng.pick(&EXTREME_SPECIALS),
            1 => wide(rng, 60),
            _ => rng.unit() * 4.0,
        },
        Data::NanHeavy => {
            if rng.one_in(8) {
                rng.unit()
            } else {
                nan(rng)
            }
        }
        Data::Bits => f32::from_bits(rng.next()),
        Data::ExpRange => rng.unit() * 102.5 - 7.5,
        Data::ExpSpecial => {
            if rng.one_in(3) {
                rng.pick(&EXP_SPECIALS)
            } else {
                rng.unit() * 3.0
            }
        }
        Data::TiesF16 => {
            // A finite binary16 value plus half its ulp (exact in f32), optionally nudged by one f32 ulp.
            let h = rng.below(0x7C00) as u16 | ((rng.next() as u16) & 0x8000);
            let v = f16::from_bits(h).to_f32_const();
            let exp = i32::from((h >> 10) & 0x1F);
            let half_ulp = pow2(if exp == 0 { -25 } else { exp - 26 });
            let tie = if v < 0.0 { v - half_ulp } else { v + half_ulp };
            nudge(rng, tie)
        }
        Data::TiesBf16 => {
            let bits = (rng.next() & 0xFFFF_0000) | 0x8000;
            nudge(rng, f32::from_bits(bits))
        }
        Data::Special16 => f16::from_bits(sample16(rng, data)).to_f32_const(),
    }
}

/// One 16-bit input pattern of the family (`Bits` or `Special16`).
fn sample16(rng: &mut Rng, data: Data) -> u16 {
    if data == Data::Special16 && !rng.one_in(3) {
        rng.pick16(&SPECIALS16)
    } else {
        rng.next() as u16
    }
}

/// `±(1 + f)·2^e`, `e` uniform in `-max_exp..=max_exp`.
fn wide(rng: &mut Rng, max_exp: i32) -> f32 {
    let e = rng.below((2 * max_exp + 1) as usize) as i32 - max_exp;
    let m = f32::from_bits(0x3F80_0000 | (rng.next() >> 9));
    let s = if rng.next() & 1 == 0 { 1.0 } else { -1.0 };
    s * m * pow2(e)
}

/// A NaN of random sign and payload, quiet or signalling.
fn nan(rng: &mut Rng) -> f32 {
    let payload = (rng.next() & 0x007F_FFFF).max(1);
    f32::from_bits(0x7F80_0000 | payload | (rng.next() & 0x8000_0000))
}

/// `v`, or its neighbour one f32 ulp up or down in magnitude.
fn nudge(rng: &mut Rng, v: f32) -> f32 {
    match rng.below(3) {
        0 => v,
        1 => f32::from_bits(v.to_bits().wrapping_add(1)),
        _ => f32::from_bits(v.to_bits().wrapping_sub(1)),
    }
}

/// `2^e` for `e` in `-126..=127`.
fn pow2(e: i32) -> f32 {
    f32::from_bits(((e.clamp(-126, 127) + 127) as u32) << 23)
}

fn fill(rng: &mut Rng, data: Data, out: &mut [f32]) {
    for v in out {
        *v = sample(rng, data);
    }
}

/// `v` with a subnormal replaced by a zero of the same sign (flush-to-zero of an operand).
fn ftz(v: f32) -> f32 {
    if v.is_subnormal() {
        f32::from_bits(v.to_bits() & 0x8000_0000)
    } else {
        v
    }
}

/// Bit equality of two f32 values.
fn same_bits(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits()
}

/// Distance in ulp between two non-NaN values, counting through zero (`±0` are one point) and with `±inf` one
/// step beyond `±f32::MAX`.
fn ulp_distance(a: f32, b: f32) -> u64 {
    fn key(v: f32) -> i64 {
        let bits = v.to_bits();
        let mag = i64::from(bits & 0x7FFF_FFFF);
        if bits & 0x8000_0000 != 0 { -mag } else { mag }
    }
    (key(a) - key(b)).unsigned_abs()
}

/// Non-finite results must agree in class; `None` when `want` is finite.
fn class_matches(got: f32, want: f32) -> Option<bool> {
    if want.is_nan() {
        Some(got.is_nan())
    } else if want.is_infinite() {
        Some(got == want)
    } else {
        None
    }
}

/// Checks that `got` and `want` agree bit for bit outside `lo..hi` (up to `end`); these are the elements the
/// primitive must not write. `bits` gives an element's bit pattern, `widen` its value for the report.
fn check_untouched<T: Copy>(
    case: &mut Case,
    (got, want): (&[T], &[T]),
    (lo, hi, end): (usize, usize, usize),
    bits: impl Fn(T) -> u32,
    widen: impl Fn(T) -> f32,
) {
    for (i, (&g, &w)) in got.iter().zip(want).enumerate().take(end) {
        if (i < lo || i >= hi) && bits(g) != bits(w) {
            case.fail(
                Check::Untouched,
                i.wrapping_sub(lo),
                widen(g),
                widen(w),
                0.0,
            );
            return;
        }
    }
}

/// [`check_untouched`] for f32 buffers.
fn check_untouched32(case: &mut Case, got: &[f32], want: &[f32], lo: usize, hi: usize, end: usize) {
    check_untouched(case, (got, want), (lo, hi, end), f32::to_bits, |v| v);
}

// ---------------------------------------------------------------------------------------------------------------
// Reductions: dot, dot_rows, sum

const ARITH_DATA: [Data; 4] = [Data::Unit, Data::Wide, Data::Special, Data::Tiny];

/// The IEEE check of a sum-like result against the scalar oracle: `(passed, tolerance)`.
fn reduction_close(got: f32, want: f32, n: usize, abs_sum: f32) -> (bool, f32) {
    if let Some(ok) = class_matches(got, want) {
        return (ok, if want.is_nan() { f32::NAN } else { 0.0 });
    }
    let tol = (n as f32 + 8.0) * EPS * abs_sum + (n as f32 + 1.0) * TINY;
    (!got.is_nan() && (got - want).abs() <= tol, tol)
}

/// The flush-to-zero model of a sum of terms, evaluated in f64 (products of two f32 are exact there):
/// whether `got` is within `(n + 8)·ε·Σ|t| + (2n + 8)·2⁻¹²⁶` of it.
fn reduction_close_ftz(got: f32, n: usize, terms: impl Iterator<Item = (f32, f32)>) -> bool {
    let (mut sum, mut abs_sum) = (0.0f64, 0.0f64);
    for (a, b) in terms {
        let t = f64::from(ftz(a)) * f64::from(ftz(b));
        sum += t;
        abs_sum += t.abs();
    }
    let got = f64::from(got);
    if sum.is_nan() {
        return got.is_nan();
    }
    if sum.is_infinite() {
        return got == sum;
    }
    let tol = (n as f64 + 8.0) * f64::from(EPS) * abs_sum
        + (2.0 * n as f64 + 8.0) * f64::from(MIN_NORMAL);
    !got.is_nan() && (got - sum).abs() <= tol
}

/// `gemm` on every combination of these rows, columns and depths that fits the buffers, with and without
/// accumulation, contiguous and padded strides (`A`, `B` and `C` padded differently), and with operands one
/// element too short (which must be refused without writing). Each element of `C` is a reduction of `k + 1`
/// terms and gets the reduction tolerance; elements between and after the rows of `C` must stay untouched.
#[inline(never)]
fn test_gemm(ctx: &mut Ctx<'_>) {
    const MS: [usize; 9] = [0, 1, 2, 3, 5, 6, 7, 13, 25];
    const NS: [usize; 19] = [
        0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 130,
    ];
    const KS: [usize; 6] = [0, 1, 2, 7, 16, 33];
    const DATA: [Data; 3] = [Data::Unit, Data::Wide, Data::Special];
    let mut a = [POISON; CAP];
    let mut b = [POISON; CAP];
    let mut got = [0.0f32; CAP];
    let sentinel = f32::from_bits(SENTINEL);
    for (di, &data) in DATA.iter().enumerate() {
        for &m in &MS {
            for &n in &NS {
                for &k in &KS {
                    for variant in 0..4usize {
                        let pad = variant & 1;
                        let accumulate = variant & 2 != 0;
                        let shape = GemmShape {
                            m,
                            n,
                            k,
                            lda: k + pad,
                            ldb: n + 2 * pad,
                            ldc: n + 3 * pad,
                        };
                        let a_len = if m == 0 { 0 } else { (m - 1) * shape.lda + k };
                        let b_len = if k == 0 { 0 } else { (k - 1) * shape.ldb + n };
                        let c_len = if m == 0 { 0 } else { (m - 1) * shape.ldc + n };
                        if a_len.max(b_len).max(c_len) + GUARD + 1 > CAP {
                            continue;
                        }
                        // Offsets 1 for A and C make the starts unaligned.
                        let (oa, oc) = (1usize, 1usize);
                        let mut rng = Rng::for_case([
                            Primitive::Gemm.index(),
                            di * 4 + variant,
                            m * 256 + n,
                            k,
                        ]);
                        reset(&mut a, oa + a_len + GUARD, POISON);
                        reset(&mut b, b_len + GUARD, POISON);
                        fill(&mut rng, data, sub_mut(&mut a, oa, a_len));
                        fill(&mut rng, data, sub_mut(&mut b, 0, b_len));
                        reset(&mut got, oc + c_len + GUARD, sentinel);
                        fill(&mut rng, data, sub_mut(&mut got, oc, c_len));
                        // Restore the sentinels between rows: only columns < n are C's elements.
                        for i in 0..m {
                            for j in n..shape.ldc {
                                if let Some(x) = got.get_mut(oc + i * shape.ldc + j) {
                                    *x = sentinel;
                                }
                            }
                        }
                        let mut want = got;
                        let before = got;
                        let (xa, xb) = (sub(&a, oa, a_len), sub(&b, 0, b_len));
                        let mut case = Case::new(Primitive::Gemm.index(), data, m * 1000 + n, k);
                        let ok_got =
                            ctx.simd
                                .gemm(shape, xa, xb, sub_mut(&mut got, oc, c_len), accumulate);
                        let ok_want = Simd::scalar().gemm(
                            shape,
                            xa,
                            xb,
                            sub_mut(&mut want, oc, c_len),
                            accumulate,
                        );
                        if ok_got != ok_want || !ok_got {
                            case.fail(
                                Check::Count,
                                u32::MAX as usize,
                                ok_got as u32 as f32,
                                1.0,
                                0.0,
                            );
                        }
                        for i in 0..m {
                            for j in 0..n {
                                let at = oc + i * shape.ldc + j;
                                let (g, w) = (got.get(at).copied(), want.get(at).copied());
                                let (Some(g), Some(w)) = (g, w) else { continue };
                                let c0 = if accumulate {
                                    before.get(at).copied().unwrap_or(0.0)
                                } else {
                                    0.0
                                };
                                let terms = (0..k).map(|p| {
                                    let x = xa.get(i * shape.lda + p).copied().unwrap_or(0.0);
                                    let y = xb.get(p * shape.ldb + j).copied().unwrap_or(0.0);
                                    (x, y)
                                });
                                let abs_sum: f32 = c0.abs()
                                    + terms.clone().map(|(x, y)| (x * y).abs()).sum::<f32>();
                                let (ok, tol) = reduction_close(g, w, k + 1, abs_sum);
                                let all = core::iter::once((c0, 1.0)).chain(terms);
                                if !(ok || (ctx.flushes && reduction_close_ftz(g, k + 1, all))) {
                                    case.fail(Check::Value, at - oc, g, w, tol);
                                }
                            }
                        }
                        let is_cell = |at: usize| {
                            at >= oc && at < oc + c_len && (at - oc) % shape.ldc.max(1) < n
                        };
                        check_outside(&mut case, &got, &before, oc + c_len + GUARD, is_cell);
                        // Too-short operands: refused, nothing written.
                        if m > 0 && n > 0 {
                            let snapshot = got;
                            let short_c = sub_mut(&mut got, oc, c_len - 1);
                            if ctx.simd.gemm(shape, xa, xb, short_c, true) {
                                case.fail(Check::Count, u32::MAX as usize, 1.0, 0.0, 0.0);
                            }
                            let short_a = sub(&a, oa, a_len.saturating_sub(1));
                            let c_full = sub_mut(&mut got, oc, c_len);
                            if k > 0 && ctx.simd.gemm(shape, short_a, xb, c_full, true) {
                                case.fail(Check::Count, u32::MAX as usize, 1.0, 0.0, 0.0);
                            }
                            check_outside(&mut case, &got, &snapshot, oc + c_len + GUARD, |_| {
                                false
                            });
                        }
                        ctx.finish(case);
                    }
                }
            }
        }
    }
}

/// `transpose` of every shape up to 19 × 19 and of 3 × 300, 300 × 3 and 33 × 31, with contiguous, padded and
/// repeated (`lds = 0`) source rows and padded destination rows, on raw bit patterns (it must move every value,
/// NaN payloads included, bit for bit); too-short operands must be refused without writing.
#[inline(never)]
fn test_transpose(ctx: &mut Ctx<'_>) {
    let mut src = [POISON; CAP];
    let mut got = [0.0f32; CAP];
    let sentinel = f32::from_bits(SENTINEL);
    let shapes = (0..20usize)
        .flat_map(|r| (0..20usize).map(move |c| (r, c)))
        .chain([(3, 300), (300, 3), (33, 31)]);
    for (rows, cols) in shapes {
        for variant in 0..3usize {
            let lds = match variant {
                0 => cols,
                1 => cols + 3,
                _ => 0,
            };
            let ldd = rows + (variant & 1) * 2;
            let s_len = if rows == 0 {
                0
            } else {
                (rows - 1) * lds + cols
            };
            let d_len = if cols == 0 {
                0
            } else {
                (cols - 1) * ldd + rows
            };
            if s_len.max(d_len) + GUARD + 1 > CAP {
                continue;
            }
            let mut rng = Rng::for_case([Primitive::Transpose.index(), variant, rows, cols]);
            reset(&mut src, s_len + GUARD, POISON);
            fill(&mut rng, Data::Bits, sub_mut(&mut src, 0, s_len));
            reset(&mut got, 1 + d_len + GUARD, sentinel);
            let before = got;
            let mut case = Case::new(
                Primitive::Transpose.index(),
                Data::Bits,
                rows * 1000 + cols,
                0,
            );
            let xs = sub(&src, 0, s_len);
            if !ctx
                .simd
                .transpose(rows, cols, xs, lds, sub_mut(&mut got, 1, d_len), ldd)
            {
                case.fail(Check::Count, u32::MAX as usize, 0.0, 1.0, 0.0);
            }
            for j in 0..cols {
                for i in 0..rows {
                    let want = xs.get(i * lds + j).copied().unwrap_or(0.0);
                    let at = 1 + j * ldd + i;
                    let g = got.get(at).copied().unwrap_or(0.0);
                    if g.to_bits() != want.to_bits() {
                        case.fail(Check::Value, at - 1, g, want, 0.0);
                    }
                }
            }
            let is_cell = |at: usize| at >= 1 && at < 1 + d_len && (at - 1) % ldd.max(1) < rows;
            check_outside(&mut case, &got, &before, 1 + d_len + GUARD, is_cell);
            if rows > 0 && cols > 0 {
                let snapshot = got;
                if ctx
                    .simd
                    .transpose(rows, cols, xs, lds, sub_mut(&mut got, 1, d_len - 1), ldd)
                {
                    case.fail(Check::Count, u32::MAX as usize, 1.0, 0.0, 0.0);
                }
                check_outside(&mut case, &got, &snapshot, 1 + d_len + GUARD, |_| false);
            }
            ctx.finish(case);
        }
    }
}

/// Fails the case if an element below `end` that is not a result cell (`is_cell`) differs from `before`.
fn check_outside(
    case: &mut Case,
    got: &[f32],
    before: &[f32],
    end: usize,
    is_cell: impl Fn(usize) -> bool,
) {
    for (at, (&g, &b)) in got.iter().zip(before).enumerate().take(end) {
        if !is_cell(at) && g.to_bits() != b.to_bits() {
            case.fail(Check::Untouched, at, g, b, 0.0);
            return;
        }
    }
}

/// Σ|a[i]·b[i]| on the scalar path.
fn abs_dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x * y).abs()).sum()
}

#[inline(never)]
fn test_dot(ctx: &mut Ctx<'_>) {
    let mut a = [POISON; CAP];
    let mut b = [POISON; CAP];
    for (di, &data) in ARITH_DATA.iter().enumerate() {
        for len in lengths() {
            for (oi, &(oa, ob)) in OFFSETS.iter().enumerate() {
                let mut rng = Rng::for_case([Primitive::Dot.index(), di, len, oi]);
                // Unequal lengths in half of the cases: the common prefix counts.
                let (la, lb) = match oi {
                    1 => (len, len + len % 3),
                    2 => (len + len % 2, len),
                    _ => (len, len),
                };
                reset(&mut a, oa + la + GUARD, POISON);
                reset(&mut b, ob + lb + GUARD, POISON);
                fill(&mut rng, data, sub_mut(&mut a, oa, la));
                fill(&mut rng, data, sub_mut(&mut b, ob, lb));
                let (xa, xb) = (sub(&a, oa, la), sub(&b, ob, lb));
                let got = ctx.simd.dot(xa, xb);
                let want = Simd::scalar().dot(xa, xb);
                let n = la.min(lb);
                let mut case = Case::new(Primitive::Dot.index(), data, len, oa);
                let (ok, tol) = reduction_close(got, want, n, abs_dot(xa, xb));
                if !(ok
                    || (ctx.flushes
                        && reduction_close_ftz(got, n, xa.iter().copied().zip(xb.iter().copied()))))
                {
                    case.fail(Check::Value, u32::MAX as usize, got, want, tol);
                }
                ctx.finish(case);
            }
        }
    }
}

#[inline(never)]
fn test_dot_rows(ctx: &mut Ctx<'_>) {
    const ROW_COUNTS: [usize; 9] = [0, 1, 2, 3, 4, 5, 6, 7, 9];
    let mut rows = [POISON; CAP];
    let mut x = [POISON; CAP];
    let mut got = [0.0f32; 16];
    let mut want = [0.0f32; 16];
    for (di, &data) in ARITH_DATA.iter().enumerate() {
        for dim in lengths() {
            // Contiguous, padded, more padded, repeated and overlapping rows.
            let strides = [dim, dim + 1, dim + 3, 0, dim / 2 + 1];
            for (si, &stride) in strides.iter().enumerate() {
                for &r in &ROW_COUNTS {
                    for (oi, &(ox, orows)) in [(0usize, 0usize), (1, 3)].iter().enumerate() {
                        // With oi == 1 the rows slice is one element short, so only r - 1 rows fit.
                        let short = oi;
                        let rows_len = if r == 0 {
                            dim + 2
                        } else {
                            ((r - 1) * stride + dim).saturating_sub(short)
                        };
                        if orows + rows_len + GUARD > CAP {
                            continue;
                        }
                        let mut rng = Rng::for_case([
                            Primitive::DotRows.index(),
                            di * 8 + si,
                            dim,
                            r * 2 + oi,
                        ]);
                        reset(&mut rows, orows + rows_len + GUARD, POISON);
                        reset(&mut x, ox + dim + GUARD, POISON);
                        fill(&mut rng, data, sub_mut(&mut rows, orows, rows_len));
                        fill(&mut rng, data, sub_mut(&mut x, ox, dim));
                        let sentinel = f32::from_bits(SENTINEL);
                        reset(&mut got, 16, sentinel);
                        reset(&mut want, 16, sentinel);
                        let (xs, rs) = (sub(&x, ox, dim), sub(&rows, orows, rows_len));
                        let out_off = oi;
                        let n_got =
                            ctx.simd
                                .dot_rows(xs, rs, stride, sub_mut(&mut got, out_off, r));
                        let n_want =
                            Simd::scalar().dot_rows(xs, rs, stride, sub_mut(&mut want, out_off, r));
                        let mut case = Case::new(Primitive::DotRows.index(), data, dim, ox);
                        if n_got != n_want {
                            case.fail(
                                Check::Count,
                                u32::MAX as usize,
                                n_got as f32,
                                n_want as f32,
                                0.0,
                            );
                        }
                        let outs = sub(&got, out_off, n_want)
                            .iter()
                            .zip(sub(&want, out_off, n_want));
                        for (row, (&g, &w)) in outs.enumerate() {
                            let row_slice = sub(rs, row * stride, dim);
                            let (ok, tol) = reduction_close(g, w, dim, abs_dot(xs, row_slice));
                            let terms = xs.iter().copied().zip(row_slice.iter().copied());
                            if !(ok || (ctx.flushes && reduction_close_ftz(g, dim, terms))) {
                                case.fail(Check::Value, row, g, w, tol);
                                break;
                            }
                        }
                        check_untouched32(&mut case, &got, &want, out_off, out_off + n_want, 16);
                        ctx.finish(case);
                    }
                }
            }
        }
    }
}

#[inline(never)]
fn test_sum(ctx: &mut Ctx<'_>) {
    let mut a = [POISON; CAP];
    for (di, &data) in ARITH_DATA.iter().enumerate() {
        for len in lengths() {
            for (oi, &(oa, _)) in OFFSETS.iter().enumerate() {
                let mut rng = Rng::for_case([Primitive::Sum.index(), di, len, oi]);
                reset(&mut a, oa + len + GUARD, POISON);
                fill(&mut rng, data, sub_mut(&mut a, oa, len));
                let xs = sub(&a, oa, len);
                let got = ctx.simd.sum(xs);
                let want = Simd::scalar().sum(xs);
                let abs_sum: f32 = xs.iter().map(|v| v.abs()).sum();
                let mut case = Case::new(Primitive::Sum.index(), data, len, oa);
                let (ok, tol) = reduction_close(got, want, len, abs_sum);
                if !(ok
                    || (ctx.flushes && reduction_close_ftz(got, len, xs.iter().map(|&v| (v, 1.0)))))
                {
                    case.fail(Check::Value, u32::MAX as usize, got, want, tol);
                }
                ctx.finish(case);
            }
        }
    }
}

#[inline(never)]
fn test_max(ctx: &mut Ctx<'_>) {
    const DATA: [Data; 6] = [
        Data::Unit,
        Data::Wide,
        Data::Tiny,
        Data::Extreme,
        Data::NanHeavy,
        Data::Bits,
    ];
    let mut a = [f32::INFINITY; CAP];
    for (di, &data) in DATA.iter().enumerate() {
        for len in lengths() {
            for (oi, &(oa, _)) in OFFSETS.iter().enumerate() {
                let mut rng = Rng::for_case([Primitive::Max.index(), di, len, oi]);
                // Poison is +inf here: NaN would be ignored by max.
                reset(&mut a, oa + len + GUARD, f32::INFINITY);
                let xs = sub_mut(&mut a, oa, len);
                if data == Data::NanHeavy && oi % 2 == 0 {
                    for v in xs.iter_mut() {
                        *v = nan(&mut rng);
                    }
                } else {
                    fill(&mut rng, data, xs);
                }
                let xs = sub(&a, oa, len);
                let got = ctx.simd.max(xs);
                let want = max_reference(xs);
                let mut case = Case::new(Primitive::Max.index(), data, len, oa);
                let ok = if want == 0.0 {
                    got == 0.0
                } else {
                    same_bits(got, want)
                };
                if !ok {
                    case.fail(Check::Value, u32::MAX as usize, got, want, 0.0);
                }
                ctx.finish(case);
            }
        }
    }
}

/// The contract of `max`, evaluated with comparisons (false for NaN, quiet or signalling): the largest non-NaN
/// element, or `-inf`.
fn max_reference(x: &[f32]) -> f32 {
    let mut m = f32::NEG_INFINITY;
    for &v in x {
        if v > m {
            m = v;
        }
    }
    m
}

// ---------------------------------------------------------------------------------------------------------------
// Element-wise arithmetic: axpy, scale, rotations

/// Per element: `want = t1 + t2` evaluated by the oracle; `got` within `4u·(|t1| + |t2|) + 2·2⁻¹⁴⁹`, or of the
/// same class when `want` is not finite. Returns `(passed, tolerance)`.
fn fma_close(got: f32, want: f32, t1: f32, t2: f32) -> (bool, f32) {
    if let Some(ok) = class_matches(got, want) {
        return (ok, if want.is_nan() { f32::NAN } else { 0.0 });
    }
    let tol = 4.0 * U * (t1.abs() + t2.abs()) + 2.0 * TINY;
    (!got.is_nan() && (got - want).abs() <= tol, tol)
}

/// The flush-to-zero model: `t1 + t2` recomputed from flushed operands, with `3·2⁻¹²⁶` of extra slack for the
/// flushed product, sum and result.
fn fma_close_ftz(got: f32, t1: f32, t2: f32) -> bool {
    let want = t1 + t2;
    if let Some(ok) = class_matches(got, want) {
        return ok;
    }
    let tol = 4.0 * U * (t1.abs() + t2.abs()) + 3.0 * MIN_NORMAL;
    !got.is_nan() && (got - want).abs() <= tol
}

/// Scalars for `axpy` and `scale`, one per offset variant and family (plus a random one).
const FACTORS: [f32; 14] = [
    0.75,
    -1.5,
    3.0e-3,
    2.0,
    -0.5,
    0.0,
    -0.0,
    1.0e-20,
    1.0e20,
    f32::INFINITY,
    f32::NAN,
    1.0e-40,
    -3.3,
    f32::NEG_INFINITY,
];

fn factor(rng: &mut Rng, case_index: usize) -> f32 {
    // Most cases use a finite factor; every 7th picks from the full list (special values included).
    if case_index % 7 == 6 {
        FACTORS
            .get(rng.below(FACTORS.len()))
            .copied()
            .unwrap_or(1.0)
    } else {
        match case_index % 3 {
            0 => rng.unit(),
            1 => FACTORS.get(case_index % 5).copied().unwrap_or(1.0),
            _ => wide(rng, 20),
        }
    }
}

#[inline(never)]
fn test_axpy(ctx: &mut Ctx<'_>) {
    let mut x = [POISON; CAP];
    let mut input = [0.0f32; CAP];
    let mut got: [f32; CAP];
    let mut want: [f32; CAP];
    let sentinel = f32::from_bits(SENTINEL);
    let mut index = 0usize;
    for (di, &data) in ARITH_DATA.iter().enumerate() {
        for len in lengths() {
            for (oi, &(ox, oy)) in OFFSETS.iter().enumerate() {
                index += 1;
                let mut rng = Rng::for_case([Primitive::Axpy.index(), di, len, oi]);
                let (lx, ly) = match oi {
                    1 => (len, len + len % 3),
                    2 => (len + len % 2, len),
                    _ => (len, len),
                };
                let a = factor(&mut rng, index);
                let end = oy + ly + GUARD;
                reset(&mut x, ox + lx + GUARD, POISON);
                reset(&mut input, end, sentinel);
                fill(&mut rng, data, sub_mut(&mut x, ox, lx));
                fill(&mut rng, data, sub_mut(&mut input, oy, ly));
                got = input;
                want = input;
                let xs = sub(&x, ox, lx);
                ctx.simd.axpy(a, xs, sub_mut(&mut got, oy, ly));
                Simd::scalar().axpy(a, xs, sub_mut(&mut want, oy, ly));
                let n = lx.min(ly);
                let mut case = Case::new(Primitive::Axpy.index(), data, len, ox);
                let outs = sub(&got, oy, n).iter().zip(sub(&want, oy, n));
                for (i, ((&g, &w), (&xi, &y))) in
                    outs.zip(xs.iter().zip(sub(&input, oy, n))).enumerate()
                {
                    let (ok, tol) = fma_close(g, w, y, a * xi);
                    if !(ok || (ctx.flushes && fma_close_ftz(g, ftz(y), ftz(a) * ftz(xi)))) {
                        case.fail(Check::Value, i, g, w, tol);
                        break;
                    }
                }
                check_untouched32(&mut case, &got, &want, oy, oy + n, end);
                ctx.finish(case);
            }
        }
    }
}

#[inline(never)]
fn test_scale(ctx: &mut Ctx<'_>) {
    const DATA: [Data; 5] = [
        Data::Unit,
        Data::Wide,
        Data::Tiny,
        Data::Extreme,
        Data::Bits,
    ];
    let mut input = [0.0f32; CAP];
    let mut got: [f32; CAP];
    let mut want: [f32; CAP];
    let sentinel = f32::from_bits(SENTINEL);
    let mut index = 0usize;
    for (di, &data) in DATA.iter().enumerate() {
        for len in lengths() {
            for (oi, &(oy, _)) in OFFSETS.iter().enumerate() {
                index += 1;
                let mut rng = Rng::for_case([Primitive::Scale.index(), di, len, oi]);
                let a = factor(&mut rng, index);
                let end = oy + len + GUARD;
                reset(&mut input, end, sentinel);
                fill(&mut rng, data, sub_mut(&mut input, oy, len));
                got = input;
                want = input;
                ctx.simd.scale(a, sub_mut(&mut got, oy, len));
                Simd::scalar().scale(a, sub_mut(&mut want, oy, len));
                let mut case = Case::new(Primitive::Scale.index(), data, len, oy);
                let outs = sub(&got, oy, len)
                    .iter()
                    .zip(sub(&want, oy, len))
                    .zip(sub(&input, oy, len));
                for (i, ((&g, &w), &y)) in outs.enumerate() {
                    let ok = same_bits(g, w) || (w.is_nan() && g.is_nan());
                    if !(ok || (ctx.flushes && scale_ftz_ok(g, y, a))) {
                        case.fail(Check::Value, i, g, w, 0.0);
                        break;
                    }
                }
                check_untouched32(&mut case, &got, &want, oy, oy + len, end);
                ctx.finish(case);
            }
        }
    }
}

/// The flush-to-zero model of `y·a`: operands flushed, and a result that is tiny before rounding becomes a zero
/// of the product's sign (a product that rounds up to the smallest normal may be either).
fn scale_ftz_ok(got: f32, y: f32, a: f32) -> bool {
    let p = ftz(y) * ftz(a);
    if p.is_nan() {
        return got.is_nan();
    }
    if same_bits(got, p) {
        return true;
    }
    p != 0.0
        && p.abs() <= MIN_NORMAL
        && got == 0.0
        && got.is_sign_negative() == p.is_sign_negative()
}

#[inline(never)]
fn test_rotate(ctx: &mut Ctx<'_>, half_split: bool) {
    let prim = if half_split {
        Primitive::RotateHalfSplit.index()
    } else {
        Primitive::RotateInterleaved.index()
    };
    let mut cos = [POISON; CAP];
    let mut sin = [POISON; CAP];
    let mut input = [0.0f32; CAP];
    let mut got: [f32; CAP];
    let mut want: [f32; CAP];
    let sentinel = f32::from_bits(SENTINEL);
    for (di, &data) in ARITH_DATA.iter().enumerate() {
        for len in lengths() {
            for (oi, &(ox, oc)) in OFFSETS.iter().enumerate() {
                let mut rng = Rng::for_case([prim, di, len, oi]);
                let pairs = len / 2;
                // Variants: exact table lengths, longer tables, a shorter cos table.
                let (lc, ls) = match oi {
                    1 => (pairs + 3, pairs + 1),
                    2 => (pairs.saturating_sub(1), pairs),
                    _ => (pairs, pairs),
                };
                let os = (ox + oc) % 4;
                let end = ox + len + GUARD;
                reset(&mut cos, oc + lc + GUARD, POISON);
                reset(&mut sin, os + ls + GUARD, POISON);
                reset(&mut input, end, sentinel);
                fill(&mut rng, data, sub_mut(&mut input, ox, len));
                fill(&mut rng, data, sub_mut(&mut cos, oc, lc));
                fill(&mut rng, data, sub_mut(&mut sin, os, ls));
                got = input;
                want = input;
                let (cs, ss) = (sub(&cos, oc, lc), sub(&sin, os, ls));
                let n = pairs.min(lc).min(ls);
                if half_split {
                    ctx.simd
                        .rotate_half_split(sub_mut(&mut got, ox, len), cs, ss);
                    Simd::scalar().rotate_half_split(sub_mut(&mut want, ox, len), cs, ss);
                } else {
                    ctx.simd
                        .rotate_interleaved(sub_mut(&mut got, ox, len), cs, ss);
                    Simd::scalar().rotate_interleaved(sub_mut(&mut want, ox, len), cs, ss);
                }
                let mut case = Case::new(prim, data, len, ox);
                // Element `j` of the slice in a whole buffer (NaN if out of range: never here).
                let at =
                    |buf: &[f32], j: usize| sub(buf, ox, len).get(j).copied().unwrap_or(f32::NAN);
                for (i, (&c, &s)) in cs.iter().zip(ss).take(n).enumerate() {
                    // Pair i holds elements (i0, i1) of the slice.
                    let (i0, i1) = if half_split {
                        (i, pairs + i)
                    } else {
                        (2 * i, 2 * i + 1)
                    };
                    let (a, b) = (at(&input, i0), at(&input, i1));
                    let checks = [
                        (i0, a * c, -(b * s), ftz(a) * ftz(c), -(ftz(b) * ftz(s))),
                        (i1, a * s, b * c, ftz(a) * ftz(s), ftz(b) * ftz(c)),
                    ];
                    for (j, t1, t2, f1, f2) in checks {
                        let (g, w) = (at(&got, j), at(&want, j));
                        let (ok, tol) = fma_close(g, w, t1, t2);
                        if !(ok || (ctx.flushes && fma_close_ftz(g, f1, f2))) {
                            case.fail(Check::Value, j, g, w, tol);
                        }
                    }
                    if case.fail.is_some() {
                        break;
                    }
                }
                // Untouched: everything but the rotated pairs (half-split pairs are not contiguous).
                for (j, (&g, &w)) in got.iter().zip(&want).enumerate().take(end) {
                    let rel = j.wrapping_sub(ox);
                    let rotated = j >= ox
                        && if half_split {
                            rel < n || (rel >= pairs && rel < pairs + n)
                        } else {
                            rel < 2 * n
                        };
                    if !rotated && !same_bits(g, w) {
                        case.fail(Check::Untouched, rel, g, w, 0.0);
                        break;
                    }
                }
                ctx.finish(case);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// exp

/// `exp` agreement: NaN ↔ NaN; exact `+inf` above 88.75 and `+0` below -104; otherwise ≤ 3 ulp.
fn exp_ok(got: f32, want: f32, x: f32) -> bool {
    if want.is_nan() || got.is_nan() {
        return want.is_nan() && got.is_nan();
    }
    if !(-104.0..=88.75).contains(&x) {
        return same_bits(got, want);
    }
    ulp_distance(got, want) <= 3
}

#[inline(never)]
fn test_exp(ctx: &mut Ctx<'_>, in_place: bool) {
    const DATA: [Data; 4] = [Data::Unit, Data::ExpRange, Data::ExpSpecial, Data::Bits];
    let prim = if in_place {
        Primitive::ExpInPlace.index()
    } else {
        Primitive::Exp.index()
    };
    let mut x = [POISON; CAP];
    let mut got = [0.0f32; CAP];
    let mut want: [f32; CAP];
    let sentinel = f32::from_bits(SENTINEL);
    for (di, &data) in DATA.iter().enumerate() {
        for len in lengths() {
            for (oi, &(ox, oo)) in OFFSETS.iter().enumerate() {
                let mut rng = Rng::for_case([prim, di, len, oi]);
                let (lx, lo) = match oi {
                    1 if !in_place => (len, len + len % 3),
                    2 if !in_place => (len + len % 2, len),
                    _ => (len, len),
                };
                // In place, the data lives in `got` at the same offset as `x`.
                let oo = if in_place { ox } else { oo };
                let end = oo + lo + GUARD;
                reset(&mut x, ox + lx + GUARD, POISON);
                fill(&mut rng, data, sub_mut(&mut x, ox, lx));
                reset(&mut got, end, sentinel);
                if in_place {
                    for (g, &v) in sub_mut(&mut got, oo, lo).iter_mut().zip(sub(&x, ox, lx)) {
                        *g = v;
                    }
                }
                want = got;
                let xs = sub(&x, ox, lx);
                if in_place {
                    ctx.simd.exp_in_place(sub_mut(&mut got, oo, lo));
                    Simd::scalar().exp_in_place(sub_mut(&mut want, oo, lo));
                } else {
                    ctx.simd.exp(xs, sub_mut(&mut got, oo, lo));
                    Simd::scalar().exp(xs, sub_mut(&mut want, oo, lo));
                }
                let n = lx.min(lo);
                let mut case = Case::new(prim, data, len, ox);
                let outs = sub(&got, oo, n).iter().zip(sub(&want, oo, n)).zip(xs);
                for (i, ((&g, &w), &v)) in outs.enumerate() {
                    if !exp_ok(g, w, v) {
                        case.fail(Check::Value, i, g, w, 3.0);
                        break;
                    }
                }
                check_untouched32(&mut case, &got, &want, oo, oo + n, end);
                ctx.finish(case);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Conversions

const NARROW_F16_DATA: [Data; 5] = [
    Data::Unit,
    Data::Wide,
    Data::Extreme,
    Data::TiesF16,
    Data::Bits,
];
const NARROW_BF16_DATA: [Data; 5] = [
    Data::Unit,
    Data::Wide,
    Data::Extreme,
    Data::TiesBf16,
    Data::Bits,
];
const WIDEN_DATA: [Data; 2] = [Data::Bits, Data::Special16];

/// Shape of a conversion case: `(src offset, src length, dst offset, dst length)`.
fn convert_shape(len: usize, oi: usize, (os, od): (usize, usize)) -> (usize, usize, usize, usize) {
    match oi {
        1 => (os, len, od, len + len % 3),
        2 => (os, len + len % 2, od, len),
        _ => (os, len, od, len),
    }
}

fn f16_is_nan(bits: u16) -> bool {
    bits & 0x7C00 == 0x7C00 && bits & 0x03FF != 0
}

fn bf16_is_nan(bits: u16) -> bool {
    bits & 0x7F80 == 0x7F80 && bits & 0x007F != 0
}

#[inline(never)]
fn test_f16_to_f32(ctx: &mut Ctx<'_>) {
    let mut src = [f16::from_bits(0x7E00); CAP];
    let mut got = [0.0f32; CAP];
    let mut want: [f32; CAP];
    let sentinel = f32::from_bits(SENTINEL);
    for (di, &data) in WIDEN_DATA.iter().enumerate() {
        for len in lengths() {
            for (oi, &offsets) in OFFSETS.iter().enumerate() {
                let mut rng = Rng::for_case([Primitive::F16ToF32.index(), di, len, oi]);
                let (os, ls, od, ld) = convert_shape(len, oi, offsets);
                for v in sub_mut(&mut src, os, ls) {
                    *v = f16::from_bits(sample16(&mut rng, data));
                }
                let end = od + ld + GUARD;
                reset(&mut got, end, sentinel);
                want = got;
                let ss = sub(&src, os, ls);
                ctx.simd.f16_to_f32(ss, sub_mut(&mut got, od, ld));
                Simd::scalar().f16_to_f32(ss, sub_mut(&mut want, od, ld));
                let n = ls.min(ld);
                let mut case = Case::new(Primitive::F16ToF32.index(), data, len, os);
                for (i, (&g, &w)) in sub(&got, od, n).iter().zip(sub(&want, od, n)).enumerate() {
                    if !(same_bits(g, w) || (w.is_nan() && g.is_nan())) {
                        case.fail(Check::Value, i, g, w, 0.0);
                        break;
                    }
                }
                check_untouched32(&mut case, &got, &want, od, od + n, end);
                ctx.finish(case);
            }
        }
    }
}

#[inline(never)]
fn test_bf16_to_f32(ctx: &mut Ctx<'_>) {
    let mut src = [bf16::from_bits(0x7FC0); CAP];
    let mut got = [0.0f32; CAP];
    let mut want: [f32; CAP];
    let sentinel = f32::from_bits(SENTINEL);
    for (di, &data) in WIDEN_DATA.iter().enumerate() {
        for len in lengths() {
            for (oi, &offsets) in OFFSETS.iter().enumerate() {
                let mut rng = Rng::for_case([Primitive::Bf16ToF32.index(), di, len, oi]);
                let (os, ls, od, ld) = convert_shape(len, oi, offsets);
                for v in sub_mut(&mut src, os, ls) {
                    *v = bf16::from_bits(sample16(&mut rng, data));
                }
                let end = od + ld + GUARD;
                reset(&mut got, end, sentinel);
                want = got;
                let ss = sub(&src, os, ls);
                ctx.simd.bf16_to_f32(ss, sub_mut(&mut got, od, ld));
                Simd::scalar().bf16_to_f32(ss, sub_mut(&mut want, od, ld));
                let n = ls.min(ld);
                let mut case = Case::new(Primitive::Bf16ToF32.index(), data, len, os);
                // Widening bfloat16 is a shift of the bits: exact, NaN payloads included.
                for (i, (&g, &w)) in sub(&got, od, n).iter().zip(sub(&want, od, n)).enumerate() {
                    if !same_bits(g, w) {
                        case.fail(Check::Value, i, g, w, 0.0);
                        break;
                    }
                }
                check_untouched32(&mut case, &got, &want, od, od + n, end);
                ctx.finish(case);
            }
        }
    }
}

#[inline(never)]
fn test_f32_to_f16(ctx: &mut Ctx<'_>) {
    let mut src = [POISON; CAP];
    let mut got = [f16::from_bits(SENTINEL16); CAP];
    let mut want: [f16; CAP];
    for (di, &data) in NARROW_F16_DATA.iter().enumerate() {
        for len in lengths() {
            for (oi, &offsets) in OFFSETS.iter().enumerate() {
                let mut rng = Rng::for_case([Primitive::F32ToF16.index(), di, len, oi]);
                let (os, ls, od, ld) = convert_shape(len, oi, offsets);
                fill(&mut rng, data, sub_mut(&mut src, os, ls));
                let end = od + ld + GUARD;
                reset(&mut got, end, f16::from_bits(SENTINEL16));
                want = got;
                let ss = sub(&src, os, ls);
                ctx.simd.f32_to_f16(ss, sub_mut(&mut got, od, ld));
                Simd::scalar().f32_to_f16(ss, sub_mut(&mut want, od, ld));
                let n = ls.min(ld);
                let mut case = Case::new(Primitive::F32ToF16.index(), data, len, os);
                for (i, (g, w)) in sub(&got, od, n).iter().zip(sub(&want, od, n)).enumerate() {
                    let (g, w) = (g.to_bits(), w.to_bits());
                    // NaN: any quiet NaN.
                    let ok = if f16_is_nan(w) {
                        f16_is_nan(g) && g & 0x0200 != 0
                    } else {
                        g == w
                    };
                    if !ok {
                        let widen = |b: u16| f16::from_bits(b).to_f32_const();
                        case.fail(Check::Value, i, widen(g), widen(w), 0.0);
                        break;
                    }
                }
                let (bits, widen) = (|h: f16| u32::from(h.to_bits()), f16::to_f32_const);
                check_untouched(&mut case, (&got, &want), (od, od + n, end), bits, widen);
                ctx.finish(case);
            }
        }
    }
}

#[inline(never)]
fn test_f32_to_bf16(ctx: &mut Ctx<'_>) {
    let mut src = [POISON; CAP];
    let mut got = [bf16::from_bits(SENTINEL16); CAP];
    let mut want: [bf16; CAP];
    for (di, &data) in NARROW_BF16_DATA.iter().enumerate() {
        for len in lengths() {
            for (oi, &offsets) in OFFSETS.iter().enumerate() {
                let mut rng = Rng::for_case([Primitive::F32ToBf16.index(), di, len, oi]);
                let (os, ls, od, ld) = convert_shape(len, oi, offsets);
                fill(&mut rng, data, sub_mut(&mut src, os, ls));
                let end = od + ld + GUARD;
                reset(&mut got, end, bf16::from_bits(SENTINEL16));
                want = got;
                let ss = sub(&src, os, ls);
                ctx.simd.f32_to_bf16(ss, sub_mut(&mut got, od, ld));
                Simd::scalar().f32_to_bf16(ss, sub_mut(&mut want, od, ld));
                let n = ls.min(ld);
                let mut case = Case::new(Primitive::F32ToBf16.index(), data, len, os);
                let outs = sub(&got, od, n).iter().zip(sub(&want, od, n)).zip(ss);
                for (i, ((g, w), &v)) in outs.enumerate() {
                    let (g, w) = (g.to_bits(), w.to_bits());
                    // NaN: a quiet NaN with the input's sign.
                    let ok = if v.is_nan() {
                        bf16_is_nan(g)
                            && g & 0x0040 != 0
                            && (g & 0x8000 != 0) == v.is_sign_negative()
                    } else {
                        g == w
                    };
                    if !ok {
                        let widen = |b: u16| f32::from_bits(u32::from(b) << 16);
                        case.fail(Check::Value, i, widen(g), widen(w), 0.0);
                        break;
                    }
                }
                let (bits, widen) = (|h: bf16| u32::from(h.to_bits()), bf16::to_f32_const);
                check_untouched(&mut case, (&got, &want), (od, od + n, end), bits, widen);
                ctx.finish(case);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 52 000 cases: minutes natively under test, hours under Miri (the portable kernels get Miri's checks from
    // `tests/levels.rs` instead).
    #[test]
    #[cfg_attr(miri, ignore)]
    fn scalar_level_passes_its_own_oracle() {
        let mut failures = 0u32;
        let tally = run(Simd::scalar(), &mut |f| {
            failures += 1;
            assert!(failures < 20, "{f:?}");
        });
        assert_eq!(tally.failed, 0);
        assert!(tally.primitives.iter().all(|p| p.passed > 0));
    }

    #[test]
    fn harness_detects_wrong_results() {
        assert!(!exp_ok(1.0, f32::from_bits(1.0f32.to_bits() + 4), 0.0));
        assert!(exp_ok(f32::INFINITY, f32::MAX, 88.72));
        assert!(!exp_ok(f32::INFINITY, f32::MAX, 89.0));
        assert_eq!(ulp_distance(-0.0, TINY), 1);
        assert!(!reduction_close(1.0, 1.001, 4, 1.0).0);
        assert!(reduction_close(f32::NAN, f32::NAN, 4, 1.0).0);
        assert!(!reduction_close(f32::INFINITY, f32::NEG_INFINITY, 4, 1.0).0);
        assert!(scale_ftz_ok(0.0, 1.0e-40, 1.0));
        assert!(!scale_ftz_ok(0.0, 1.0e-20, 1.0));
    }
}
