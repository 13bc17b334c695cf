//! `emkern-simd`: the dispatcher at every level this build has, the free functions, the `Kernels` methods on
//! each level's token, the portable reference functions, the shape helpers, the self-test and the calibration
//! loop.

use emkern_simd::portable::{self, Scalar};
use emkern_simd::{GemmShape, Kernels, Level, Simd, bf16, f16, selftest};

use crate::{keep, o};

/// Calls every primitive through the dispatcher `s`.
fn dispatcher(s: Simd) {
    let mut x = [0.5f32; 48];
    let mut y = [0.25f32; 48];
    let mut z = [0.0f32; 48];
    let mut h = [f16::ZERO; 48];
    let mut b = [bf16::ZERO; 48];
    keep(s.level());
    keep(s.dot(o(&x[..]), o(&y[..])));
    keep(s.dot_rows(o(&x[..]), o(&y[..]), o(4), o(&mut z[..])));
    s.axpy(o(2.0), o(&x[..]), o(&mut y[..]));
    s.scale(o(0.5), o(&mut y[..]));
    keep(s.max(o(&x[..])));
    keep(s.sum(o(&x[..])));
    s.exp(o(&x[..]), o(&mut z[..]));
    s.exp_in_place(o(&mut z[..]));
    keep(s.exp_shifted_sum(o(1.0), o(&mut z[..])));
    s.f32_to_f16(o(&x[..]), o(&mut h[..]));
    s.f16_to_f32(o(&h[..]), o(&mut z[..]));
    s.f32_to_bf16(o(&x[..]), o(&mut b[..]));
    s.bf16_to_f32(o(&b[..]), o(&mut z[..]));
    s.rotate_interleaved(o(&mut x[..]), o(&y[..]), o(&z[..]));
    s.rotate_half_split(o(&mut x[..]), o(&y[..]), o(&z[..]));
    let shape = GemmShape {
        m: o(3),
        n: o(4),
        k: o(5),
        lda: o(5),
        ldb: o(4),
        ldc: o(4),
    };
    keep(s.gemm(o(shape), o(&x[..]), o(&y[..]), o(&mut z[..]), o(true)));
    s.prefetch(o(&x[..]));
    keep(s.transpose(o(3), o(5), o(&x[..]), o(5), o(&mut z[..]), o(3)));
    keep(emkern_simd::calibrate::fma_peak(s, o(3)));
    forest_walker(s);
    let tally = selftest::run(s, &mut |failure| {
        keep(failure);
    });
    keep(tally.all_passed());
}

/// Builds a forest plan from opaque values and walks rows through it at `s`'s level.
fn forest_walker(s: Simd) {
    use emkern_simd::forest::{Compare, PlanBuilder};
    let mut words = [0u32; 64];
    let rows = [0.5f32; 48];
    let mut sums = [0.0f32; 12];
    keep(s.forest_lanes());
    keep(PlanBuilder::tree_words(o(3)));
    keep(PlanBuilder::table_words(o(2)));
    let Ok(mut b) = PlanBuilder::new(o(&mut words[..]), o(2), o(3), o(Compare::LessEqual), o(7))
    else {
        return;
    };
    keep(b.begin_tree(o(2)));
    keep(b.split(o(0), o(0), o(2), o(0.5), o(true)));
    keep(b.split(o(1), o(1), o(1), o(-0.5), o(false)));
    keep(b.leaf(o(1), o(0), o(1.0)));
    keep(b.leaf(o(2), o(3), o(2.0)));
    keep(b.begin_tree(o(0)));
    keep(b.leaf(o(0), o(0), o(3.0)));
    if let Ok(plan) = b.finish() {
        keep((
            plan.n_trees(),
            plan.n_features(),
            plan.compare(),
            plan.tag(),
        ));
        keep(s.forest_sums(&plan, o(&rows[..]), o(4), o(11), o(&mut sums[..])));
    }
}

/// Calls every `Kernels` method on a level token directly.
fn kernels<K: Kernels>(k: K) {
    let mut x = [0.5f32; 40];
    let mut y = [0.25f32; 40];
    let mut z = [0.0f32; 40];
    let mut h = [f16::ZERO; 40];
    let mut b = [bf16::ZERO; 40];
    keep(k.dot(o(&x[..]), o(&y[..])));
    keep(k.dot_rows(o(&x[..]), o(&y[..]), o(3), o(&mut z[..])));
    k.axpy(o(2.0), o(&x[..]), o(&mut y[..]));
    k.scale(o(0.5), o(&mut y[..]));
    keep(k.max(o(&x[..])));
    keep(k.sum(o(&x[..])));
    k.exp(o(&x[..]), o(&mut z[..]));
    k.exp_in_place(o(&mut z[..]));
    keep(k.exp_shifted_sum(o(1.0), o(&mut z[..])));
    k.f32_to_f16(o(&x[..]), o(&mut h[..]));
    k.f16_to_f32(o(&h[..]), o(&mut z[..]));
    k.f32_to_bf16(o(&x[..]), o(&mut b[..]));
    k.bf16_to_f32(o(&b[..]), o(&mut z[..]));
    k.rotate_interleaved(o(&mut x[..]), o(&y[..]), o(&z[..]));
    k.rotate_half_split(o(&mut x[..]), o(&y[..]), o(&z[..]));
    let shape = GemmShape {
        m: o(2),
        n: o(3),
        k: o(4),
        lda: o(4),
        ldb: o(3),
        ldc: o(3),
    };
    keep(k.gemm(o(shape), o(&x[..]), o(&y[..]), o(&mut z[..]), o(false)));
    k.prefetch(o(&h[..]));
    keep(k.transpose(o(2), o(4), o(&x[..]), o(4), o(&mut z[..]), o(2)));
}

/// The free functions at the crate root (on `Simd::best`).
fn free_functions() {
    let mut x = [0.5f32; 36];
    let mut y = [0.25f32; 36];
    let mut z = [0.0f32; 36];
    let mut h = [f16::ZERO; 36];
    let mut b = [bf16::ZERO; 36];
    keep(emkern_simd::dot(o(&x[..]), o(&y[..])));
    keep(emkern_simd::dot_rows(
        o(&x[..]),
        o(&y[..]),
        o(2),
        o(&mut z[..]),
    ));
    emkern_simd::axpy(o(2.0), o(&x[..]), o(&mut y[..]));
    emkern_simd::scale(o(0.5), o(&mut y[..]));
    keep(emkern_simd::max(o(&x[..])));
    keep(emkern_simd::sum(o(&x[..])));
    emkern_simd::exp(o(&x[..]), o(&mut z[..]));
    emkern_simd::exp_in_place(o(&mut z[..]));
    keep(emkern_simd::exp_shifted_sum(o(1.0), o(&mut z[..])));
    emkern_simd::f32_to_f16(o(&x[..]), o(&mut h[..]));
    emkern_simd::f16_to_f32(o(&h[..]), o(&mut z[..]));
    emkern_simd::f32_to_bf16(o(&x[..]), o(&mut b[..]));
    emkern_simd::bf16_to_f32(o(&b[..]), o(&mut z[..]));
    emkern_simd::rotate_interleaved(o(&mut x[..]), o(&y[..]), o(&z[..]));
    emkern_simd::rotate_half_split(o(&mut x[..]), o(&y[..]), o(&z[..]));
    let shape = GemmShape {
        m: o(2),
        n: o(2),
        k: o(2),
        lda: o(2),
        ldb: o(2),
        ldc: o(2),
    };
    keep(emkern_simd::gemm(
        o(shape),
        o(&x[..]),
        o(&y[..]),
        o(&mut z[..]),
        o(true),
    ));
}

/// The portable reference functions (`portable::*`) and the shape helpers.
fn portable_functions() {
    let mut x = [0.5f32; 24];
    let mut y = [0.25f32; 24];
    let mut z = [0.0f32; 24];
    let mut h = [f16::ZERO; 24];
    let mut b = [bf16::ZERO; 24];
    keep(portable::dot::dot(o(&x[..]), o(&y[..])));
    portable::dot::axpy(o(2.0), o(&x[..]), o(&mut y[..]));
    portable::dot::scale(o(0.5), o(&mut y[..]));
    keep(portable::reduce::max(o(&x[..])));
    keep(portable::reduce::sum(o(&x[..])));
    keep(portable::exp::exp(o(1.5)));
    keep(portable::exp::pow2i(o(-130)));
    portable::convert::f32_to_f16(o(&x[..]), o(&mut h[..]));
    portable::convert::f16_to_f32(o(&h[..]), o(&mut z[..]));
    portable::convert::f32_to_bf16(o(&x[..]), o(&mut b[..]));
    portable::convert::bf16_to_f32(o(&b[..]), o(&mut z[..]));
    keep(portable::convert::f32_to_bf16_bits(o(1.0e-40)));
    keep(portable::convert::f32_to_f16_bits(o(65_520.0)));
    portable::rotate::interleaved(o(&mut x[..]), o(&y[..]), o(&z[..]));
    portable::rotate::half_split(o(&mut x[..]), o(&y[..]), o(&z[..]));
    let shape = GemmShape {
        m: o(2),
        n: o(3),
        k: o(2),
        lda: o(2),
        ldb: o(3),
        ldc: o(3),
    };
    keep(portable::gemm::gemm(
        o(shape),
        o(&x[..]),
        o(&y[..]),
        o(&mut z[..]),
        o(false),
    ));
    keep(portable::gemm::transpose(
        o(3),
        o(2),
        o(&x[..]),
        o(2),
        o(&mut z[..]),
        o(3),
    ));
    keep(o(shape).fits(o(6), o(6), o(6)));
    keep(emkern_simd::transpose_fits(
        o(3),
        o(2),
        o(6),
        o(2),
        o(6),
        o(3),
    ));
    keep(emkern_simd::rows_that_fit(o(4), o(20), o(5), o(8)));
}

/// Runs every call.
pub fn run() {
    keep(Simd::best());
    dispatcher(o(Simd::scalar()));
    for level in Level::ALL {
        keep(level.name());
        keep(level.is_available());
        keep(selftest::flushes_subnormals(o(level)));
        if let Some(s) = Simd::new(o(level)) {
            dispatcher(s);
        }
    }
    keep(Level::from_name(o("helium")));
    for s in Simd::available() {
        keep(s);
    }
    kernels(o(Scalar));
    #[cfg(feature = "helium")]
    if let Some(token) = emkern_simd::arch::arm::Helium::detect() {
        kernels(token);
    }
    free_functions();
    portable_functions();
}
