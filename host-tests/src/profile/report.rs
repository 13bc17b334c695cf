//! The per-engine results of `emkern profile`: as a text table for people and as JSON.

use super::target::Target;

/// One engine's results on one target.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineReport {
    /// `blob`, `rust` or `c`.
    pub engine: &'static str,
    /// The target's name.
    pub target: Target,
    /// Rows predicted.
    pub rows: usize,
    /// What was measured, or why the engine could not run (codegen refused the model).
    pub outcome: Result<Figures, String>,
}

/// What an engine measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    /// Instructions per prediction, mean over the rows.
    pub instructions_mean: f64,
    /// Instructions per prediction, largest over the rows.
    pub instructions_max: u64,
    /// Flash the engine adds to the baseline image (`model_bytes + runtime_bytes`).
    pub flash_bytes: u64,
    /// The model's part of it: the blob (blob engine), or the generated code and tables.
    pub model_bytes: u64,
    /// The rest: the interpreter, or the support the generated code pulls in (transform, float routines).
    pub runtime_bytes: u64,
    /// Static RAM (`.data` + `.bss`) the engine adds to the baseline image.
    pub ram_bytes: u64,
    /// Stack used by start-up and by a prediction (the larger), measured.
    pub stack_bytes: u64,
    /// Largest `|device − host|` over every predicted value (∞ when a NaN is on one side only).
    pub max_abs_diff: f64,
    /// For the integer engine: how its int16-quantized rows agree with the f32 rows (host-side; printed under
    /// the table, not a JSON key).
    pub int16: Option<Agreement>,
}

/// How the integer engine's int16-quantized rows agree with its f32 rows ([`super::int16::agreement`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Agreement {
    /// The scale: values are `q · 2^-exp`.
    pub exp: i32,
    /// Rows compared.
    pub rows: usize,
    /// Rows whose every output is bit-identical to the f32 row's.
    pub identical: usize,
    /// The largest absolute difference between an output of a quantized row and of its f32 row.
    pub max_abs_diff: f64,
}

/// The keys of a JSON object, in output order.
pub const JSON_KEYS: [&str; 11] = [
    "engine",
    "target",
    "rows",
    "instructions_mean",
    "instructions_max",
    "flash_bytes",
    "model_bytes",
    "runtime_bytes",
    "ram_bytes",
    "stack_bytes",
    "max_abs_diff",
];

/// One report as a JSON object with the keys of [`JSON_KEYS`], in that order.
struct JsonObject<'a>(&'a EngineReport);

impl serde::Serialize for JsonObject<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let r = self.0;
        let f = r.outcome.as_ref().ok();
        let mut map = serializer.serialize_map(Some(JSON_KEYS.len()))?;
        map.serialize_entry("engine", r.engine)?;
        map.serialize_entry("target", r.target.name())?;
        map.serialize_entry("rows", &r.rows)?;
        map.serialize_entry("instructions_mean", &f.map(|f| f.instructions_mean))?;
        map.serialize_entry("instructions_max", &f.map(|f| f.instructions_max))?;
        map.serialize_entry("flash_bytes", &f.map(|f| f.flash_bytes))?;
        map.serialize_entry("model_bytes", &f.map(|f| f.model_bytes))?;
        map.serialize_entry("runtime_bytes", &f.map(|f| f.runtime_bytes))?;
        map.serialize_entry("ram_bytes", &f.map(|f| f.ram_bytes))?;
        map.serialize_entry("stack_bytes", &f.map(|f| f.stack_bytes))?;
        map.serialize_entry(
            "max_abs_diff",
            &f.and_then(|f| f.max_abs_diff.is_finite().then_some(f.max_abs_diff)),
        )?;
        map.end()
    }
}

/// The JSON array: one object per engine with exactly the keys of [`JSON_KEYS`]. An engine that could not run
/// has `null` figures (the reason goes to standard error); an infinite difference is `null` too.
pub fn json(reports: &[EngineReport]) -> String {
    let items: Vec<JsonObject> = reports.iter().map(JsonObject).collect();
    let mut text = serde_json::to_string_pretty(&items).unwrap_or_default();
    text.push('\n');
    text
}

/// The table for people: a header naming the model, the board and the rows, then one line per engine.
pub fn text(model: &str, target: Target, rows: usize, reports: &[EngineReport]) -> String {
    let mut s = format!(
        "{model} on {} ({}, QEMU {}, {}), {rows} rows\n\
         instructions per prediction (QEMU -icount: executed instructions, not cycles); flash and RAM over the \
         image without a model\n\n",
        target.name(),
        target.core(),
        target.machine(),
        target.triple()
    );
    // The engine column as wide as its longest name.
    let w = reports
        .iter()
        .map(|r| r.engine.len())
        .chain([7])
        .max()
        .unwrap_or(7);
    s.push_str(&format!(
        "{:<w$} {:>12} {:>10} {:>10} {:>10} {:>10} {:>7} {:>7} {:>12}\n",
        "engine",
        "instr mean",
        "instr max",
        "flash",
        "model",
        "runtime",
        "RAM",
        "stack",
        "max |diff|"
    ));
    for r in reports {
        match &r.outcome {
            Ok(f) => s.push_str(&format!(
                "{:<w$} {:>12.1} {:>10} {:>10} {:>10} {:>10} {:>7} {:>7} {:>12}\n",
                r.engine,
                f.instructions_mean,
                f.instructions_max,
                f.flash_bytes,
                f.model_bytes,
                f.runtime_bytes,
                f.ram_bytes,
                f.stack_bytes,
                if f.max_abs_diff == 0.0 {
                    "0".to_string()
                } else {
                    format!("{:.3e}", f.max_abs_diff)
                }
            )),
            Err(why) => s.push_str(&format!("{:<w$} not run: {why}\n", r.engine)),
        }
    }
    for (r, a) in reports
        .iter()
        .filter_map(|r| Some((r, r.outcome.as_ref().ok()?.int16?)))
    {
        s.push_str(&format!(
            "\n{} with int16 rows (emlearn-style: x·2^{} rounded, one scale for every feature; `predict_i16`): {} \
             of {} rows identical to the f32 rows, max |diff| {:.3e}\n",
            r.engine, a.exp, a.identical, a.rows, a.max_abs_diff
        ));
    }
    s
}

/// The largest `|a − b|` over pairs of values: 0 for equal values and for two NaNs, ∞ for a NaN against a
/// number.
pub fn max_abs_diff(device: &[f32], host: &[f32]) -> f64 {
    device
        .iter()
        .zip(host)
        .map(|(&a, &b)| match (a.is_nan(), b.is_nan()) {
            (true, true) => 0.0,
            (false, false) if a == b => 0.0,
            (false, false) => (f64::from(a) - f64::from(b)).abs(),
            _ => f64::INFINITY,
        })
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_treat_nan_and_infinities() {
        assert_eq!(max_abs_diff(&[1.0, f32::NAN], &[1.0, f32::NAN]), 0.0);
        assert_eq!(max_abs_diff(&[f32::INFINITY], &[f32::INFINITY]), 0.0);
        assert_eq!(max_abs_diff(&[0.25, 2.0], &[0.5, 2.0]), 0.25);
        assert_eq!(max_abs_diff(&[f32::NAN], &[0.0]), f64::INFINITY);
    }
}
