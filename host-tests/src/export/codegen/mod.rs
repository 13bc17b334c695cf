//! Code generation: a tree ensemble as C99 or `no_std` Rust source, with every tree written as nested
//! `if`/`else` — the model compiled into the firmware instead of a blob read by the interpreter.
//!
//! The source is generated from the validated blob ([`model::Model::from_blob`]), so it holds exactly the values
//! the blob interpreter (`emkern::forest`) uses: the exporter's f32 thresholds (already rounded in the safe
//! direction for `<=` splits), leaves in the blob's precision, its category sets and linear leaves. The generated
//! code sums in the same precision and the same order as the interpreter, so the margins are bit-identical; the
//! output transforms call `libm` in Rust (the core's own functions: bit-identical) and the platform's `expf`/`exp`
//! in C (within a bound stated in the generated file).
//!
//! - [`c`]: one header with `static inline` functions (`NAME_predict`, `NAME_predict_margin`) and size macros.
//! - [`rust`]: a module with `N_FEATURES`, `N_OUTPUTS`, `OUTPUT_LEN`, `predict` and `predict_margin`.

pub mod c;
mod cond;
mod int_keys;
mod leaf_table;
mod literal;
pub mod model;
mod ranks;
pub mod rust;
mod walk;

use emkern::forest::BlobError;

/// The language of the generated source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// A `no_std` Rust module.
    Rust,
    /// A C99 header (`static inline` functions, `extern "C"` guards for C++).
    C,
}

impl Lang {
    /// Parses `rust` or `c`.
    pub fn from_name(name: &str) -> Option<Lang> {
        match name {
            "rust" => Some(Lang::Rust),
            "c" => Some(Lang::C),
            _ => None,
        }
    }
}

/// Whether the generated trees compare the row's floats or integers derived from them (`emkern codegen
/// --int-compare`): integer keys of the row, or (C compiled for size) the row's ranks among each feature's
/// thresholds. The decisions are the same in every form; integer keys take about half the code per test and,
/// on a core without an FPU, far fewer instructions than software float compares, for a few instructions per
/// feature and prediction to make the keys; ranks take about a third of a float test's code and store each
/// threshold once, for a binary search per feature and prediction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum IntCompare {
    /// Every form, chosen when the source is compiled. C: ranks when compiling for size (`-Os`/`-Oz`), else
    /// integer keys for software floating point (Arm `-mfloat-abi=soft`, RISC-V without F), else floats
    /// (`-DNAME_INT_COMPARE=0`, `1` or `2` chooses). Rust: integer keys for Arm targets without the hard-float
    /// ABI and RISC-V without F (Rust has no size `cfg`).
    #[default]
    Auto,
    /// Integer tests only (the size form). C: ranks when compiling for size, else keys; Rust: keys. An error
    /// for models whose tests cannot be keys: categorical sets, LightGBM's zero band, linear leaves, f64 values.
    Always,
    /// Float tests only.
    Never,
}

/// Why a model cannot be generated as source.
#[derive(Debug, Clone, PartialEq)]
pub enum CodegenError {
    /// The blob is not valid (the core's validation error).
    Blob(BlobError),
    /// The blob is valid for the core but not as this reader expects (message says what).
    Malformed(&'static str),
    /// The model uses something code generation does not support (yet): the message names it.
    Unsupported(String),
    /// The name is not a valid C and Rust identifier (message says why).
    Name(String),
}

impl std::fmt::Display for CodegenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CodegenError::Blob(e) => write!(f, "invalid model blob: {e}"),
            CodegenError::Malformed(m) => write!(f, "invalid model blob: {m}"),
            CodegenError::Unsupported(what) => {
                write!(f, "{what} is not supported by codegen yet")
            }
            CodegenError::Name(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for CodegenError {}

/// How far, in units in the last place of the f32 result, the generated C's `predict` may be from the core's
/// `predict`: 0 unless the transform calls `exp`, which C takes from the platform's libm (`expf`/`exp`) where the
/// core calls the Rust `libm` crate. The two are both faithful (each within 1 ulp of e^x), so they differ by at
/// most 1 ulp, and the transform carries that on:
///
/// - `exp` in f32, and every transform computed in f64 then rounded to f32 (f64 models with at most 32
///   columns): 1 ulp;
/// - sigmoid in f32: 4 ulp (`1 + e` doubles a 1-ulp step of `e` where it crosses 2^24, at margins near -16.6);
/// - softmax in f32: 8 ulp (the sum carries one step per class; at most 7 measured up to 100 classes).
///
/// The header comment states the model's bound; the codegen tests hold every model to it.
pub fn c_predict_bound_ulps(m: &model::Model) -> Result<u64, CodegenError> {
    let f64_transform = m.wide && m.n_outputs <= cond::CORE_CHUNK;
    Ok(match cond::Output::of(m.transform)? {
        cond::Output::Identity | cond::Output::ArgMax | cond::Output::HingeStep => 0,
        cond::Output::Exp => 1,
        cond::Output::Sigmoid if f64_transform => 1,
        cond::Output::Sigmoid => 4,
        cond::Output::Softmax if f64_transform => 1,
        cond::Output::Softmax => 8,
    })
}

/// Generates `lang` source for the model in `blob`, its C identifiers prefixed with `name`; `origin` (e.g. the
/// model file's name) goes into the header comment.
pub fn generate(blob: &[u8], lang: Lang, name: &str, origin: &str) -> Result<String, CodegenError> {
    generate_with(blob, lang, name, origin, IntCompare::Auto)
}

/// [`generate`] with the comparison form chosen ([`IntCompare`]).
pub fn generate_with(
    blob: &[u8],
    lang: Lang,
    name: &str,
    origin: &str,
    compare: IntCompare,
) -> Result<String, CodegenError> {
    check_name(name)?;
    let model = model::Model::from_blob(blob)?;
    let keys = match compare {
        IntCompare::Never => None,
        IntCompare::Auto => int_keys::KeyUse::of(&model),
        IntCompare::Always => Some(int_keys::KeyUse::of(&model).ok_or_else(|| {
            CodegenError::Unsupported(
                "--int-compare always on a model with categorical splits, LightGBM's zero band, linear leaves, \
                 f64 values or no split at all"
                    .into(),
            )
        })?),
    };
    let only_keys = compare == IntCompare::Always;
    match lang {
        Lang::C => c::source(&model, name, origin, keys, only_keys),
        Lang::Rust => rust::source(&model, name, origin, keys, only_keys),
    }
}

const C_KEYWORDS: &[&str] = &[
    "auto",
    "break",
    "case",
    "char",
    "const",
    "continue",
    "default",
    "do",
    "double",
    "else",
    "enum",
    "extern",
    "float",
    "for",
    "goto",
    "if",
    "inline",
    "int",
    "long",
    "register",
    "restrict",
    "return",
    "short",
    "signed",
    "sizeof",
    "static",
    "struct",
    "switch",
    "typedef",
    "union",
    "unsigned",
    "void",
    "volatile",
    "while",
    "alignas",
    "alignof",
    "bool",
    "constexpr",
    "false",
    "nullptr",
    "static_assert",
    "thread_local",
    "true",
    "typeof",
    "typeof_unqual",
];

const RUST_KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

/// Checks that `name` is a valid C and Rust identifier for the generated code: ASCII letters, digits and `_`,
/// not starting with a digit or `_` (C reserves file-scope names starting with `_`), and not a keyword.
pub fn check_name(name: &str) -> Result<(), CodegenError> {
    let bad = |why: &str| Err(CodegenError::Name(format!("name `{name}` {why}")));
    let Some(first) = name.chars().next() else {
        return bad("is empty: expected a C/Rust identifier such as `model`");
    };
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
    {
        return bad(&format!(
            "has `{c}`: a C/Rust identifier has only ASCII letters, digits and `_`"
        ));
    }
    if first.is_ascii_digit() {
        return bad("starts with a digit: a C/Rust identifier starts with a letter");
    }
    if first == '_' {
        return bad("starts with `_`: C reserves such names at file scope; start with a letter");
    }
    if C_KEYWORDS.contains(&name) || RUST_KEYWORDS.contains(&name) {
        return bad("is a C or Rust keyword");
    }
    Ok(())
}

/// `s` made safe inside a `/* */` or `//` comment: one line, no `*/`.
fn comment_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .replace("*/", "* /")
}
