//! `emkern profile`: a tree-ensemble model measured on emulated Cortex-M boards.
//!
//! For a model (anything `emkern import` reads) and rows (CSV, as `emkern predict` reads them), it builds the
//! firmware in `boards/profile` once per engine and once without any (the baseline), runs each engine's image
//! under QEMU with `-icount`, and reports per engine: instructions per prediction (mean and max over the rows),
//! the flash the engine adds to the baseline image (the model's part and the rest), the static RAM it adds, the
//! stack it used, and the largest difference from the host's predictions of the same rows through the same blob.
//!
//! Engines: `blob` (the core's `Forest` over the `.emk` blob, validated once at start-up), `compact` (the core's
//! `CompactForest` over the model written in the compact layout, validated once at start-up without the CRC-32,
//! `new_without_checksum`, and predicting through the model's transform named as a type, `predict_with`: what a
//! firmware built for one model links; when the model does not fit the compact layout the engine reports the
//! writer's reason), `compact-prevalidated` (the same, but the blob is validated here with `CompactForest::new`
//! and the image calls `new_unchecked`: no validation code, as in a firmware whose model `emkern-build` embeds),
//! `int` (the core's `IntForest` over the model written as an integer `.emki` blob: integer
//! compares and fixed-point sums, no soft-float, for cores without an FPU; refused with a reason for models
//! outside its scope), `rust` (the model as
//! code from `emkern codegen --lang rust`), `c` (`emkern codegen --lang c` compiled by `arm-none-eabi-gcc -O2`
//! and linked into the firmware, with newlib's `libm` for the transform's `expf`). When codegen refuses a model
//! (e.g. the weighted-median aggregate) that engine reports why and the others still run.
//!
//! Flash: `text + data` of the image (as `size` counts) minus the baseline's. The model's part is the blob for
//! the blob, compact and int engines, and for the generated engines the generated functions and tables plus the growth of the
//! engine's entry point (into which the compiler may inline the trees); the runtime is the rest (the
//! interpreter and its validation, or what the generated code pulls in: `exp`, soft-float routines, newlib's
//! `errno`). RAM: `data + bss` minus the baseline's. Stack: the high-water mark below the caller of a
//! prediction (or of the start-up), painted and scanned by the firmware.
//!
//! The command needs the emkern source tree (it builds `boards/profile` with cargo): it finds it where this
//! binary was built from, or at `EMKERN_ROOT`. It installs nothing: QEMU, the Rust target and (for `c`)
//! `arm-none-eabi-gcc` with newlib are checked first, and a missing one is an error naming the command that
//! installs it. Module map: [`target`] (boards), [`tools`] (checks), [`inputs`] (model, rows, host
//! predictions, generated sources), [`firmware`] (input directories and builds), [`elf`] (sizes), [`qemu`]
//! (runs), [`report`] (table and JSON). The command line
//! (`cli/profile.rs`) fills in a [`Config`].

pub mod elf;
pub mod firmware;
pub mod footprint;
pub mod inputs;
pub mod int16;
pub mod qemu;
pub mod report;
pub mod target;
pub mod tools;

use std::path::{Path, PathBuf};

use crate::export::codegen::Lang;
use firmware::{Build, InputFiles};
use inputs::Inputs;
use report::{EngineReport, Figures};
pub use target::Target;

/// An engine `emkern profile` measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// The blob interpreter.
    Blob,
    /// The compact-layout interpreter.
    Compact,
    /// The compact-layout interpreter over a blob validated on the host when the firmware was built
    /// (`CompactForest::new_unchecked`: no validation code in the image), as `emkern-build` embeds a model.
    CompactPrevalidated,
    /// The integer engine.
    Int,
    /// Generated Rust.
    Rust,
    /// Generated C.
    C,
}

impl Engine {
    /// Every engine, in report order.
    pub const ALL: [Engine; 6] = [
        Engine::Blob,
        Engine::Compact,
        Engine::CompactPrevalidated,
        Engine::Int,
        Engine::Rust,
        Engine::C,
    ];

    /// The engine's name.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Blob => "blob",
            Engine::Compact => "compact",
            Engine::CompactPrevalidated => "compact-prevalidated",
            Engine::Int => "int",
            Engine::Rust => "rust",
            Engine::C => "c",
        }
    }

    /// Parses an engine name; unknown names are errors for people.
    pub fn from_name(name: &str) -> Result<Engine, String> {
        match name {
            "blob" => Ok(Engine::Blob),
            "compact" => Ok(Engine::Compact),
            "compact-prevalidated" => Ok(Engine::CompactPrevalidated),
            "int" => Ok(Engine::Int),
            "rust" => Ok(Engine::Rust),
            "c" => Ok(Engine::C),
            _ => Err(format!(
                "--engine {name}: unknown engine (one of blob, compact, compact-prevalidated, int, rust, c)"
            )),
        }
    }

    /// The firmware's cargo feature.
    fn feature(self) -> &'static str {
        match self {
            Engine::Blob => "engine-blob",
            Engine::Compact | Engine::CompactPrevalidated => "engine-compact",
            Engine::Int => "engine-int",
            Engine::Rust => "engine-rust",
            Engine::C => "engine-c",
        }
    }
}

/// What to profile.
#[derive(Clone, Debug)]
pub struct Config {
    /// The model file.
    pub model: PathBuf,
    /// The rows (CSV).
    pub input: PathBuf,
    /// The board.
    pub target: Target,
    /// The engines, in report order, without repeats.
    pub engines: Vec<Engine>,
    /// The emkern source tree.
    pub root: PathBuf,
}

/// The emkern source tree: `EMKERN_ROOT`, else the checkout this binary was built from; it must hold the
/// profiling firmware.
pub fn source_root() -> Result<PathBuf, String> {
    let (root, how) = match std::env::var_os("EMKERN_ROOT") {
        Some(r) => (PathBuf::from(r), "EMKERN_ROOT"),
        None => (
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            "the checkout emkern was built from",
        ),
    };
    let manifest = root.join("boards/profile/Cargo.toml");
    if !manifest.is_file() {
        return Err(format!(
            "emkern profile needs the emkern source tree (it builds boards/profile): {} is not found ({how}); \
             set EMKERN_ROOT to a checkout",
            manifest.display()
        ));
    }
    Ok(root)
}

/// Runs the profile; `progress` receives one line per step.
pub fn run(config: &Config, progress: &mut dyn FnMut(&str)) -> Result<Vec<EngineReport>, String> {
    let target = config.target;
    // Tools first: nothing is built when one is missing.
    let qemu = tools::qemu(target)?;
    let c_toolchain = if config.engines.contains(&Engine::C) {
        Some(tools::c_toolchain(target)?)
    } else {
        None
    };
    tools::rust_target(target)?;

    let inputs = inputs::load(&config.model, &config.input)?;
    if let Some(w) = &inputs.warning {
        progress(w);
    }
    inputs::check_fits(&inputs, target.flash_bytes(), target.machine())?;

    let target_dir = config.root.join("target").join("emkern-profile");
    let mut common = InputFiles::default();
    common.add("config.rs", inputs.config_rs());
    common.add("rows.bin", inputs.row_bytes());
    let mut run = ProfileRun {
        config,
        input_base: target_dir.join("inputs"),
        target_dir,
        qemu,
        c_toolchain,
        inputs,
        common,
        baseline: elf::Sizes::default(),
    };

    progress(&format!(
        "building the baseline firmware (no model) for {} ({})",
        target.name(),
        target.triple()
    ));
    let baseline_elf = run.build("baseline", &run.common, Vec::new())?;
    run.baseline = elf::read(&baseline_elf)?;

    let origin = crate::io::file_name(&config.model);
    let mut reports = Vec::new();
    for &engine in &config.engines {
        let source = match engine {
            Engine::Blob => Ok(String::new()),
            Engine::Compact | Engine::CompactPrevalidated => run
                .inputs
                .compact
                .as_ref()
                .map(|_| String::new())
                .map_err(|why| format!("the model does not fit the compact layout: {why}")),
            Engine::Int => run
                .inputs
                .int_blob
                .as_ref()
                .map(|_| String::new())
                .map_err(Clone::clone),
            Engine::Rust => inputs::generate(&run.inputs, Lang::Rust, &origin),
            Engine::C => inputs::generate(&run.inputs, Lang::C, &origin),
        };
        let outcome = match source {
            Err(why) => {
                progress(&format!("engine {}: not run: {why}", engine.name()));
                Err(why)
            }
            Ok(source) => Ok(run.measure(engine, source, progress)?),
        };
        reports.push(EngineReport {
            engine: engine.name(),
            target,
            rows: run.inputs.rows,
            outcome,
        });
    }
    Ok(reports)
}

/// The state of one profile run.
struct ProfileRun<'a> {
    config: &'a Config,
    target_dir: PathBuf,
    /// Where the content-addressed input directories go.
    input_base: PathBuf,
    qemu: PathBuf,
    c_toolchain: Option<tools::CToolchain>,
    inputs: Inputs,
    /// The inputs every image has (`config.rs`, `rows.bin`).
    common: InputFiles,
    /// The sizes of the image without an engine.
    baseline: elf::Sizes,
}

impl ProfileRun<'_> {
    /// Writes `files` into their input directory and builds the image with `features` (and the target's);
    /// returns the image.
    fn build(
        &self,
        label: &str,
        files: &InputFiles,
        mut features: Vec<&'static str>,
    ) -> Result<PathBuf, String> {
        let target = self.config.target;
        let dir = files.write(
            &self.input_base,
            &format!("{}-{label}", target.name()),
            target.triple(),
        )?;
        features.extend_from_slice(target.features());
        Build {
            root: &self.config.root,
            target_dir: &self.target_dir,
            target,
            features,
            inputs: &dir,
        }
        .run()
    }

    /// Builds, runs and sizes one engine's image; `source` is the generated source (empty for the blob and
    /// compact engines).
    fn measure(
        &self,
        engine: Engine,
        source: String,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Figures, String> {
        let target = self.config.target;
        let inputs = &self.inputs;
        let mut files = self.common.clone();
        let mut features = vec![engine.feature()];
        match engine {
            Engine::Blob => {
                files.add("model.emk", inputs.blob.clone());
                if inputs.weighted_median {
                    features.push("weighted-median");
                }
            }
            Engine::Compact | Engine::CompactPrevalidated => {
                if engine == Engine::CompactPrevalidated {
                    features.push("prevalidated");
                }
                let (bytes, transform) = inputs.compact.clone()?;
                files.add("model.emkc", bytes);
                files.add("compact.rs", inputs::compact_rs(transform));
            }
            Engine::Int => {
                let blob = inputs.int_blob.as_ref().map_err(Clone::clone)?;
                // The softmax tables and division only for a softmax model (emkern's `int-softmax`).
                if blob.get(35) == Some(&(emkern::forest::Transform::Softmax as u8)) {
                    features.push("int-softmax");
                }
                // The leaf-table walk only for a blob with one (version 2, `n_rows` at byte 40 not zero).
                if blob.get(4) == Some(&2) && blob.get(40..44).is_some_and(|n| n != [0; 4]) {
                    features.push("int-vector-leaves");
                }
                files.add("model.emki", blob.clone());
            }
            Engine::Rust => files.add("model.rs", source),
            Engine::C => {
                let tc = self
                    .c_toolchain
                    .as_ref()
                    .ok_or("engine c without a C toolchain")?;
                // The object goes into the content-addressed directory of the C sources and the compiler, and is
                // listed with newlib's archives for the firmware's build script.
                let mut sources = InputFiles::default();
                sources.add("model.h", source);
                sources.add("engine.c", inputs::c_wrapper());
                let salt = format!("{} {:?}", tc.gcc.display(), target.cflags());
                let dir = sources.write(
                    &self.input_base,
                    &format!("{}-c-object", target.name()),
                    &salt,
                )?;
                progress(&format!(
                    "compiling the generated C: {} {} -O2",
                    tc.gcc.display(),
                    target.cflags().join(" ")
                ));
                let object = firmware::compile_c(&tc.gcc, target, &dir)?;
                let mut list = format!("{}\n", object.display());
                for lib in &tc.libraries {
                    list.push_str(&format!("{}\n", lib.display()));
                }
                files.add("link.txt", list);
            }
        }
        progress(&format!(
            "building engine {} for {}",
            engine.name(),
            target.name()
        ));
        let elf_path = self.build(engine.name(), &files, features)?;
        let sizes = elf::read(&elf_path)?;
        progress(&format!(
            "running engine {} on {} ({}), {} rows",
            engine.name(),
            target.machine(),
            target.core(),
            inputs.rows
        ));
        let measured = qemu::run(&self.qemu, target, &elf_path, inputs.output_len)?;
        if measured.engine != engine.name() || measured.instructions.len() != inputs.rows {
            return Err(format!(
                "{}: the firmware reported engine `{}` with {} rows, expected `{}` with {}",
                elf_path.display(),
                measured.engine,
                measured.instructions.len(),
                engine.name(),
                inputs.rows
            ));
        }
        let baseline = &self.baseline;
        let flash = sizes.flash().saturating_sub(baseline.flash());
        const ENTRY: &str = "emkern_profile_predict";
        let entry_growth = sizes
            .symbol_bytes(|s| s == ENTRY)
            .saturating_sub(baseline.symbol_bytes(|s| s == ENTRY));
        let model = match engine {
            Engine::Blob => inputs.blob.len() as u64,
            Engine::Compact | Engine::CompactPrevalidated => {
                inputs.compact.as_ref().map_or(0, |(b, _)| b.len() as u64)
            }
            Engine::Int => inputs.int_blob.as_ref().map_or(0, |b| b.len() as u64),
            Engine::Rust => sizes.symbol_bytes(|s| s.contains("generated_model")) + entry_growth,
            Engine::C => {
                sizes.symbol_bytes(|s| {
                    s.starts_with(inputs::C_NAME) || s == "emkern_profile_c_predict"
                }) + entry_growth
            }
        }
        .min(flash);
        let total: u64 = measured.instructions.iter().sum();
        Ok(Figures {
            instructions_mean: (total as f64 / inputs.rows as f64 * 10.0).round() / 10.0,
            instructions_max: measured.instructions.iter().copied().max().unwrap_or(0),
            flash_bytes: flash,
            model_bytes: model,
            runtime_bytes: flash - model,
            ram_bytes: sizes.ram().saturating_sub(baseline.ram()),
            stack_bytes: measured.stack.max(measured.init_stack),
            max_abs_diff: report::max_abs_diff(&measured.outputs, &inputs.host),
            int16: match (engine, &inputs.int_blob) {
                (Engine::Int, Ok(blob)) => {
                    Some(int16::agreement(blob, &inputs.values, inputs.n_features)?)
                }
                _ => None,
            },
        })
    }
}
