//! `emkern inspect MODEL --target T`: what the model costs a firmware on that board, measured from a link and a
//! run (the profiler's firmware, on synthetic rows), not estimated: flash (the model and the library code it
//! links) and static RAM per layout engine, the stack of a prediction measured by painting, and the worst-case
//! bound in node visits; then the choice of a measured cost model: the layout with the fewest instructions per
//! prediction at most, then the least flash.

use std::path::Path;

use super::report::EngineReport;
use super::{Config, Engine, Target};

/// Rows that reach many paths without the user's data: zeros, all missing, large values of both signs, and
/// pseudo-random values in `[-3, 3)` (xorshift, fixed seed).
pub fn synthetic_rows(n_features: usize) -> String {
    let mut s = String::new();
    let mut state = 0x2545_F491_u32;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state >> 8) as f32 / (1u32 << 24) as f32 * 6.0 - 3.0
    };
    for value in ["0", "nan", "1e30", "-1e30"] {
        s.push_str(&vec![value; n_features].join(","));
        s.push('\n');
    }
    for _ in 0..12 {
        let row: Vec<String> = (0..n_features).map(|_| format!("{}", next())).collect();
        s.push_str(&row.join(","));
        s.push('\n');
    }
    s
}

/// The footprint section of `inspect --target`: runs the blob, compact and integer engines (those the model
/// fits) on `target` over [`synthetic_rows`] and formats what they measured. `worst_case_visits` is the
/// model's bound in node visits per prediction.
pub fn report(
    model: &Path,
    n_features: usize,
    worst_case_visits: u64,
    target: Target,
    root: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<String, String> {
    let dir = root.join("target/emkern-profile");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let input = dir.join(format!("inspect-rows-{}.csv", std::process::id()));
    std::fs::write(&input, synthetic_rows(n_features))
        .map_err(|e| format!("{}: {e}", input.display()))?;
    let config = Config {
        model: model.to_path_buf(),
        input: input.clone(),
        target,
        engines: vec![Engine::Blob, Engine::Compact, Engine::Int],
        root: root.to_path_buf(),
    };
    let reports = super::run(&config, progress);
    let _ = std::fs::remove_file(&input);
    Ok(format(target, worst_case_visits, &reports?))
}

/// The section's text.
fn format(target: Target, worst_case_visits: u64, reports: &[EngineReport]) -> String {
    let mut s = format!(
        "\nfootprint on {} ({}, QEMU {}), measured from a link and a run of the profiling firmware on {} \
         synthetic rows:\n",
        target.name(),
        target.core(),
        target.machine(),
        reports.first().map_or(0, |r| r.rows)
    );
    s.push_str(&format!(
        "  {:<8} {:>9} {:>9} {:>9} {:>7} {:>7} {:>10}\n",
        "layout", "flash", "model", "library", "RAM", "stack", "instr max"
    ));
    for r in reports {
        match &r.outcome {
            Ok(f) => s.push_str(&format!(
                "  {:<8} {:>9} {:>9} {:>9} {:>7} {:>7} {:>10}\n",
                r.engine,
                f.flash_bytes,
                f.model_bytes,
                f.runtime_bytes,
                f.ram_bytes,
                f.stack_bytes,
                f.instructions_max
            )),
            Err(why) => s.push_str(&format!("  {:<8} does not apply: {why}\n", r.engine)),
        }
    }
    s.push_str(&choice(target, reports));
    s.push_str(&format!(
        "  bytes; stack: the most a prediction (or loading the model) used, measured by painting the stack; \
         worst case: {worst_case_visits} node visits per prediction (the bound is the model's, for every row; \
         `emkern profile --input ROWS` measures instructions on your rows)\n"
    ));
    s
}

/// How a firmware embeds a layout.
fn embedding(engine: &str) -> &'static str {
    match engine {
        "blob" => "`emkern import MODEL -o model.emk`, `Forest::new` + `predict`",
        "compact" => {
            "`emkern import MODEL --layout compact`, `CompactForest::new_without_checksum` + `predict_with` \
             (or `emkern-build`'s `model_forest()`, validated when the firmware is built: less library code)"
        }
        "int" => "`emkern import MODEL --layout int`, `IntForest::new` + `predict`",
        _ => "",
    }
}

/// The measured cost model's line: of the layouts that ran, the one with the fewest instructions per prediction
/// at most, then the least flash, and how to embed it.
fn choice(target: Target, reports: &[EngineReport]) -> String {
    let best = reports
        .iter()
        .filter_map(|r| r.outcome.as_ref().ok().map(|f| (r.engine, f)))
        .min_by_key(|(_, f)| (f.instructions_max, f.flash_bytes));
    let Some((engine, f)) = best else {
        return "  choice: none of the layouts runs this model on this board\n".into();
    };
    let others: Vec<String> = reports
        .iter()
        .filter(|r| r.engine != engine)
        .filter_map(|r| {
            r.outcome
                .as_ref()
                .ok()
                .map(|o| format!("{} {}", r.engine, o.instructions_max))
        })
        .collect();
    let against = if others.is_empty() {
        String::new()
    } else {
        format!(" against {}", others.join(", "))
    };
    let fpu = if engine == "int" && !target.has_fpu() {
        " (this core has no FPU: the integer layout links no soft-float routine)"
    } else {
        ""
    };
    let code = if target.has_fpu() {
        "Generated code (`emkern codegen`) is usually faster again when the model may be code rather than data"
    } else {
        "Generated code (`emkern codegen`) compares floats in software on this core"
    };
    format!(
        "  choice: {engine}: the fewest instructions per prediction at most ({}{against}), then the least flash{fpu}; \
         embed it with {}. {code}: `emkern profile MODEL --engine c` measures it.\n",
        f.instructions_max,
        embedding(engine)
    )
}
