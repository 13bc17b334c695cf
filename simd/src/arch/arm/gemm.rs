//! Small matrix product ([`Kernels::gemm`](crate::Kernels::gemm)) for Helium.

use super::Helium;
use crate::kernels::GemmShape;

/// [`Kernels::gemm`](crate::Kernels::gemm) for Helium.
pub(crate) fn gemm(
    _: Helium,
    shape: GemmShape,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    accumulate: bool,
) -> bool {
    crate::portable::gemm::gemm(shape, a, b, c, accumulate)
}
