//! What `emkern train` writes once a model is trained, for every algorithm: the `.emk` blob (with the class
//! names of a classifier in its metadata, so `emkern eval` needs no `--classes`), and on request a Rust source
//! (`--rust`) and a C header (`--c-header`, with `--c-source` its C source) that embed the same bytes in
//! firmware, the model as C or Rust code (`--codegen`), and an XGBoost JSON model (`--xgboost-json`). Every file
//! goes through the command's planned [`Outputs`], which replace the targets only when the whole run succeeded.

use std::path::{Path, PathBuf};

use super::config::TrainConfig;
use super::dataset::Dataset;
use crate::export::blob::{self, BlobMetadata};
use crate::export::codegen::{self, Lang};
use crate::export::{source, xgboost_json};
use crate::ir::Ensemble;
use crate::output::Outputs;
use emkern::forest::Forest as CoreForest;

/// The files `req` writes, with their flags, for [`Outputs::plan`].
pub fn targets(req: &TrainConfig) -> Vec<(&'static str, &Path)> {
    let mut t = vec![("--output", req.output.as_path())];
    t.extend(req.rust.as_deref().map(|p| ("--rust", p)));
    t.extend(req.c_header.as_deref().map(|p| ("--c-header", p)));
    t.extend(req.c_source.as_deref().map(|p| ("--c-source", p)));
    t.extend(
        req.hist
            .xgboost_json
            .as_deref()
            .map(|p| ("--xgboost-json", p)),
    );
    t.extend(req.report.as_deref().map(|p| ("--report", p)));
    t.extend(req.codegen.chunks(2).filter_map(|pair| match pair {
        [_, file] => Some(("--codegen", Path::new(file.as_str()))),
        _ => None,
    }));
    t
}

/// The files `req` reads, with their flags, for [`Outputs::plan`].
pub fn inputs(req: &TrainConfig) -> Vec<(&'static str, &Path)> {
    let mut i = vec![("--data", req.data.as_path())];
    i.extend(req.valid.as_deref().map(|p| ("--valid", p)));
    i
}

/// Loads the blob about to be written to `req.output` in the core; an error names the file and what is wrong.
pub fn load_exported<'a>(req: &TrainConfig, bytes: &'a [u8]) -> Result<CoreForest<'a>, String> {
    CoreForest::new(bytes).map_err(|e| {
        format!(
            "{}: not written: the exported blob does not load: {}",
            req.output.display(),
            crate::describe::blob_error(bytes, e)
        )
    })
}

/// Writes `ensemble` (trained on `data`) to `req.output` and to the source files `req` asks for; returns the blob.
pub fn write_model(
    req: &TrainConfig,
    ensemble: &Ensemble,
    data: &Dataset,
    out: &Outputs,
) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let bytes = blob::write_with_metadata(ensemble, &metadata(data))?;
    out.write(&req.output, &bytes)?;
    let name = match &req.name {
        Some(n) => n.clone(),
        None if req.c_source.is_some() => codegen_name(&req.output),
        None => source_name(&req.output),
    };
    let origin = format!(
        "{} (`emkern train --algo {}`)",
        req.data
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        req.algo.id()
    );
    if let Some(p) = &req.rust {
        out.write(p, source::rust_source(&name, &bytes, &origin).as_bytes())?;
    }
    for (p, text) in source::c_files(
        &name,
        req.c_header.as_deref(),
        req.c_source.as_deref(),
        &bytes,
        &origin,
    )? {
        out.write(&p, text.as_bytes())?;
    }
    let code_name = codegen_name(&req.output);
    for (lang, p) in codegen_outputs(req)? {
        let text = codegen::generate(&bytes, lang, &code_name, &origin)
            .map_err(|e| format!("--codegen: {e}"))?;
        out.write(&p, text.as_bytes())?;
    }
    Ok(bytes)
}

/// The `--codegen LANG FILE` pairs of `req`, checked (called before training, so that a typo fails at once).
pub fn codegen_outputs(req: &TrainConfig) -> Result<Vec<(Lang, PathBuf)>, String> {
    req.codegen
        .chunks(2)
        .map(|pair| match pair {
            [lang, file] => Lang::from_name(lang)
                .map(|l| (l, PathBuf::from(file)))
                .ok_or_else(|| format!("--codegen {lang} {file}: the language is `c` or `rust`")),
            _ => Err("--codegen takes a language and a file: --codegen c model.h".to_string()),
        })
        .collect()
}

/// The prefix of `--codegen` sources: the blob file's stem as an identifier (`iris.emk` → `iris`), or `model`
/// when that is not a valid C/Rust name (a leading digit, a keyword).
pub fn codegen_name(output: &Path) -> String {
    let id = source::identifier(&source_name(output));
    if codegen::check_name(&id).is_ok() {
        id
    } else {
        "model".into()
    }
}

/// What `emkern train` stores in a blob besides the model: the class names of a classifier.
pub fn metadata(data: &Dataset) -> BlobMetadata {
    BlobMetadata {
        class_names: data.schema.classes.clone().unwrap_or_default(),
    }
}

/// The identifier base of the generated sources: the blob file's stem (`iris.emk` → `iris`), or `model`.
pub fn source_name(output: &Path) -> String {
    output
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "model".into())
}

/// Writes `e` (trained on `data`) as an XGBoost 3.x JSON model to `path` (`--xgboost-json`), through
/// [`xgboost_json::to_xgboost_semantics`], and prints how far the written model's predictions are from the
/// blob's on the training (and validation) rows: only the f32 rounding of leaves and sums differs.
pub fn write_xgboost_json(
    path: &Path,
    e: &Ensemble,
    data: &Dataset,
    valid: Option<&Dataset>,
    out: &Outputs,
) -> Result<(), String> {
    let x = xgboost_json::to_xgboost_semantics(e).map_err(|m| format!("--xgboost-json: {m}"))?;
    let json =
        xgboost_json::write(&x, &Default::default()).map_err(|m| format!("--xgboost-json: {m}"))?;
    out.write(path, json.as_bytes())?;
    let mut worst = 0.0f64;
    for d in std::iter::once(data).chain(valid) {
        for r in 0..d.n_rows {
            let row = d.row(r);
            let a = e.transform_reference(&e.margin_reference(&row));
            let b = x.transform_reference(&x.margin_reference(&row));
            for (a, b) in a.iter().zip(&b) {
                worst = worst.max((a - b).abs() / a.abs().max(1.0));
            }
        }
    }
    crate::say!(
        "  xgboost   {} (XGBoost 3.x JSON, {} trees; f32 leaves: max relative difference to the blob {worst:.1e})",
        path.display(),
        x.trees.len()
    );
    Ok(())
}
