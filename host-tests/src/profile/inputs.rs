//! What the firmware embeds: the model's blob, the rows (from the CSV file, read as `emkern predict` reads
//! them), the host's own predictions of those rows, and the generated sources of the codegen engines.

use std::path::Path;

use emkern::forest::{Aggregate, Transform};

use crate::export::codegen::{self, Lang};
use crate::{describe, f64_inputs, model};

/// At most this many rows are embedded: enough for stable figures, and small enough for the micro:bit's
/// 256 KiB of flash with a model of tens of features.
pub const MAX_ROWS: usize = 1000;

/// Flash the profiling harness itself needs (code, semihosting output, formatting), kept free when checking
/// that the model and the rows fit the board.
pub const HARNESS_FLASH: u64 = 32 << 10;

/// The prepared inputs.
#[derive(Clone, Debug)]
pub struct Inputs {
    /// The model's blob (what the blob engine reads, and what the codegen engines were generated from).
    pub blob: Vec<u8>,
    /// The model in the compact layout and its transform, or why it does not fit (the writer's reason).
    pub compact: Result<(Vec<u8>, Transform), String>,
    /// The model as an integer blob (the `int` engine's), or why it does not fit that layout.
    pub int_blob: Result<Vec<u8>, String>,
    /// Whether the blob uses the weighted-median aggregate (the firmware then needs emkern's feature).
    pub weighted_median: bool,
    /// Features a row holds.
    pub n_features: usize,
    /// Values a prediction writes.
    pub output_len: usize,
    /// Number of rows.
    pub rows: usize,
    /// The rows, `rows × n_features` f32, row-major.
    pub values: Vec<f32>,
    /// The host's predictions of the rows (`rows × output_len`), through the same blob.
    pub host: Vec<f32>,
    /// A warning about the rows for people (cells an f32 cannot place exactly), if any.
    pub warning: Option<String>,
}

impl Inputs {
    /// The rows as the firmware reads them: little-endian f32.
    pub fn row_bytes(&self) -> Vec<u8> {
        self.values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// The constants the firmware is compiled with (`config.rs`).
    pub fn config_rs(&self) -> String {
        format!(
            "/// Features a row holds.\npub const N_FEATURES: usize = {};\n\
             /// Values a prediction writes.\npub const OUTPUT_LEN: usize = {};\n\
             /// Rows embedded.\npub const ROWS: usize = {};\n",
            self.n_features, self.output_len, self.rows
        )
    }
}

/// Loads `model` (any format `emkern import` reads) and the rows of `input`, and predicts them on the host.
pub fn load(model_path: &Path, input: &Path) -> Result<Inputs, String> {
    let loaded = model::load(model_path).map_err(|e| e.to_string())?;
    let forest = describe::open_blob(model_path, &loaded.blob)?;
    let mapped = f64_inputs::read_csv(input, &loaded).map_err(|e| e.to_string())?;
    let warning = mapped.warning(input);
    let table = mapped.table;
    if table.rows == 0 {
        return Err(format!("{}: no data rows", input.display()));
    }
    if table.rows > MAX_ROWS {
        return Err(format!(
            "{}: {} rows; the firmware embeds at most {MAX_ROWS} (keep the first {MAX_ROWS})",
            input.display(),
            table.rows
        ));
    }
    let nf = forest.n_features();
    crate::io::check_columns(input, table.columns.len(), nf)?;
    let output_len = forest.output_len();
    let mut values = Vec::with_capacity(table.rows * nf);
    let mut host = vec![0.0f32; table.rows * output_len];
    for (r, out) in host.chunks_exact_mut(output_len.max(1)).enumerate() {
        let row = &table.row(r)[..nf];
        values.extend_from_slice(row);
        forest
            .predict(row, out)
            .map_err(|e| format!("{}: row {}: {e}", input.display(), r + 1))?;
    }
    // The same model, so the same transform as the general blob's.
    let compact = crate::export::compact::write_from_blob(&loaded.blob)
        .map_err(|e| e.to_string())
        .and_then(|bytes| {
            validate_compact(&bytes)?;
            Ok((bytes, forest.transform()))
        });
    let int_blob = match &loaded.ensemble {
        Some(e) => crate::export::int::write(e)
            .map_err(|why| format!("the model does not fit the integer layout: {why}")),
        None => Err("the integer engine needs the model file, not an .emk blob".into()),
    };
    Ok(Inputs {
        compact,
        int_blob,
        weighted_median: forest.aggregate() == Aggregate::WeightedMedian,
        blob: loaded.blob.clone(),
        n_features: nf,
        output_len,
        rows: table.rows,
        values,
        host,
        warning,
    })
}

/// Checks that the model and the rows leave room for the harness in the board's flash.
pub fn check_fits(inputs: &Inputs, flash: u64, board: &str) -> Result<(), String> {
    let rows = (inputs.values.len() * 4) as u64;
    let model = inputs.blob.len() as u64;
    if rows + model + HARNESS_FLASH > flash {
        return Err(format!(
            "{} rows of {} features ({rows} bytes) and the model ({model} bytes) do not fit the {} KiB of flash \
             of {board} with the harness (about {} KiB): use fewer rows",
            inputs.rows,
            inputs.n_features,
            flash >> 10,
            HARNESS_FLASH >> 10
        ));
    }
    Ok(())
}

/// Validates a compact blob with the reader the firmware uses (`CompactForest::new`, CRC-32 included), as
/// `emkern-build` does: the `compact-prevalidated` engine's image skips validation on the strength of this.
fn validate_compact(bytes: &[u8]) -> Result<(), String> {
    // The reader needs 4-byte alignment: a copy at a 4-aligned offset of a slightly larger buffer.
    let mut buf = vec![0u8; bytes.len() + 3];
    let off = buf.as_ptr().align_offset(4).min(3);
    let copy = &mut buf[off..off + bytes.len()];
    copy.copy_from_slice(bytes);
    emkern::forest::CompactForest::new(copy)
        .map(|_| ())
        .map_err(|e| format!("the compact blob failed validation: {e}"))
}

/// The compact engine's `compact.rs`: the model's transform as the type `predict_with` takes.
pub fn compact_rs(t: Transform) -> String {
    let name = match t {
        Transform::Sigmoid => "Sigmoid",
        Transform::Softmax => "Softmax",
        Transform::ArgMax => "ArgMax",
        Transform::Exp => "Exp",
        _ => "Identity",
    };
    format!(
        "/// The model's output transform (`CompactForest::predict_with` links only its code).
         pub type ModelTransform = emkern::forest::compact::{name};
"
    )
}

/// The identifier prefix of the generated C (its functions are `emkern_model_*`).
pub const C_NAME: &str = "emkern_model";

/// The generated source of the model for `lang`, or why codegen refuses the model.
pub fn generate(inputs: &Inputs, lang: Lang, origin: &str) -> Result<String, String> {
    let name = match lang {
        Lang::C => C_NAME,
        Lang::Rust => "generated_model",
    };
    codegen::generate(&inputs.blob, lang, name, origin).map_err(|e| e.to_string())
}

/// The C file compiled with the generated header: the entry point the firmware calls.
pub fn c_wrapper() -> String {
    format!(
        "/* The entry point of the profiling firmware's C engine (generated by emkern profile). */\n\
         #include \"model.h\"\n\n\
         void emkern_profile_c_predict(const float *row, float *out);\n\n\
         void emkern_profile_c_predict(const float *row, float *out) {{\n\
         \x20   {C_NAME}_predict(row, out);\n\
         }}\n"
    )
}
