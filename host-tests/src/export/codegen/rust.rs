//! The Rust generator: one `no_std` module (`mod model;` with the file as `src/model.rs`) with the size
//! constants, `predict` and `predict_margin`. Transforms that need `exp` call the `libm` crate — the functions the
//! core calls, so predictions are bit-identical too.

use std::fmt::Write;

use emkern::forest::Compare;

use super::cond::{self, CORE_CHUNK, CatForm, Cond, Output, ZERO};
use super::int_keys::{self, KeyUse};
use super::leaf_table::LeafTable;
use super::literal::{rust_f32, rust_f64};
use super::model::{Leaf, Linear, Model, Tree};
use super::ranks::{self, Form, Ranks, ScalarTable};
use super::walk::{self, Syntax};
use super::{CodegenError, comment_text};

/// The value type's Rust name and literal writer.
struct Values {
    wide: bool,
}

impl Values {
    fn ty(&self) -> &'static str {
        if self.wide { "f64" } else { "f32" }
    }
    /// A value already in the model's precision (widened to f64).
    fn lit(&self, v: f64) -> String {
        if self.wide {
            rust_f64(v)
        } else {
            rust_f32(v as f32)
        }
    }
    fn exp(&self) -> &'static str {
        if self.wide { "libm::exp" } else { "libm::expf" }
    }
    /// The expression `e` (a value of the model's type) as f32: `(e) as f32`, or `e` itself for f32 values.
    fn to_f32(&self, e: &str) -> String {
        match (self.wide, e.contains(' ')) {
            (false, _) => e.to_string(),
            (true, false) => format!("{e} as f32"),
            (true, true) => format!("({e}) as f32"),
        }
    }
}

struct TreeSyntax<'a> {
    model: &'a Model,
    tree: &'a Tree,
    t: usize,
    values: Values,
    /// Each leaf's row of the shared vector-leaf table (empty for scalar leaves).
    rows: &'a [usize],
    /// What the tests read.
    form: Form<'a>,
    /// In the rank form, each scalar leaf's index in its tree's value table.
    locals: &'a [usize],
}

impl TreeSyntax<'_> {
    fn cond(&self, c: Cond) -> String {
        match c {
            Cond::Numeric {
                feature,
                compare,
                threshold,
                nan_left,
                zero_band: None,
            } if !matches!(self.form, Form::Floats) => match self.form {
                Form::Ranks(r) => r.test(feature, compare, threshold, nan_left),
                _ => int_keys::test(feature, compare, threshold, nan_left),
            },
            Cond::Numeric {
                feature,
                compare,
                threshold,
                nan_left,
                zero_band,
            } => {
                let x = format!("x[{feature}]");
                let t = rust_f32(threshold);
                let base = match (compare, nan_left) {
                    (Compare::Less, false) => format!("{x} < {t}"),
                    (Compare::Less, true) => format!("!({x} >= {t})"),
                    (Compare::LessEqual, false) => format!("{x} <= {t}"),
                    (Compare::LessEqual, true) => format!("!({x} > {t})"),
                };
                let band = || format!("({x} >= {} && {x} <= {})", rust_f32(-ZERO), rust_f32(ZERO));
                match zero_band {
                    None => base,
                    Some(true) => format!("{base} || {}", band()),
                    Some(false) => format!("{base} && !{}", band()),
                }
            }
            Cond::Categorical {
                feature,
                set,
                truncate_first,
                form,
                ..
            } => {
                let x = format!("x[{feature}]");
                let member = format!("in_set({x}, &SET_{set}, {truncate_first})");
                match form {
                    CatForm::Member => member,
                    CatForm::NotMember => format!("!{member}"),
                    CatForm::NanOrMember => format!("{x}.is_nan() || {member}"),
                    CatForm::NeitherNanNorMember => format!("!{x}.is_nan() && !{member}"),
                }
            }
        }
    }

    fn linear_leaf(&self, leaf: &Leaf, linear: &Linear) -> Vec<String> {
        let wide = self.values.wide;
        let w = self.tree.weight;
        if linear.terms.is_empty() {
            let v = cond::weighted(cond::in_precision(linear.constant, wide), w, wide);
            return vec![self.values.lit(v)];
        }
        let mut features: Vec<usize> = linear.terms.iter().map(|&(f, _)| f).collect();
        features.sort_unstable();
        features.dedup();
        let nan = features
            .iter()
            .map(|f| format!("x[{f}].is_nan()"))
            .collect::<Vec<_>>()
            .join(" || ");
        let mut lines = vec![
            format!("if {nan} {{"),
            format!(
                "    return {};",
                self.values.lit(cond::weighted(leaf.values[0], w, wide))
            ),
            "}".to_string(),
            format!("let mut s = {};", rust_f64(linear.constant)),
        ];
        for &(f, c) in &linear.terms {
            lines.push(format!("s += x[{f}] as f64 * {};", rust_f64(c)));
        }
        let value = if wide { "s" } else { "s as f32" };
        lines.push(if w == 1.0 {
            value.to_string()
        } else if wide {
            format!("{value} * {}", rust_f64(w as f64))
        } else {
            format!("{value} * {}", rust_f32(w))
        });
        lines
    }

    fn fn_name(&self, subtree: Option<usize>) -> String {
        let form = match self.form {
            Form::Floats => "tree",
            Form::Keys(_) => "ktree",
            Form::Ranks(_) => "rtree",
        };
        match subtree {
            None => format!("{form}_{}", self.t),
            Some(n) => format!("{form}_{}_{n}", self.t),
        }
    }

    /// The arguments a tree function passes on to a subtree function.
    fn args(&self) -> String {
        self.form.args()
    }
}

impl Syntax for TreeSyntax<'_> {
    fn open_if(&self, node: usize) -> String {
        let c = cond::condition(self.model, &self.tree.nodes[node]);
        format!("if {} {{", self.cond(c))
    }
    fn else_line(&self) -> &'static str {
        "} else {"
    }
    fn close_line(&self) -> &'static str {
        "}"
    }
    fn leaf(&self, l: usize) -> Vec<String> {
        let leaf = &self.tree.leaves[l];
        if self.tree.output.is_none() {
            return vec![format!("&LEAVES[{}]", self.rows[l])];
        }
        if let Form::Ranks(_) = self.form {
            return vec![self.locals[l].to_string()];
        }
        match &leaf.linear {
            Some(linear) => self.linear_leaf(leaf, linear),
            None => {
                let v = cond::weighted(leaf.values[0], self.tree.weight, self.values.wide);
                vec![self.values.lit(v)]
            }
        }
    }
    fn call_subtree(&self, node: usize) -> String {
        format!("{}({})", self.fn_name(Some(node)), self.args())
    }
}

/// The Rust module for `m`; `name` names the model in the documentation.
///
/// `keys`: the integer-key arrays the trees may test instead of the floats (`None`: float tests only). With
/// `only_keys` the module has the key form alone (the size form); otherwise both, and the constant
/// `INT_COMPARE` picks the keys for targets without hardware floating point (Arm without the hard-float ABI,
/// RISC-V without F).
pub fn source(
    m: &Model,
    name: &str,
    origin: &str,
    keys: Option<KeyUse>,
    only_keys: bool,
) -> Result<String, CodegenError> {
    let values = Values { wide: m.wide };
    let v = values.ty();
    let k = m.n_outputs;
    let output = Output::of(m.transform)?;
    let mean = cond::is_mean(m.aggregate)?;
    let uses_libm = output.needs_exp();
    let mut s = String::new();

    let _ = write!(
        s,
        "//! Model `{name}`, generated by emkern {version} from {origin}. Do not edit.\n\
         //!\n\
         //! {trees} trees, {nf} features, {k} margin column{ks}; leaves and sums in {v}; transform: {tf:?}.\n\
         //!\n\
         //! Use: save as `src/{name}.rs`, declare `mod {name};`, then `{name}::predict(&row, &mut out)` with\n\
         //! `row: [f32; {name}::N_FEATURES]` (NaN marks a missing value) and `out: [f32; {name}::OUTPUT_LEN]`.\n\
         //! `no_std`, no heap, no `unsafe`.\n\
         //!\n\
         //! Exact: `predict_margin` returns the same bits as emkern's blob interpreter\n\
         //! (`emkern::forest::Forest::predict_margin`) for every row, and so does `predict`{libm_note}.\n\
         #![allow(dead_code, clippy::all)]\n\n",
        version = env!("CARGO_PKG_VERSION"),
        origin = comment_text(origin),
        trees = m.trees.len(),
        nf = m.n_features,
        ks = if k == 1 { "" } else { "s" },
        tf = m.transform,
        libm_note = if uses_libm {
            " (its transform calls\n//! the `libm` crate, as the core does: add `libm = \"0.2.16\"` to Cargo.toml, the release emkern\n\
             //! uses)"
        } else {
            ""
        },
    );
    let _ = write!(
        s,
        "/// Features a row holds.\npub const N_FEATURES: usize = {nf};\n\
         /// Raw margins [`predict_margin`] writes.\npub const N_OUTPUTS: usize = {k};\n\
         /// Values [`predict`] writes.\npub const OUTPUT_LEN: usize = {ol};\n\n",
        nf = m.n_features,
        ol = m.output_len,
    );

    // Public functions.
    let _ = write!(
        s,
        "/// The raw margins of `row` (NaN marks a missing value).\n\
         pub fn predict_margin(row: &[f32; N_FEATURES], out: &mut [f32; N_OUTPUTS]) {{\n\
         \x20   for (o, v) in out.iter_mut().zip(sums(row)) {{\n\
         \x20       *o = {cast};\n\
         \x20   }}\n\
         }}\n\n\
         /// The prediction for `row` (NaN marks a missing value): {what}.\n\
         pub fn predict(row: &[f32; N_FEATURES], out: &mut [f32; OUTPUT_LEN]) {{\n",
        cast = values.to_f32("v"),
        what = output.words(),
    );
    predict_body(output, k, &values, &mut s);
    s.push_str("}\n\n");

    // Sums.
    let no_trees = m.trees.is_empty();
    let _ = writeln!(
        s,
        "/// The raw margins in {v}: the base margin{mean_note}, then every tree in order.\n\
         fn sums({x}: &[f32; N_FEATURES]) -> [{v}; N_OUTPUTS] {{",
        mean_note = if mean { " after the mean" } else { "" },
        x = if no_trees { "_x" } else { "x" },
    );
    let start: Vec<String> = m
        .base
        .iter()
        .map(|&b| values.lit(if mean { 0.0 } else { b }))
        .collect();
    let _ = writeln!(
        s,
        "    let {}m: [{v}; N_OUTPUTS] = [{}];",
        if no_trees && !mean { "" } else { "mut " },
        start.join(", ")
    );
    // The size form holds ranks and keys, `RANK_COMPARE` choosing (the other form's code is dead, so unlinked).
    let rank_tables = keys.filter(|_| only_keys).map(|used| Ranks::of(m, used));
    let scalars = ScalarTable::of(m);
    let calls = |s: &mut String, indent: &str, form: &str, args: &str| {
        for (t, tree) in m.trees.iter().enumerate() {
            let _ = match tree.output {
                Some(c) if form == "rtree" => writeln!(
                    s,
                    "{indent}m[{c}] += value({} + {form}_{t}({args}));",
                    scalars.offsets[t]
                ),
                Some(c) => writeln!(s, "{indent}m[{c}] += {form}_{t}({args});"),
                None => writeln!(s, "{indent}add(&mut m, {form}_{t}({args}));"),
            };
        }
    };
    let refs = |names: Vec<&str>| {
        names
            .iter()
            .map(|n| format!("&{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match keys {
        None => calls(&mut s, "    ", "tree", "x"),
        Some(used) => {
            let key_args = refs(used.names());
            let key_lets = |s: &mut String, indent: &str| {
                if used.right {
                    let _ = writeln!(s, "{indent}let kr = keys(x, i32::MAX);");
                }
                if used.left {
                    let _ = writeln!(s, "{indent}let kl = keys(x, i32::MIN);");
                }
            };
            if only_keys {
                s.push_str("    if RANK_COMPARE {\n");
                if used.right {
                    s.push_str("        let br = ranks(x, true);\n");
                }
                if used.left {
                    s.push_str("        let bl = ranks(x, false);\n");
                }
                calls(&mut s, "        ", "rtree", &refs(ranks::names(used)));
                s.push_str("    } else {\n");
                key_lets(&mut s, "        ");
                calls(&mut s, "        ", "ktree", &key_args);
                s.push_str("    }\n");
            } else {
                s.push_str("    if INT_COMPARE {\n");
                key_lets(&mut s, "        ");
                calls(&mut s, "        ", "ktree", &key_args);
                s.push_str("    } else {\n");
                calls(&mut s, "        ", "tree", "x");
                s.push_str("    }\n");
            }
        }
    }
    if mean {
        let d = values.lit(cond::in_precision(m.divisor, m.wide));
        for (c, b) in m.base.iter().enumerate() {
            let _ = writeln!(s, "    m[{c}] = m[{c}] / {d} + {};", values.lit(*b));
        }
    }
    s.push_str("    m\n}\n\n");

    // Integer keys: the switch and the row's keys.
    if keys.is_some() {
        let choice = if only_keys {
            "true".to_string()
        } else {
            "cfg!(any(\n    all(target_arch = \"arm\", not(target_abi = \"eabihf\")),\n    \
             all(any(target_arch = \"riscv32\", target_arch = \"riscv64\"), not(target_feature = \"f\"))\n))"
                .to_string()
        };
        let _ = write!(
            s,
            "/// The trees test integer keys of the row (about half the code per test, a few more instructions per\n\
             /// feature per prediction; on a core without an FPU, far fewer than software float compares) instead of\n\
             /// the floats; the decisions are the same. {why}\n\
             const INT_COMPARE: bool = {choice};\n\n\
             /// The row's integer keys: |bits| with the sign applied, ordered as the floats (-0.0 and 0.0 alike); a NaN\n\
             /// gets `nan`: `i32::MAX` fails every test (goes right), `i32::MIN` passes every one (goes left).\n\
             #[inline(always)]\n\
             fn keys(x: &[f32; N_FEATURES], nan: i32) -> [i32; N_FEATURES] {{\n\
             \x20   let mut k = [0i32; N_FEATURES];\n\
             \x20   for (k, v) in k.iter_mut().zip(x) {{\n\
             \x20       let b = v.to_bits();\n\
             \x20       let a = (b & 0x7fff_ffff) as i32;\n\
             \x20       *k = if a > 0x7f80_0000 {{\n\
             \x20           nan\n\
             \x20       }} else if b >> 31 == 1 {{\n\
             \x20           -a\n\
             \x20       }} else {{\n\
             \x20           a\n\
             \x20       }};\n\
             \x20   }}\n\
             \x20   k\n\
             }}\n\n",
            why = if only_keys {
                "Generated with `--int-compare always`: the\n/// size form, keys only."
            } else {
                "Chosen for targets without\n/// hardware floating point (Arm without the hard-float ABI, RISC-V without F); Rust has no `cfg` for\n\
                 /// optimizing for size: `emkern codegen --int-compare always` writes the key form alone."
            },
        );
    }

    if let Some(r) = &rank_tables {
        write_ranks(r, m, &scalars, &values, &mut s);
    }

    // Vector leaves: one table of the distinct rows, already multiplied by their tree's weight.
    let table = LeafTable::of(m);
    if m.vector_leaves() {
        let n_rows = table.rows.len();
        let _ = writeln!(
            s,
            "fn add(m: &mut [{v}; N_OUTPUTS], leaf: &[{v}; N_OUTPUTS]) {{\n\
             \x20   for (a, b) in m.iter_mut().zip(leaf) {{\n\
             \x20       *a += *b;\n\
             \x20   }}\n\
             }}\n\n\
             /// The distinct leaf values (times their tree's weight), one row each.\n\
             static LEAVES: [[{v}; N_OUTPUTS]; {n_rows}] = ["
        );
        for row in table.lines(|x| values.lit(x)) {
            let _ = writeln!(s, "    [{row}],");
        }
        s.push_str("];\n\n");
    }

    // Category sets and the membership test.
    if !m.sets.is_empty() {
        for (off, words) in &m.sets {
            let body = words
                .iter()
                .map(|w| format!("0x{w:08x}"))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(s, "static SET_{off}: [u32; {}] = [{body}];", words.len());
        }
        let _ = write!(
            s,
            "\n/// Category `trunc(x)` is in the set (bit `c % 32` of word `c / 32`); negative (or `<= -1` with\n\
             /// `truncate_first`), too large and NaN values are not.\n\
             #[inline(always)]\n\
             fn in_set(x: f32, set: &[u32], truncate_first: bool) -> bool {{\n\
             \x20   let valid = if truncate_first {{ x > -1.0 }} else {{ x >= 0.0 }};\n\
             \x20   if !(valid && x < {limit}) {{\n\
             \x20       return false;\n\
             \x20   }}\n\
             \x20   let c = x as u32;\n\
             \x20   match set.get((c / 32) as usize) {{\n\
             \x20       Some(w) => (w >> (c % 32)) & 1 != 0,\n\
             \x20       None => false,\n\
             \x20   }}\n\
             }}\n\n",
            limit = rust_f32(cond::CATEGORY_LIMIT),
        );
    }

    // Trees: with float tests, and (when every test allows it) with integer-key tests.
    let mut forms = Vec::new();
    if keys.is_none() || !only_keys {
        forms.push(Form::Floats);
    }
    if let Some(r) = &rank_tables {
        forms.push(Form::Ranks(r));
    }
    if let Some(used) = keys {
        forms.push(Form::Keys(used));
    }
    for (form, (t, tree)) in forms
        .iter()
        .flat_map(|&f| m.trees.iter().enumerate().map(move |tt| (f, tt)))
    {
        let syntax = TreeSyntax {
            model: m,
            tree,
            t,
            values: Values { wide: m.wide },
            rows: &table.index[t],
            form,
            locals: &scalars.index[t],
        };
        let ret = match (tree.output, form) {
            (None, _) => format!("&'static [{v}; N_OUTPUTS]"),
            (Some(_), Form::Ranks(_)) => "usize".to_string(),
            (Some(_), _) => v.to_string(),
        };
        let reads_row = !tree.nodes.is_empty() || tree.leaves.iter().any(|l| l.linear.is_some());
        for f in walk::functions(tree, &syntax) {
            let params = match form {
                Form::Floats => {
                    format!("{}: &[f32; N_FEATURES]", if reads_row { "x" } else { "_x" })
                }
                _ => {
                    // A tree may test only NaN-right (or only NaN-left) values.
                    let text: String = f.body.iter().map(|(_, l)| l.as_str()).collect();
                    let ty = match form {
                        Form::Ranks(r) => format!("&[{}; RANK_SLOTS]", rank_type(r)),
                        _ => "&[i32; N_FEATURES]".to_string(),
                    };
                    form.names()
                        .iter()
                        .map(|n| {
                            let u = if text.contains(&format!("{n}["))
                                || text.contains(&format!("{n},"))
                                || text.contains(&format!("{n})"))
                            {
                                ""
                            } else {
                                "_"
                            };
                            format!("{u}{n}: {ty}")
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            // (Unlike the C header's size builds, no `#[inline(never)]`: measured with LLVM at opt-level "s" and
            // "z", the trees inlined into `sums` take less code than calls to functions of their own.)
            let _ = writeln!(s, "fn {}({params}) -> {ret} {{", syntax.fn_name(f.subtree));
            walk::render(&f.body, &mut s);
            s.push_str("}\n\n");
        }
    }
    while s.ends_with("\n\n") {
        s.pop();
    }
    Ok(s)
}

/// The body of `predict`: margins in the model's precision, then the transform (on the f32 margins above
/// [`CORE_CHUNK`] columns, as the core does).
fn predict_body(output: Output, k: usize, values: &Values, s: &mut String) {
    if k > CORE_CHUNK {
        let body = match output {
            Output::Identity => "    predict_margin(row, out);\n".to_string(),
            Output::Sigmoid => "    predict_margin(row, out);\n    for o in out.iter_mut() {\n        \
                 *o = 1.0 / (1.0 + libm::expf(-*o));\n    }\n"
                .to_string(),
            Output::Softmax => "    predict_margin(row, out);\n    let mut max = f32::NEG_INFINITY;\n    \
                 for &v in out.iter() {\n        if v > max {\n            max = v;\n        }\n    }\n    \
                 let mut sum = 0.0f32;\n    for o in out.iter_mut() {\n        *o = libm::expf(*o - max);\n        \
                 sum += *o;\n    }\n    for o in out.iter_mut() {\n        *o /= sum;\n    }\n"
                .to_string(),
            Output::ArgMax => "    let mut f = [0.0f32; N_OUTPUTS];\n    predict_margin(row, &mut f);\n    \
                 let mut best = 0usize;\n    let mut best_v = f32::NEG_INFINITY;\n    \
                 for (k, &v) in f.iter().enumerate() {\n        if v > best_v || k == 0 {\n            \
                 best = k;\n            best_v = v;\n        }\n    }\n    out[0] = best as f32;\n"
                .to_string(),
            Output::Exp => "    predict_margin(row, out);\n    for o in out.iter_mut() {\n        \
                 *o = libm::expf(*o);\n    }\n"
                .to_string(),
            Output::HingeStep => "    predict_margin(row, out);\n    for o in out.iter_mut() {\n        \
                 *o = if *o > 0.0 { 1.0 } else { 0.0 };\n    }\n"
                .to_string(),
        };
        s.push_str(&body);
        return;
    }
    let v = values.ty();
    let exp = values.exp();
    let body = match output {
        Output::Identity => "    predict_margin(row, out);\n".to_string(),
        Output::Sigmoid => format!(
            "    for (o, v) in out.iter_mut().zip(sums(row)) {{\n        *o = {};\n    }}\n",
            values.to_f32(&format!("1.0 / (1.0 + {exp}(-v))"))
        ),
        Output::Softmax => format!(
            "    let mut m = sums(row);\n    let mut max = m[0];\n    for &v in m.iter() {{\n        \
             if v > max {{\n            max = v;\n        }}\n    }}\n    let mut sum: {v} = 0.0;\n    \
             for v in m.iter_mut() {{\n        *v = {exp}(*v - max);\n        sum += *v;\n    }}\n    \
             for (o, v) in out.iter_mut().zip(m) {{\n        *o = {};\n    }}\n",
            values.to_f32("v / sum")
        ),
        Output::ArgMax => "    let m = sums(row);\n    let mut best = 0usize;\n    let mut best_v = m[0];\n    \
             for (k, &v) in m.iter().enumerate() {\n        if v > best_v {\n            best = k;\n            \
             best_v = v;\n        }\n    }\n    out[0] = best as f32;\n"
            .to_string(),
        Output::Exp => format!(
            "    for (o, v) in out.iter_mut().zip(sums(row)) {{\n        *o = {};\n    }}\n",
            values.to_f32(&format!("{exp}(v)"))
        ),
        Output::HingeStep => "    for (o, v) in out.iter_mut().zip(sums(row)) {\n        \
             *o = if v > 0.0 { 1.0 } else { 0.0 };\n    }\n"
            .to_string(),
    };
    s.push_str(&body);
}

/// The Rust type of a rank.
fn rank_type(r: &Ranks) -> &'static str {
    if r.rank_type() == "uint8_t" {
        "u8"
    } else {
        "u16"
    }
}

/// The rank form's tables, the function that ranks a row ([`ranks`]) and the scalar leaf values.
fn write_ranks(r: &Ranks, m: &Model, scalars: &ScalarTable, values: &Values, s: &mut String) {
    let ends = r.ends();
    let total = ends.last().copied().unwrap_or(0);
    let feature_type = if m.n_features <= 256 { "u8" } else { "u32" };
    let rt = rank_type(r);
    let _ = write!(
        s,
        "/// The trees test the row's ranks among each feature's thresholds (the least code: a byte compare per\n\
         /// test and a table index per leaf, each threshold stored once; a binary search per feature and\n\
         /// prediction) instead of its integer keys; the decisions are the same.\n\
         const RANK_COMPARE: bool = true;\n\n\
         /// Rank slots, most tested feature first.\n\
         const RANK_SLOTS: usize = {n_slots};\n\
         /// The row index each slot ranks.\n\
         static RANK_FEATURE: [{feature_type}; RANK_SLOTS] = [\n{features}];\n\
         /// The end of each slot's cuts in `CUTS`.\n\
         static RANK_END: [u32; RANK_SLOTS] = [\n{ends}];\n\
         /// Each slot's cuts, ascending: the integer key of a threshold `t` for a test `x < t`, `key(t) + 1` for\n\
         /// `x <= t`.\n\
         static CUTS: [i32; {total}] = [\n{cuts}];\n\n\
         /// The row's ranks: per slot, how many of its cuts are at or below the row's key (|bits| with the sign\n\
         /// applied, -0.0 and 0.0 alike); a NaN gets the slot's number of cuts with `nan_right` (it fails every\n\
         /// test: right), else 0 (it passes every test: left). A test `x < t` is then `rank <= r`, for `t`'s cut\n\
         /// `r`.\n\
         fn ranks(x: &[f32; N_FEATURES], nan_right: bool) -> [{rt}; RANK_SLOTS] {{\n\
         \x20   let mut r = [0; RANK_SLOTS];\n\
         \x20   let mut lo = 0usize;\n\
         \x20   for (s, out) in r.iter_mut().enumerate() {{\n\
         \x20       let hi = RANK_END[s] as usize;\n\
         \x20       let cuts = CUTS.get(lo..hi).unwrap_or(&[]);\n\
         \x20       lo = hi;\n\
         \x20       let b = x.get(RANK_FEATURE[s] as usize).map_or(0, |v| v.to_bits());\n\
         \x20       let a = (b & 0x7fff_ffff) as i32;\n\
         \x20       *out = if a > 0x7f80_0000 {{\n\
         \x20           if nan_right {{ cuts.len() as {rt} }} else {{ 0 }}\n\
         \x20       }} else {{\n\
         \x20           let k = if b >> 31 == 1 {{ -a }} else {{ a }};\n\
         \x20           cuts.partition_point(|&c| c <= k) as {rt}\n\
         \x20       }};\n\
         \x20   }}\n\
         \x20   r\n\
         }}\n\n",
        n_slots = r.slots.len(),
        features = ranks::lines(r.slots.iter().map(|(f, _)| f.to_string())),
        ends = ranks::lines(ends.iter().map(|e| e.to_string())),
        cuts = ranks::lines(r.all_cuts().map(|c| c.to_string())),
    );
    if !scalars.values.is_empty() {
        let _ = write!(
            s,
            "/// Each tree's distinct leaf values (times its weight), tree after tree: a tree returns an index.\n\
             static VALUES: [{v}; {n}] = [\n{items}];\n\n\
             /// Leaf value `i` (every index a tree returns is in the table).\n\
             #[inline(always)]\n\
             fn value(i: usize) -> {v} {{\n\
             \x20   VALUES.get(i).copied().unwrap_or(0.0)\n\
             }}\n\n",
            v = values.ty(),
            n = scalars.values.len(),
            items = ranks::lines(scalars.values.iter().map(|&x| values.lit(x))),
        );
    }
}
