//! [`Simd`]: a dispatcher that holds a proven level and forwards each call, once, to that level's kernels.

use core::sync::atomic::{AtomicU8, Ordering};

use crate::kernels::{GemmShape, Kernels};
use crate::portable::Scalar;
use crate::{Level, bf16, f16};

#[derive(Clone, Copy, Debug)]
enum Backend {
    Scalar(Scalar),
    #[cfg(target_arch = "x86_64")]
    Avx2(crate::arch::x86_64::Avx2),
    #[cfg(target_arch = "x86_64")]
    Avx512(crate::arch::x86_64::Avx512),
    #[cfg(target_arch = "aarch64")]
    Neon(crate::arch::aarch64::Neon),
    #[cfg(all(target_arch = "arm", feature = "helium"))]
    Helium(crate::arch::arm::Helium),
}

/// A kernel dispatcher bound to one [`Level`] that this CPU supports.
///
/// It can only be built by checking ([`Simd::new`], [`Simd::best`], [`Simd::available`]) or as
/// [`Simd::scalar`], so every call it forwards is sound. Copy it freely; each method dispatches once per call.
#[derive(Clone, Copy, Debug)]
pub struct Simd {
    backend: Backend,
}

/// Runs `$call` on the token of the dispatcher's level.
macro_rules! dispatch {
    ($self:ident, $k:ident => $call:expr) => {
        match $self.backend {
            Backend::Scalar($k) => $call,
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2($k) => $call,
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512($k) => $call,
            #[cfg(target_arch = "aarch64")]
            Backend::Neon($k) => $call,
            #[cfg(all(target_arch = "arm", feature = "helium"))]
            Backend::Helium($k) => $call,
        }
    };
}

/// Cache of [`Simd::best`]: 0 = not detected yet, otherwise `1 + index into Level::ALL`.
static BEST: AtomicU8 = AtomicU8::new(0);

impl Simd {
    /// The portable scalar level (always available).
    #[inline]
    pub const fn scalar() -> Simd {
        Simd {
            backend: Backend::Scalar(Scalar),
        }
    }

    /// The dispatcher for `level`, or `None` if this CPU or this build cannot run it.
    pub fn new(level: Level) -> Option<Simd> {
        let backend = match level {
            Level::Scalar => Backend::Scalar(Scalar),
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => Backend::Avx2(crate::arch::x86_64::Avx2::detect()?),
            #[cfg(target_arch = "x86_64")]
            Level::Avx512 => Backend::Avx512(crate::arch::x86_64::Avx512::detect()?),
            #[cfg(target_arch = "aarch64")]
            Level::Neon => Backend::Neon(crate::arch::aarch64::Neon::detect()?),
            #[cfg(all(target_arch = "arm", feature = "helium"))]
            Level::Helium => Backend::Helium(crate::arch::arm::Helium::detect()?),
            #[allow(unreachable_patterns)]
            _ => return None,
        };
        Some(Simd { backend })
    }

    /// The fastest level this CPU supports. Detected on the first call and cached.
    #[inline]
    pub fn best() -> Simd {
        let code = BEST.load(Ordering::Relaxed);
        if let Some(&level) = (code as usize)
            .checked_sub(1)
            .and_then(|i| Level::ALL.get(i))
        {
            // A level is only cached after `Simd::new` accepted it, so asking again succeeds; the detection
            // functions are cheap (cached by the standard library or decided at compile time).
            if let Some(simd) = Simd::new(level) {
                return simd;
            }
        }
        let best = Simd::available().last().unwrap_or(Simd::scalar());
        let index = Level::ALL
            .iter()
            .position(|&l| l == best.level())
            .unwrap_or(0);
        BEST.store(index as u8 + 1, Ordering::Relaxed);
        best
    }

    /// Every level this CPU supports, slowest (scalar) first.
    pub fn available() -> Available {
        Available { next: 0 }
    }

    /// The level this dispatcher runs at.
    #[inline]
    pub fn level(self) -> Level {
        dispatch!(self, k => level_of(k))
    }

    /// See [`Kernels::dot`].
    #[inline]
    pub fn dot(self, a: &[f32], b: &[f32]) -> f32 {
        dispatch!(self, k => k.dot(a, b))
    }

    /// See [`Kernels::dot_rows`].
    #[inline]
    pub fn dot_rows(self, x: &[f32], rows: &[f32], stride: usize, out: &mut [f32]) -> usize {
        dispatch!(self, k => k.dot_rows(x, rows, stride, out))
    }

    /// See [`Kernels::axpy`].
    #[inline]
    pub fn axpy(self, a: f32, x: &[f32], y: &mut [f32]) {
        dispatch!(self, k => k.axpy(a, x, y))
    }

    /// See [`Kernels::scale`].
    #[inline]
    pub fn scale(self, a: f32, y: &mut [f32]) {
        dispatch!(self, k => k.scale(a, y))
    }

    /// See [`Kernels::max`].
    #[inline]
    pub fn max(self, x: &[f32]) -> f32 {
        dispatch!(self, k => k.max(x))
    }

    /// See [`Kernels::sum`].
    #[inline]
    pub fn sum(self, x: &[f32]) -> f32 {
        dispatch!(self, k => k.sum(x))
    }

    /// See [`Kernels::exp`].
    #[inline]
    pub fn exp(self, x: &[f32], out: &mut [f32]) {
        dispatch!(self, k => k.exp(x, out))
    }

    /// See [`Kernels::exp_in_place`].
    #[inline]
    pub fn exp_in_place(self, x: &mut [f32]) {
        dispatch!(self, k => k.exp_in_place(x))
    }

    /// See [`Kernels::exp_shifted_sum`].
    #[inline]
    pub fn exp_shifted_sum(self, shift: f32, x: &mut [f32]) -> f32 {
        dispatch!(self, k => k.exp_shifted_sum(shift, x))
    }

    /// See [`Kernels::f16_to_f32`].
    #[inline]
    pub fn f16_to_f32(self, src: &[f16], dst: &mut [f32]) {
        dispatch!(self, k => k.f16_to_f32(src, dst))
    }

    /// See [`Kernels::f32_to_f16`].
    #[inline]
    pub fn f32_to_f16(self, src: &[f32], dst: &mut [f16]) {
        dispatch!(self, k => k.f32_to_f16(src, dst))
    }

    /// See [`Kernels::bf16_to_f32`].
    #[inline]
    pub fn bf16_to_f32(self, src: &[bf16], dst: &mut [f32]) {
        dispatch!(self, k => k.bf16_to_f32(src, dst))
    }

    /// See [`Kernels::f32_to_bf16`].
    #[inline]
    pub fn f32_to_bf16(self, src: &[f32], dst: &mut [bf16]) {
        dispatch!(self, k => k.f32_to_bf16(src, dst))
    }

    /// See [`Kernels::rotate_interleaved`].
    #[inline]
    pub fn rotate_interleaved(self, x: &mut [f32], cos: &[f32], sin: &[f32]) {
        dispatch!(self, k => k.rotate_interleaved(x, cos, sin))
    }

    /// See [`Kernels::rotate_half_split`].
    #[inline]
    pub fn rotate_half_split(self, x: &mut [f32], cos: &[f32], sin: &[f32]) {
        dispatch!(self, k => k.rotate_half_split(x, cos, sin))
    }

    /// See [`Kernels::gemm`].
    #[inline]
    pub fn gemm(
        self,
        shape: GemmShape,
        a: &[f32],
        b: &[f32],
        c: &mut [f32],
        accumulate: bool,
    ) -> bool {
        dispatch!(self, k => k.gemm(shape, a, b, c, accumulate))
    }

    /// See [`Kernels::prefetch`].
    #[inline]
    pub fn prefetch<T>(self, x: &[T]) {
        dispatch!(self, k => k.prefetch(x))
    }

    /// See [`Kernels::transpose`].
    #[inline]
    pub fn transpose(
        self,
        rows: usize,
        cols: usize,
        src: &[f32],
        lds: usize,
        dst: &mut [f32],
        ldd: usize,
    ) -> bool {
        dispatch!(self, k => k.transpose(rows, cols, src, lds, dst, ldd))
    }
}

impl Simd {
    /// The lockstep forest walker (see [`forest`](crate::forest)): for each of the `n_rows` rows (row `r` is
    /// `rows[r·stride ..][..plan.n_features()]`; NaN is a missing value), adds the leaf of every tree of `plan`,
    /// in tree order, to `sums[r]`, one f32 addition per tree. Bit for bit the same on every level.
    ///
    /// NEON and Helium walk 4 rows per vector, AVX2 8 and AVX-512 16 ([`Simd::forest_lanes`]); the scalar level
    /// takes the portable walker ([`portable::forest`](crate::portable::forest)), as do calls whose row offsets
    /// (`(lanes − 1)·stride + n_features`) do not fit an `i32`, and Helium for a plan with a sparse tree. Nothing is read or written for `n_rows = 0`;
    /// wrongly sized buffers are refused before anything is written.
    pub fn forest_sums(
        self,
        plan: &crate::forest::Plan<'_>,
        rows: &[f32],
        stride: usize,
        n_rows: usize,
        sums: &mut [f32],
    ) -> Result<(), crate::forest::RowsError> {
        if n_rows == 0 {
            return Ok(());
        }
        crate::forest::check_rows(plan, rows.len(), stride, n_rows, sums.len())?;
        match self.backend {
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2(k) => {
                crate::arch::x86_64::forest::forest_sums_avx2(k, plan, rows, stride, n_rows, sums)
            }
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512(k) => {
                crate::arch::x86_64::forest::forest_sums_avx512(k, plan, rows, stride, n_rows, sums)
            }
            #[cfg(target_arch = "aarch64")]
            Backend::Neon(k) => {
                crate::arch::aarch64::forest::forest_sums_neon(k, plan, rows, stride, n_rows, sums)
            }
            #[cfg(all(target_arch = "arm", feature = "helium"))]
            Backend::Helium(k) => {
                crate::arch::arm::forest::forest_sums_helium(k, plan, rows, stride, n_rows, sums)
            }
            #[allow(unreachable_patterns)]
            _ => crate::portable::forest::forest_sums(plan, rows, stride, n_rows, sums),
        }
        Ok(())
    }

    /// The single-row forest walker (see [`forest`](crate::forest)): adds the leaf of every tree of `plan` for
    /// `row` (`row[..plan.n_features()]`; NaN is a missing value) to `sum`, in tree order, one f32 addition per
    /// tree: bit for bit [`Simd::forest_sums`] for that one row, on every level.
    ///
    /// The vector levels walk several trees per vector, each lane at its own tree's node (NEON 4, AVX2 8 and
    /// AVX-512 16 trees per vector, [`Simd::forest_row_lanes`]); the scalar level (and Helium) takes the portable
    /// twin ([`portable::forest_row`](crate::portable::forest_row)), which interleaves a few trees, as does every
    /// level for a plan with a sparse tree ([`Plan::has_sparse`](crate::forest::Plan::has_sparse)). A row shorter
    /// than the plan's features is refused before anything is written.
    pub fn forest_row(
        self,
        plan: &crate::forest::Plan<'_>,
        row: &[f32],
        sum: &mut f32,
    ) -> Result<(), crate::forest::RowsError> {
        crate::forest::check_row(plan, row.len())?;
        if plan.has_sparse() {
            // The vector single-row walkers read complete trees only.
            crate::portable::forest_row::forest_row(plan, row, sum);
            return Ok(());
        }
        match self.backend {
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2(k) => crate::arch::x86_64::forest_row::forest_row_avx2(k, plan, row, sum),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512(k) => {
                crate::arch::x86_64::forest_row::forest_row_avx512(k, plan, row, sum)
            }
            #[cfg(target_arch = "aarch64")]
            Backend::Neon(k) => {
                crate::arch::aarch64::forest_row::forest_row_neon(k, plan, row, sum)
            }
            #[allow(unreachable_patterns)]
            _ => crate::portable::forest_row::forest_row(plan, row, sum),
        }
        Ok(())
    }

    /// Trees that [`Simd::forest_row`] walks together in one vector at this level: 4 with NEON, 8 with AVX2, 16
    /// with AVX-512, 1 at the scalar level and with Helium (the portable twin, which is not vectorized; it
    /// interleaves `portable::forest_row::TREES` independent walks).
    pub fn forest_row_lanes(self) -> usize {
        match self.backend {
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2(_) => 8,
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512(_) => 16,
            #[cfg(target_arch = "aarch64")]
            Backend::Neon(_) => 4,
            #[allow(unreachable_patterns)]
            _ => 1,
        }
    }

    /// Rows that [`Simd::forest_sums`] walks together in one vector at this level: 4 with NEON and Helium, 8 with
    /// AVX2, 16 with AVX-512, 1 at the scalar level (the portable walker, one row at a time).
    pub fn forest_lanes(self) -> usize {
        match self.backend {
            #[cfg(target_arch = "x86_64")]
            Backend::Avx2(_) => 8,
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512(_) => 16,
            #[cfg(target_arch = "aarch64")]
            Backend::Neon(_) => 4,
            #[cfg(all(target_arch = "arm", feature = "helium"))]
            Backend::Helium(_) => 4,
            #[allow(unreachable_patterns)]
            _ => 1,
        }
    }
}

fn level_of<K: Kernels>(_: K) -> Level {
    K::LEVEL
}

/// Iterator over the levels this CPU supports, from [`Simd::available`].
#[derive(Clone, Debug)]
pub struct Available {
    next: usize,
}

impl Iterator for Available {
    type Item = Simd;

    fn next(&mut self) -> Option<Simd> {
        while let Some(&level) = Level::ALL.get(self.next) {
            self.next += 1;
            if let Some(simd) = Simd::new(level) {
                return Some(simd);
            }
        }
        None
    }
}
