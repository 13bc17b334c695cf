//! The output transforms as types, for [`CompactForest::predict_with`](super::CompactForest::predict_with): a
//! firmware that names its model's transform links that transform's code alone (identity links none, argmax a
//! loop, sigmoid, softmax and exp libm's `expf`). Each applies the shared transform code of the general layout,
//! so the predictions are the same bit for bit.

use crate::forest::Transform;

/// An output transform chosen at compile time. Implemented by [`Identity`], [`Sigmoid`], [`Softmax`],
/// [`ArgMax`] and [`Exp`] (the compact layout's five); not meant to be implemented elsewhere.
pub trait CompactTransform {
    /// The transform the type stands for.
    const TRANSFORM: Transform;
}

/// The margins as they are ([`Transform::Identity`]).
#[derive(Clone, Copy, Debug)]
pub struct Identity;
/// `1 / (1 + e^-m)` per column ([`Transform::Sigmoid`]).
#[derive(Clone, Copy, Debug)]
pub struct Sigmoid;
/// The softmax of the columns ([`Transform::Softmax`]).
#[derive(Clone, Copy, Debug)]
pub struct Softmax;
/// The index of the largest margin, as one f32 ([`Transform::ArgMax`]).
#[derive(Clone, Copy, Debug)]
pub struct ArgMax;
/// `e^m` per column ([`Transform::Exp`]).
#[derive(Clone, Copy, Debug)]
pub struct Exp;

impl CompactTransform for Identity {
    const TRANSFORM: Transform = Transform::Identity;
}
impl CompactTransform for Sigmoid {
    const TRANSFORM: Transform = Transform::Sigmoid;
}
impl CompactTransform for Softmax {
    const TRANSFORM: Transform = Transform::Softmax;
}
impl CompactTransform for ArgMax {
    const TRANSFORM: Transform = Transform::ArgMax;
}
impl CompactTransform for Exp {
    const TRANSFORM: Transform = Transform::Exp;
}
