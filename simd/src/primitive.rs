//! The list of primitives ([`Kernels`](crate::Kernels) methods), declared once: the self-test's per-primitive
//! counts, the host benchmark's table and the firmware's instruction-count table are all generated from
//! [`Primitive::ALL`].

/// One method of [`Kernels`](crate::Kernels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Primitive {
    /// [`Kernels::dot`](crate::Kernels::dot).
    Dot,
    /// [`Kernels::dot_rows`](crate::Kernels::dot_rows).
    DotRows,
    /// [`Kernels::axpy`](crate::Kernels::axpy): `y += a·x`.
    Axpy,
    /// [`Kernels::scale`](crate::Kernels::scale): `y *= a`.
    Scale,
    /// [`Kernels::max`](crate::Kernels::max).
    Max,
    /// [`Kernels::sum`](crate::Kernels::sum).
    Sum,
    /// [`Kernels::exp`](crate::Kernels::exp) (out of place).
    Exp,
    /// [`Kernels::exp_in_place`](crate::Kernels::exp_in_place).
    ExpInPlace,
    /// [`Kernels::f16_to_f32`](crate::Kernels::f16_to_f32).
    F16ToF32,
    /// [`Kernels::f32_to_f16`](crate::Kernels::f32_to_f16).
    F32ToF16,
    /// [`Kernels::bf16_to_f32`](crate::Kernels::bf16_to_f32).
    Bf16ToF32,
    /// [`Kernels::f32_to_bf16`](crate::Kernels::f32_to_bf16).
    F32ToBf16,
    /// [`Kernels::rotate_interleaved`](crate::Kernels::rotate_interleaved) (RoPE, interleaved pairs).
    RotateInterleaved,
    /// [`Kernels::rotate_half_split`](crate::Kernels::rotate_half_split) (RoPE, half-split pairs).
    RotateHalfSplit,
    /// [`Kernels::gemm`](crate::Kernels::gemm).
    Gemm,
    /// [`Kernels::transpose`](crate::Kernels::transpose).
    Transpose,
}

impl Primitive {
    /// How many primitives there are.
    pub const COUNT: usize = 16;

    /// Every primitive, in report order (`Primitive::ALL[p.index()] == p`).
    pub const ALL: [Primitive; Primitive::COUNT] = [
        Primitive::Dot,
        Primitive::DotRows,
        Primitive::Axpy,
        Primitive::Scale,
        Primitive::Max,
        Primitive::Sum,
        Primitive::Exp,
        Primitive::ExpInPlace,
        Primitive::F16ToF32,
        Primitive::F32ToF16,
        Primitive::Bf16ToF32,
        Primitive::F32ToBf16,
        Primitive::RotateInterleaved,
        Primitive::RotateHalfSplit,
        Primitive::Gemm,
        Primitive::Transpose,
    ];

    /// The method's name (`"dot"`, `"dot_rows"`, …).
    pub const fn name(self) -> &'static str {
        match self {
            Primitive::Dot => "dot",
            Primitive::DotRows => "dot_rows",
            Primitive::Axpy => "axpy",
            Primitive::Scale => "scale",
            Primitive::Max => "max",
            Primitive::Sum => "sum",
            Primitive::Exp => "exp",
            Primitive::ExpInPlace => "exp_in_place",
            Primitive::F16ToF32 => "f16_to_f32",
            Primitive::F32ToF16 => "f32_to_f16",
            Primitive::Bf16ToF32 => "bf16_to_f32",
            Primitive::F32ToBf16 => "f32_to_bf16",
            Primitive::RotateInterleaved => "rotate_interleaved",
            Primitive::RotateHalfSplit => "rotate_half_split",
            Primitive::Gemm => "gemm",
            Primitive::Transpose => "transpose",
        }
    }

    /// The primitive named `name` ([`Primitive::name`]).
    pub fn from_name(name: &str) -> Option<Primitive> {
        Primitive::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The position in [`Primitive::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Whether the primitive streams over one length `n` (reductions, element-wise maps, conversions,
    /// rotations): what the benchmarks time per element. `exp_in_place` is `exp`'s twin and is left out;
    /// `gemm` and `transpose` are shaped (measured inside attention instead).
    pub const fn is_streaming(self) -> bool {
        !matches!(
            self,
            Primitive::ExpInPlace | Primitive::Gemm | Primitive::Transpose
        )
    }

    /// The names of every primitive, in the order of [`Primitive::ALL`].
    pub const fn names() -> [&'static str; Primitive::COUNT] {
        let mut out = [""; Primitive::COUNT];
        let mut i = 0;
        while i < Primitive::COUNT {
            out[i] = Primitive::ALL[i].name();
            i += 1;
        }
        out
    }
}

impl core::fmt::Display for Primitive {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::Primitive;

    #[test]
    fn all_is_in_index_order_and_names_round_trip() {
        for (i, p) in Primitive::ALL.into_iter().enumerate() {
            assert_eq!(p.index(), i);
            assert_eq!(Primitive::from_name(p.name()), Some(p));
            assert_eq!(Primitive::names()[i], p.name());
        }
        assert_eq!(Primitive::from_name("nope"), None);
    }
}
