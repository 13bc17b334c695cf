//! ISA-specific kernels, one folder per architecture. Each level is a zero-sized capability token whose only
//! safe constructor checks (at run time or at compile time) that the CPU has the instructions; its
//! [`Kernels`](crate::Kernels) methods are then sound to call.

#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
mod generic;

#[cfg(target_arch = "x86_64")]
pub mod x86_64;

#[cfg(target_arch = "aarch64")]
pub mod aarch64;

#[cfg(all(target_arch = "arm", feature = "helium"))]
pub mod arm;
