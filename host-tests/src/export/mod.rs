//! Exporters from the [ensemble IR](crate::ir): the `.emk` blob, the compact `.emkc` blob, the integer `.emki` blob, source files that embed it in firmware, and
//! source files that are the model as code.

pub mod blob;
pub mod codegen;
pub mod compact;
pub mod int;
pub mod source;
pub mod xgboost_json;

use crate::ir::Ensemble;

/// Why an ensemble's shape is outside a layout's limits (each layout's writer names it in its own refusal).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ShapeLimit {
    /// No output column, or more than the layout holds.
    Outputs(u32),
    /// More features than the layout indexes.
    Features(u32),
    /// Not a valid ensemble at all (no feature, base margins that do not match the outputs or are not finite).
    Invalid(String),
}

/// Checks the shape every compact layout shares: `1 ..= max_outputs` columns, `1 ..= max_features` features,
/// one finite base margin per column.
pub(crate) fn check_shape(
    e: &Ensemble,
    max_outputs: usize,
    max_features: usize,
) -> Result<(), ShapeLimit> {
    if e.n_outputs == 0 || e.n_outputs as usize > max_outputs {
        return Err(ShapeLimit::Outputs(e.n_outputs));
    }
    if e.n_features == 0 {
        return Err(ShapeLimit::Invalid("a model of 0 features".into()));
    }
    if e.n_features as usize > max_features {
        return Err(ShapeLimit::Features(e.n_features));
    }
    if e.base_margin.len() != e.n_outputs as usize {
        return Err(ShapeLimit::Invalid(format!(
            "{} base margins for {} outputs",
            e.base_margin.len(),
            e.n_outputs
        )));
    }
    if let Some(k) = e.base_margin.iter().position(|m| !m.is_finite()) {
        return Err(ShapeLimit::Invalid(format!(
            "base margin {k} is not finite"
        )));
    }
    Ok(())
}
