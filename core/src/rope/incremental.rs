//! A table-free cos/sin generator for consecutive positions, for devices that cannot hold tables.
//!
//! The state is the current `(cos pω_i, sin pω_i)` for every frequency plus the per-step rotation
//! `(cos ω_i, sin ω_i)`, in caller memory (`4·D/2` numbers, [`Generator::state_len`]). Each
//! [`Generator::advance`] turns the state by one step (angle addition); every `R` steps it re-anchors,
//! recomputing the state exactly at the current position (as [`table`](super::table) does), so errors cannot
//! accumulate past `R` steps. The anchor is the only f64 work (`D/2` `sincos` calls); steps are pure state
//! arithmetic.
//!
//! # State types and error
//! The rounding of each step adds to the next, mostly in the same direction for the slowly turning (low)
//! frequencies, so with plain f32 state the error grows about linearly with the steps since the anchor. The
//! tests measure the largest absolute error of any cos or sin, against exact tables, over every position
//! `0 .. 2²⁰` (`D = 128`, bases 10000 and 500000):
//!
//! | state | cost per frequency and step | `R = 16` | `R = 64` | `R = 2²⁰` (no re-anchor) |
//! | --- | --- | --- | --- | --- |
//! | `f32` | 4 mul + 2 add | `9.9·10⁻⁷` | `3.6·10⁻⁶` | unusable |
//! | [`F32x2`] (float-float in f32) | ≈ 60 f32 ops | `3·10⁻⁸` | `3·10⁻⁸` | `3.1·10⁻⁸` |
//! | `f64` | 4 mul + 2 add (f64) | `3·10⁻⁸` | `3·10⁻⁸` | `3·10⁻⁸` |
//!
//! `3·10⁻⁸` is the f32 rounding of the output itself, i.e. the compensated and f64 states are as exact as the
//! tables. On a core with a single-precision FPU only, [`F32x2`] is the choice: f32 instructions between
//! anchors, table accuracy, and anchors as rare as the caller likes.
//!
//! ```
//! use emkern::rope::incremental::{Generator, F32x2, DEFAULT_REANCHOR};
//!
//! let inv_freq = [1.0f64, 0.1];
//! let mut state = [F32x2::default(); 8]; // Generator::<F32x2>::state_len(2)
//! let mut g = Generator::new(&inv_freq, 100, DEFAULT_REANCHOR, &mut state[..])?;
//! let (mut cos, mut sin) = ([0.0f32; 2], [0.0f32; 2]);
//! for p in 100..300u64 {
//!     assert_eq!(g.position(), p);
//!     g.write(1.0, &mut cos, &mut sin)?;
//!     assert!((cos[0] - libm::cos(p as f64) as f32).abs() < 1e-7);
//!     assert!((sin[1] - libm::sin(p as f64 * 0.1) as f32).abs() < 1e-7);
//!     g.advance()?;
//! }
//! # Ok::<(), emkern::rope::RopeError>(())
//! ```

use super::RopeError;
use super::angle;

/// Re-anchor every 64 steps unless told otherwise.
pub const DEFAULT_REANCHOR: u32 = 64;

/// The number type of the generator's state: [`f32`], [`f64`] or the compensated [`F32x2`].
pub trait StateFloat: Copy + sealed::Sealed {
    /// Rounds an f64.
    fn from_f64(v: f64) -> Self;
    /// The value as an f64.
    fn to_f64(self) -> f64;
    /// `(c·dc − s·ds, s·dc + c·ds)`: `(c, s)` turned by the step `(dc, ds)`.
    fn rotate(c: Self, s: Self, dc: Self, ds: Self) -> (Self, Self);
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
    impl Sealed for super::F32x2 {}
}

impl StateFloat for f32 {
    #[inline]
    fn from_f64(v: f64) -> f32 {
        v as f32
    }
    #[inline]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline]
    fn rotate(c: f32, s: f32, dc: f32, ds: f32) -> (f32, f32) {
        (c * dc - s * ds, s * dc + c * ds)
    }
}

impl StateFloat for f64 {
    #[inline]
    fn from_f64(v: f64) -> f64 {
        v
    }
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline]
    fn rotate(c: f64, s: f64, dc: f64, ds: f64) -> (f64, f64) {
        (c * dc - s * ds, s * dc + c * ds)
    }
}

/// An unevaluated sum `hi + lo` of two f32 (`|lo| ≤ ulp(hi)/2`): about 48 significant bits using only f32
/// arithmetic, for cores whose FPU has no double precision (Cortex-M4F, M33, M55). Rotating costs about 60
/// f32 operations per frequency instead of 6, still far below one f64 `sincos` in software.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct F32x2 {
    /// The leading part.
    pub hi: f32,
    /// The trailing part.
    pub lo: f32,
}

/// `a + b = s + e` exactly (Knuth's two-sum).
#[inline]
fn two_sum(a: f32, b: f32) -> (f32, f32) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// Splits `a` into two halves of 12 significand bits (Veltkamp, `2¹² + 1`).
#[inline]
fn split(a: f32) -> (f32, f32) {
    let t = 4097.0 * a;
    let hi = t - (t - a);
    (hi, a - hi)
}

/// `a·b = p + e` exactly (Dekker's two-product, no fused multiply-add needed).
#[inline]
fn two_product(a: f32, b: f32) -> (f32, f32) {
    let p = a * b;
    let (ah, al) = split(a);
    let (bh, bl) = split(b);
    (p, ((ah * bh - p) + ah * bl + al * bh) + al * bl)
}

impl StateFloat for F32x2 {
    #[inline]
    fn from_f64(v: f64) -> F32x2 {
        let hi = v as f32;
        F32x2 {
            hi,
            lo: (v - f64::from(hi)) as f32,
        }
    }
    #[inline]
    fn to_f64(self) -> f64 {
        f64::from(self.hi) + f64::from(self.lo)
    }
    #[inline]
    fn rotate(c: F32x2, s: F32x2, dc: F32x2, ds: F32x2) -> (F32x2, F32x2) {
        // Leading products exactly, cross terms with the trailing parts in plain f32 (their own rounding is
        // below 2⁻⁴⁸), the lo·lo terms dropped.
        let (p1, e1) = two_product(c.hi, dc.hi);
        let (p2, e2) = two_product(s.hi, ds.hi);
        let (x, ex) = two_sum(p1, -p2);
        let tail = ex + e1 - e2 + (c.hi * dc.lo + c.lo * dc.hi) - (s.hi * ds.lo + s.lo * ds.hi);
        let (ch, cl) = two_sum(x, tail);
        let (p3, e3) = two_product(s.hi, dc.hi);
        let (p4, e4) = two_product(c.hi, ds.hi);
        let (y, ey) = two_sum(p3, p4);
        let tail = ey + e3 + e4 + (s.hi * dc.lo + s.lo * dc.hi) + (c.hi * ds.lo + c.lo * ds.hi);
        let (sh, sl) = two_sum(y, tail);
        (F32x2 { hi: ch, lo: cl }, F32x2 { hi: sh, lo: sl })
    }
}

/// Yields cos/sin rows for consecutive positions without a table; see the [module](self) documentation.
#[derive(Debug)]
pub struct Generator<'a, T: StateFloat> {
    inv_freq: &'a [f64],
    /// `[cos | sin | step cos | step sin]`, `D/2` each.
    state: &'a mut [T],
    position: u64,
    reanchor: u32,
    since_anchor: u32,
}

impl<'a, T: StateFloat> Generator<'a, T> {
    /// State elements needed for `half = D/2` frequencies: `4·half`.
    pub const fn state_len(half: usize) -> usize {
        half.saturating_mul(4)
    }

    /// A generator at position `start`, re-anchoring every `reanchor` steps (`1` recomputes every position
    /// exactly; `0` is rejected). `state` must hold [`Generator::state_len`]`(inv_freq.len())` elements.
    pub fn new(
        inv_freq: &'a [f64],
        start: u64,
        reanchor: u32,
        state: &'a mut [T],
    ) -> Result<Generator<'a, T>, RopeError> {
        if reanchor == 0 {
            return Err(RopeError::InvalidParameter { name: "reanchor" });
        }
        let half = inv_freq.len();
        let needed = half.saturating_mul(4);
        let got = state.len();
        let state = state.get_mut(..needed).ok_or(RopeError::TooShort {
            buffer: "state",
            needed,
            got,
        })?;
        let (current, step) = state.split_at_mut(2 * half);
        let (step_cos, step_sin) = step.split_at_mut(half);
        for ((&w, c), s) in inv_freq.iter().zip(step_cos).zip(step_sin) {
            let (sv, cv) = angle::sin_cos(1, w);
            *c = T::from_f64(cv);
            *s = T::from_f64(sv);
        }
        anchor(inv_freq, start, current);
        Ok(Generator {
            inv_freq,
            state,
            position: start,
            reanchor,
            since_anchor: 0,
        })
    }

    /// The position of the current row.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The current row's cosines (`D/2`).
    pub fn cos(&self) -> &[T] {
        self.state.get(..self.inv_freq.len()).unwrap_or(&[])
    }

    /// The current row's sines (`D/2`).
    pub fn sin(&self) -> &[T] {
        let half = self.inv_freq.len();
        self.state.get(half..2 * half).unwrap_or(&[])
    }

    /// Writes the current row times `scale` (the attention factor, in f64) into `cos[..D/2]` and `sin[..D/2]`,
    /// in the format of one [`table`](super::table) row.
    pub fn write(&self, scale: f64, cos: &mut [f32], sin: &mut [f32]) -> Result<(), RopeError> {
        let half = self.inv_freq.len();
        super::table::check_table(half, 1, cos.len(), sin.len())?;
        for ((c, s), (&sc, &ss)) in cos
            .iter_mut()
            .zip(sin.iter_mut())
            .zip(self.cos().iter().zip(self.sin()))
        {
            *c = (sc.to_f64() * scale) as f32;
            *s = (ss.to_f64() * scale) as f32;
        }
        Ok(())
    }

    /// Moves to the next position: one rotation step, or an exact recomputation every `reanchor` steps.
    /// Fails (and stays put) at position `u64::MAX`.
    pub fn advance(&mut self) -> Result<(), RopeError> {
        let next = self
            .position
            .checked_add(1)
            .ok_or(RopeError::PositionOverflow)?;
        let half = self.inv_freq.len();
        self.position = next;
        self.since_anchor += 1;
        if self.since_anchor >= self.reanchor {
            self.since_anchor = 0;
            if let Some(current) = self.state.get_mut(..2 * half) {
                anchor(self.inv_freq, next, current);
            }
            return Ok(());
        }
        // `new` sized the state to exactly 4·half elements, so every split succeeds.
        let (current, step) = self
            .state
            .split_at_mut_checked(2 * half)
            .unwrap_or_default();
        let (cos, sin) = current.split_at_mut_checked(half).unwrap_or_default();
        let (step_cos, step_sin) = step.split_at_checked(half).unwrap_or_default();
        for (((c, s), &dc), &ds) in cos
            .iter_mut()
            .zip(sin.iter_mut())
            .zip(step_cos)
            .zip(step_sin)
        {
            (*c, *s) = T::rotate(*c, *s, dc, ds);
        }
        Ok(())
    }

    /// Jumps to `position` and re-anchors there (exact).
    pub fn seek(&mut self, position: u64) {
        let half = self.inv_freq.len();
        if let Some(current) = self.state.get_mut(..2 * half) {
            anchor(self.inv_freq, position, current);
        }
        self.position = position;
        self.since_anchor = 0;
    }
}

/// Writes the exact `[cos | sin]` at `p` into `current` (`2·D/2` elements).
fn anchor<T: StateFloat>(inv_freq: &[f64], p: u64, current: &mut [T]) {
    let (cos, sin) = current.split_at_mut(current.len() / 2);
    for ((&w, c), s) in inv_freq.iter().zip(cos).zip(sin) {
        let (sv, cv) = angle::sin_cos(p, w);
        *c = T::from_f64(cv);
        *s = T::from_f64(sv);
    }
}
