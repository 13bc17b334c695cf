//! Speculative decoding on the host: the published [choice sets](choices) that build Medusa trees.

pub mod choices;
