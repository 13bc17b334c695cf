//! The C generator: one header, C99, every function `static inline`.
//!
//! Why one header rather than a `.c`/`.h` pair: it is what firmware projects drop in (emlearn's generated
//! models are headers too), it needs no change to the build (no new translation unit to list in a Makefile, an
//! IDE project or an Arduino sketch), and `static` functions cost nothing when unused — a firmware that calls
//! only `NAME_predict` carries no separate `NAME_predict_margin` — while the compiler may inline the trees into
//! the caller. The price: include it from one `.c` file (each file that calls it carries its own copy).
//!
//! Numbers are C99 hexadecimal floating constants, exact by the standard; the header compiles as C99 or later
//! and as C++17 (hexadecimal floats), with `extern "C"` guards.
//!
//! The trees are written up to three times, one form compiled (`NAME_INT_COMPARE`): float tests (0, the fast
//! form with an FPU), integer-key tests (1, `int_keys`: the fast form without one) and rank tests (2,
//! `ranks`: the small form, the default under `-Os`), the last two wherever every test of the model allows it.

use std::fmt::Write;

use emkern::forest::Compare;

use super::cond::{self, CORE_CHUNK, CatForm, Cond, Output, ZERO};
use super::int_keys::{self, KeyUse};
use super::leaf_table::LeafTable;
use super::literal::{c_double, c_float};
use super::model::{Leaf, Model, Tree};
use super::ranks::{self, Form, Ranks, ScalarTable};
use super::walk::{self, Syntax};
use super::{CodegenError, comment_text};

/// The value type's C name and literal writer.
struct Values {
    wide: bool,
}

impl Values {
    fn ty(&self) -> &'static str {
        if self.wide { "double" } else { "float" }
    }
    /// A value already in the model's precision (widened to f64).
    fn lit(&self, v: f64) -> String {
        if self.wide {
            c_double(v)
        } else {
            c_float(v as f32)
        }
    }
    fn exp(&self) -> &'static str {
        if self.wide { "exp" } else { "expf" }
    }
}

struct TreeSyntax<'a> {
    model: &'a Model,
    tree: &'a Tree,
    t: usize,
    prefix: &'a str,
    values: Values,
    /// Each leaf's row of the shared vector-leaf table (empty for scalar leaves).
    rows: &'a [usize],
    /// What the tests read.
    form: Form<'a>,
    /// In the rank form, each scalar leaf's index in its tree's value table.
    locals: &'a [usize],
}

/// The C parameter list of a tree function in `form`.
fn params(form: Form) -> String {
    match form {
        Form::Floats => "const float *x".to_string(),
        Form::Keys(used) => used.params(),
        Form::Ranks(r) => form
            .names()
            .iter()
            .map(|n| format!("const {} *{n}", r.rank_type()))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

impl TreeSyntax<'_> {
    fn cond(&self, c: Cond) -> String {
        match c {
            Cond::Numeric {
                feature,
                compare,
                threshold,
                nan_left,
                zero_band,
            } if zero_band.is_none() && !matches!(self.form, Form::Floats) => match self.form {
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
                let t = c_float(threshold);
                let base = match (compare, nan_left) {
                    (Compare::Less, false) => format!("{x} < {t}"),
                    (Compare::Less, true) => format!("!({x} >= {t})"),
                    (Compare::LessEqual, false) => format!("{x} <= {t}"),
                    (Compare::LessEqual, true) => format!("!({x} > {t})"),
                };
                let band = || format!("({x} >= {} && {x} <= {})", c_float(-ZERO), c_float(ZERO));
                match zero_band {
                    None => base,
                    Some(true) => format!("{base} || {}", band()),
                    Some(false) => format!("{base} && !{}", band()),
                }
            }
            Cond::Categorical {
                feature,
                set,
                n_words,
                truncate_first,
                form,
            } => {
                let x = format!("x[{feature}]");
                let member = format!(
                    "{p}_in_set({x}, {p}_set_{set}, {n_words}u, {})",
                    truncate_first as u8,
                    p = self.prefix
                );
                match form {
                    CatForm::Member => member,
                    CatForm::NotMember => format!("!{member}"),
                    CatForm::NanOrMember => format!("isnan({x}) || {member}"),
                    CatForm::NeitherNanNorMember => format!("!isnan({x}) && !{member}"),
                }
            }
        }
    }

    fn linear_leaf(&self, leaf: &Leaf, linear: &super::model::Linear) -> Vec<String> {
        let wide = self.values.wide;
        let w = self.tree.weight;
        let stored = leaf.values[0];
        if linear.terms.is_empty() {
            let v = cond::weighted(cond::in_precision(linear.constant, wide), w, wide);
            return vec![format!("return {};", self.values.lit(v))];
        }
        let mut lines = Vec::new();
        let mut features: Vec<usize> = linear.terms.iter().map(|&(f, _)| f).collect();
        features.sort_unstable();
        features.dedup();
        let nan = features
            .iter()
            .map(|f| format!("isnan(x[{f}])"))
            .collect::<Vec<_>>()
            .join(" || ");
        lines.push(format!(
            "if ({nan}) return {};",
            self.values.lit(cond::weighted(stored, w, wide))
        ));
        lines.push(format!("double s = {};", c_double(linear.constant)));
        for &(f, c) in &linear.terms {
            lines.push(format!("s += (double)x[{f}] * {};", c_double(c)));
        }
        let value = if wide {
            "s".to_string()
        } else {
            "(float)s".to_string()
        };
        lines.push(if w == 1.0 {
            format!("return {value};")
        } else if wide {
            format!("return {value} * {};", c_double(w as f64))
        } else {
            format!("return {value} * {};", c_float(w))
        });
        lines
    }

    fn fn_name(&self, subtree: Option<usize>) -> String {
        match subtree {
            None => format!("{}_tree_{}", self.prefix, self.t),
            Some(n) => format!("{}_tree_{}_{n}", self.prefix, self.t),
        }
    }
}

impl Syntax for TreeSyntax<'_> {
    fn open_if(&self, node: usize) -> String {
        let c = cond::condition(self.model, &self.tree.nodes[node]);
        format!("if ({}) {{", self.cond(c))
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
            return vec![format!("return {};", self.rows[l])];
        }
        if let Form::Ranks(_) = self.form {
            return vec![format!("return {};", self.locals[l])];
        }
        match &leaf.linear {
            Some(linear) => self.linear_leaf(leaf, linear),
            None => {
                let v = cond::weighted(leaf.values[0], self.tree.weight, self.values.wide);
                vec![format!("return {};", self.values.lit(v))]
            }
        }
    }
    fn call_subtree(&self, node: usize) -> String {
        format!("return {}({});", self.fn_name(Some(node)), self.form.args())
    }
}

/// The C header for `m`, identifiers prefixed with `name` (macros with its upper case).
///
/// `keys`: the integer-key arrays the trees may test instead of the floats (`None`: float tests only); with
/// `only_keys` the header picks them by default whatever the compiler's flags (`NAME_INT_COMPARE` still
/// overrides it).
pub fn source(
    m: &Model,
    name: &str,
    origin: &str,
    keys: Option<KeyUse>,
    only_keys: bool,
) -> Result<String, CodegenError> {
    let up = name.to_ascii_uppercase();
    let p = name;
    let values = Values { wide: m.wide };
    let v = values.ty();
    let k = m.n_outputs;
    let vector = m.vector_leaves();
    let linear = m
        .trees
        .iter()
        .any(|t| t.leaves.iter().any(|l| l.linear.is_some()));
    let output = Output::of(m.transform)?;
    let mean = cond::is_mean(m.aggregate)?;
    let exp_note = transform_note(m, output, p)?;
    let mut s = String::new();

    // Header comment.
    let mut head = vec![
        format!(
            "Generated by emkern {} from {}. Do not edit.",
            env!("CARGO_PKG_VERSION"),
            comment_text(origin)
        ),
        String::new(),
        format!(
            "{} trees, {} features, {k} margin column{}; leaves and sums in {v}; transform: {:?}.",
            m.trees.len(),
            m.n_features,
            if k == 1 { "" } else { "s" },
            m.transform
        ),
        String::new(),
        "Use: include this header in one C or C++ file, then".into(),
        format!("    float out[{up}_OUTPUT_LEN];"),
        format!(
            "    {p}_predict(row, out);   (row: {up}_N_FEATURES floats, NaN marks a missing value)"
        ),
        format!("or {p}_predict_margin(row, margins) for the {up}_N_OUTPUTS raw margins."),
        String::new(),
        format!("Exact: {p}_predict_margin returns the same bits as emkern's blob interpreter"),
        "(emkern::forest::Forest::predict_margin) for every row.".into(),
    ];
    head.extend(exp_note);
    head.extend([
        String::new(),
        "Needs: C99 or later (or C++17: hexadecimal float constants); IEEE-754 float and double evaluated".into(),
        "without excess precision (FLT_EVAL_METHOD 0: every Cortex-M FPU, soft float, x86-64, AArch64); not"
            .into(),
        "-ffast-math or -ffinite-math-only (NaN marks missing values). No heap.".into(),
    ]);
    for (i, line) in head.iter().enumerate() {
        s.push_str(match (i, line.is_empty()) {
            (0, _) => "/* ",
            (_, true) => " *",
            (_, false) => " * ",
        });
        s.push_str(line);
        s.push('\n');
    }
    s.push_str(" */\n");
    let _ = write!(
        s,
        "#ifndef {up}_PREDICT_H\n#define {up}_PREDICT_H\n\n#include <math.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <string.h>\n\n\
         /* Features a row holds. */\n#define {up}_N_FEATURES {nf}\n\
         /* Raw margins {p}_predict_margin writes. */\n#define {up}_N_OUTPUTS {k}\n\
         /* Values {p}_predict writes. */\n#define {up}_OUTPUT_LEN {ol}\n\n\
         #ifdef __cplusplus\nextern \"C\" {{\n#endif\n\n",
        nf = m.n_features,
        ol = m.output_len,
    );
    if linear {
        // The linear leaves multiply and add: a fused multiply-add would round once where the interpreter rounds
        // twice. GCC contracts across statements unless told not to (it ignores the STDC pragma, which the
        // functions below carry for other compilers).
        s.push_str(
            "#if defined(__GNUC__) && !defined(__clang__)\n#pragma GCC push_options\n\
             #pragma GCC optimize (\"fp-contract=off\")\n#endif\n\n",
        );
    }

    // Category sets and the membership test.
    if !m.sets.is_empty() {
        for (off, words) in &m.sets {
            let body = if words.is_empty() {
                "0u".to_string()
            } else {
                words
                    .iter()
                    .map(|w| format!("0x{w:08x}u"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(
                s,
                "static const uint32_t {p}_set_{off}[{}] = {{{body}}};",
                words.len().max(1)
            );
        }
        let _ = write!(
            s,
            "\n/* Category trunc(x) is in the set (bit c of word c / 32); negative (or <= -1 with\n\
             * truncate_first), too large and NaN values are not. */\n\
             static inline int {p}_in_set(float x, const uint32_t *set, uint32_t n_words, int truncate_first) {{\n\
             \x20   uint32_t c;\n\
             \x20   if (!((truncate_first ? x > -1.0f : x >= 0.0f) && x < {limit})) return 0;\n\
             \x20   c = (uint32_t)x;\n\
             \x20   return (c >> 5) < n_words && ((set[c >> 5] >> (c & 31u)) & 1u) != 0u;\n\
             }}\n\n",
            limit = c_float(cond::CATEGORY_LIMIT),
        );
    }

    // Vector leaves: one table of the distinct rows, already multiplied by their tree's weight; a tree returns
    // its leaf's row number (a byte while there are at most 256 rows: two bytes of code, where a pointer would
    // take a literal of four).
    let table = LeafTable::of(m);
    if vector {
        let n_rows = table.rows.len();
        let _ = writeln!(
            s,
            "/* The distinct leaf values (times their tree's weight), one row each; the trees return a row. */\n\
             static const {v} {p}_leaves[{n_rows}][{k}] = {{"
        );
        for row in table.lines(|x| values.lit(x)) {
            let _ = writeln!(s, "    {{{row}}},");
        }
        let _ = write!(
            s,
            "}};\n\n\
             static inline void {p}_add(const {v} *leaf, {v} *m) {{\n\
             \x20   int k;\n\
             \x20   for (k = 0; k < {k}; k++) m[k] += leaf[k];\n\
             }}\n\n"
        );
    }

    // Trees: with float tests, and (when every test allows it) again with integer-key tests and with rank tests.
    let rank_tables = keys.map(|used| Ranks::of(m, used));
    let scalars = ScalarTable::of(m);
    if let (Some(used), Some(ranks)) = (keys, &rank_tables) {
        let default = if only_keys {
            format!(
                "#if defined(__OPTIMIZE_SIZE__)\n#define {up}_INT_COMPARE 2\n#else\n#define {up}_INT_COMPARE 1\n#endif\n"
            )
        } else {
            format!(
                "#if defined(__OPTIMIZE_SIZE__)\n#define {up}_INT_COMPARE 2\n\
                 #elif defined(__SOFTFP__) || (defined(__riscv) && !defined(__riscv_flen))\n\
                 #define {up}_INT_COMPARE 1\n#else\n#define {up}_INT_COMPARE 0\n#endif\n"
            )
        };
        let _ = write!(
            s,
            "/* What the trees test. 0: the row's floats. 1: integer keys of the row (about half the code per test, a\n\
             \x20* few more instructions per feature and prediction; on a core without an FPU, far fewer than software\n\
             \x20* float compares). 2: the row's ranks among each feature's thresholds (the least code: a byte compare\n\
             \x20* per test and a table index per leaf, each threshold stored once; a binary search per feature and\n\
             \x20* prediction). Decisions are the same in all three. Default: 2 when compiling for size (-Os, -Oz),\n\
             \x20* else 1 for software floating point (Arm -mfloat-abi=soft, RISC-V without F), else 0{always}. */\n\
             #ifndef {up}_INT_COMPARE\n{default}#endif\n\n\
             #if {up}_INT_COMPARE\n\
             /* Built for size, the trees are functions of their own: short branches, a leaf returns at once. */\n\
             #if defined(__GNUC__) && defined(__OPTIMIZE_SIZE__)\n#define {up}_TREE_FN __attribute__((noinline)) static\n\
             #else\n#define {up}_TREE_FN static inline\n#endif\n#endif\n\n\
             #if {up}_INT_COMPARE == 2\n\n",
            always = if only_keys {
                "; generated with --int-compare always: 2 when compiling for size, else 1"
            } else {
                ""
            },
        );
        write_ranks(ranks, m, p, &mut s);
        write_scalar_values(&scalars, &values, p, &mut s);
        write_trees(m, p, &table, &scalars, Form::Ranks(ranks), &mut s);
        let _ = write!(
            s,
            "#elif {up}_INT_COMPARE\n\n\
             /* The row's integer keys: |bits| (sign applied), ordered as the floats, -0.0 and 0.0 alike; a NaN gets\n\
             \x20* INT32_MAX in kr (it fails every test: right) and INT32_MIN in kl (it passes every test: left). */\n\
             static inline void {p}_keys(const float *x, {params_mut}) {{\n\
             \x20   int f;\n\
             \x20   for (f = 0; f < {up}_N_FEATURES; f++) {{\n\
             \x20       uint32_t b;\n\
             \x20       int32_t k;\n\
             \x20       int nan;\n\
             \x20       memcpy(&b, &x[f], sizeof b);\n\
             \x20       k = (int32_t)(b & 0x7fffffffu);\n\
             \x20       if (b >> 31) k = -k;\n\
             \x20       nan = (b & 0x7fffffffu) > 0x7f800000u;\n",
            params_mut = used
                .names()
                .iter()
                .map(|n| format!("int32_t *{n}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        if used.right {
            s.push_str("        kr[f] = nan ? INT32_MAX : k;\n");
        }
        if used.left {
            s.push_str("        kl[f] = nan ? INT32_MIN : k;\n");
        }
        s.push_str("    }\n}\n\n");
        write_trees(m, p, &table, &scalars, Form::Keys(used), &mut s);
        s.push_str("#else\n\n");
    }
    write_trees(m, p, &table, &scalars, Form::Floats, &mut s);
    if keys.is_some() {
        let _ = writeln!(s, "#endif /* {up}_INT_COMPARE */\n");
    }

    // Sums.
    let _ = writeln!(
        s,
        "/* The raw margins in {v}: the base margin{mean}, then every tree in order. */\n\
         static inline void {p}_sums(const float *x, {v} *m) {{",
        mean = if mean { " after the mean" } else { "" },
    );
    if m.trees.is_empty() {
        s.push_str("    (void)x;\n");
    }
    if let (Some(used), Some(ranks)) = (keys, &rank_tables) {
        let _ = writeln!(s, "#if {up}_INT_COMPARE == 2");
        for n in ranks::names(used) {
            let _ = writeln!(s, "    {} {n}[{}];", ranks.rank_type(), ranks.slots.len());
        }
        let _ = writeln!(s, "    {p}_ranks(x, {});", ranks::names(used).join(", "));
        let _ = writeln!(s, "#elif {up}_INT_COMPARE");
        for n in used.names() {
            let _ = writeln!(s, "    int32_t {n}[{up}_N_FEATURES];");
        }
        let _ = writeln!(s, "    {p}_keys(x, {});\n#endif", used.args());
    }
    for (c, b) in m.base.iter().enumerate() {
        let start = if mean { 0.0 } else { *b };
        let _ = writeln!(s, "    m[{c}] = {};", values.lit(start));
    }
    let call = |s: &mut String, form: Form| {
        let args = form.args();
        for (t, tree) in m.trees.iter().enumerate() {
            let _ = match (tree.output, form) {
                (Some(c), Form::Ranks(_)) => writeln!(
                    s,
                    "    m[{c}] += {p}_values[{} + {p}_tree_{t}({args})];",
                    scalars.offsets[t]
                ),
                (Some(c), _) => writeln!(s, "    m[{c}] += {p}_tree_{t}({args});"),
                (None, _) => writeln!(s, "    {p}_add({p}_leaves[{p}_tree_{t}({args})], m);"),
            };
        }
    };
    match (keys, &rank_tables) {
        (Some(used), Some(ranks)) => {
            let _ = writeln!(s, "#if {up}_INT_COMPARE == 2");
            call(&mut s, Form::Ranks(ranks));
            let _ = writeln!(s, "#elif {up}_INT_COMPARE");
            call(&mut s, Form::Keys(used));
            s.push_str("#else\n");
            call(&mut s, Form::Floats);
            s.push_str("#endif\n");
        }
        _ => call(&mut s, Form::Floats),
    }
    if mean {
        let d = values.lit(cond::in_precision(m.divisor, m.wide));
        for (c, b) in m.base.iter().enumerate() {
            let _ = writeln!(s, "    m[{c}] = m[{c}] / {d} + {};", values.lit(*b));
        }
    }
    s.push_str("}\n\n");

    // Public functions.
    let _ = write!(
        s,
        "/* The {k} raw margin{ks} of `row` ({up}_N_FEATURES values; NaN = missing) into `out`. */\n\
         static inline void {p}_predict_margin(const float *row, float *out) {{\n\
         \x20   {v} m[{k}];\n\
         \x20   int k;\n\
         \x20   {p}_sums(row, m);\n\
         \x20   for (k = 0; k < {k}; k++) out[k] = (float)m[k];\n\
         }}\n\n",
        ks = if k == 1 { "" } else { "s" },
    );
    let _ = writeln!(
        s,
        "/* The prediction for `row` ({up}_OUTPUT_LEN values) into `out`: {what}. */\n\
         static inline void {p}_predict(const float *row, float *out) {{",
        what = output.words(),
    );
    predict_body(m, output, p, &values, &mut s);
    s.push_str("}\n\n");
    let _ = write!(
        s,
        "/* {p}_predict with the shape of the C API's emk_forest_predict: `row` holds `n_row` values (at least\n\
         \x20* {up}_N_FEATURES), `out` has room for `n_out` (at least {up}_OUTPUT_LEN). Returns the emk_status codes\n\
         \x20* 0 (EMK_OK), 12 (EMK_ROW_TOO_SHORT), 13 (EMK_OUTPUT_TOO_SHORT) or 15 (EMK_NULL_POINTER); writes nothing\n\
         \x20* unless it returns 0. */\n\
         static inline int {p}_predict_checked(const float *row, size_t n_row, float *out, size_t n_out) {{\n\
         \x20   if (row == NULL || out == NULL) return 15;\n\
         \x20   if (n_row < {up}_N_FEATURES) return 12;\n\
         \x20   if (n_out < {up}_OUTPUT_LEN) return 13;\n\
         \x20   {p}_predict(row, out);\n\
         \x20   return 0;\n\
         }}\n\n"
    );

    if linear {
        s.push_str(
            "#if defined(__GNUC__) && !defined(__clang__)\n#pragma GCC pop_options\n#endif\n\n",
        );
    }
    let _ = write!(
        s,
        "#ifdef __cplusplus\n}}\n#endif\n\n#endif /* {up}_PREDICT_H */\n"
    );
    Ok(s)
}

/// Every tree's functions (callees before callers), testing what `form` says.
fn write_trees(
    m: &Model,
    p: &str,
    table: &LeafTable,
    scalars: &ScalarTable,
    form: Form,
    s: &mut String,
) {
    let v = Values { wide: m.wide }.ty();
    for (t, tree) in m.trees.iter().enumerate() {
        let syntax = TreeSyntax {
            model: m,
            tree,
            t,
            prefix: p,
            values: Values { wide: m.wide },
            rows: &table.index[t],
            form,
            locals: &scalars.index[t],
        };
        let ret = match (tree.output, form) {
            (None, _) => format!("{} ", table.c_index_type()),
            (Some(_), Form::Ranks(_)) => "unsigned ".to_string(),
            (Some(_), _) => format!("{v} "),
        };
        let has_linear = tree.leaves.iter().any(|l| l.linear.is_some());
        let params = params(form);
        let storage = match form {
            Form::Floats => "static inline".to_string(),
            _ => format!("{}_TREE_FN", p.to_ascii_uppercase()),
        };
        for f in walk::functions(tree, &syntax).into_iter().rev() {
            let _ = writeln!(
                s,
                "{storage} {ret}{}({params}) {{",
                syntax.fn_name(f.subtree)
            );
            if has_linear {
                s.push_str("#if !defined(__GNUC__) || defined(__clang__)\n#pragma STDC FP_CONTRACT OFF\n#endif\n");
            }
            match form {
                Form::Floats => {
                    if tree.nodes.is_empty() && tree.leaves.iter().all(|l| l.linear.is_none()) {
                        s.push_str("    (void)x;\n");
                    }
                }
                _ => {
                    // A tree may test only NaN-right (or only NaN-left) values.
                    let text: String = f.body.iter().map(|(_, l)| l.as_str()).collect();
                    for n in form.names() {
                        if !text.contains(&format!("{n}[")) {
                            let _ = writeln!(s, "    (void){n};");
                        }
                    }
                }
            }
            walk::render(&f.body, s);
            s.push_str("}\n\n");
        }
    }
}

/// The rank form's tables and the function that ranks a row ([`ranks`]).
fn write_ranks(r: &Ranks, m: &Model, p: &str, s: &mut String) {
    let n_slots = r.slots.len();
    let ends = r.ends();
    let total = ends.last().copied().unwrap_or(0);
    let feature_type = if m.n_features <= 256 {
        "uint8_t"
    } else if m.n_features <= 65_536 {
        "uint16_t"
    } else {
        "uint32_t"
    };
    let end_type = if total <= 65_535 {
        "uint16_t"
    } else {
        "uint32_t"
    };
    let rank_t = r.rank_type();
    let _ = write!(
        s,
        "/* Rank slots, most tested feature first: the row index each slot ranks, and the end of its cuts. */\n\
         static const {feature_type} {p}_rank_feature[{n_slots}] = {{\n{}}};\n\
         static const {end_type} {p}_rank_end[{n_slots}] = {{\n{}}};\n\
         /* Each slot's cuts, ascending: the integer key of a threshold t for a test x < t, key(t) + 1 for x <= t. */\n\
         static const int32_t {p}_cuts[{total}] = {{\n{}}};\n\n\
         /* The row's ranks: per slot, how many of its cuts are at or below the row's key (|bits| with the sign\n\
         \x20* applied, -0.0 and 0.0 alike); a NaN gets the slot's number of cuts in br (it fails every test: right)\n\
         \x20* and 0 in bl (it passes every test: left). A test x < t is then rank <= r, for t's cut r. */\n\
         static inline void {p}_ranks(const float *x, {params}) {{\n\
         \x20   unsigned s, lo = 0;\n\
         \x20   for (s = 0; s < {n_slots}u; s++) {{\n\
         \x20       unsigned base = lo, hi = {p}_rank_end[s];\n\
         \x20       uint32_t b;\n\
         \x20       int32_t k;\n\
         \x20       memcpy(&b, &x[{p}_rank_feature[s]], sizeof b);\n\
         \x20       k = (int32_t)(b & 0x7fffffffu);\n\
         \x20       if (b >> 31) k = -k;\n\
         \x20       if ((b & 0x7fffffffu) > 0x7f800000u) {{\n{nan}\
         \x20       }} else {{\n\
         \x20           while (lo < hi) {{\n\
         \x20               unsigned mid = (lo + hi) / 2u;\n\
         \x20               if ({p}_cuts[mid] <= k) lo = mid + 1u; else hi = mid;\n\
         \x20           }}\n{set}\
         \x20       }}\n\
         \x20       lo = {p}_rank_end[s];\n\
         \x20   }}\n\
         }}\n\n",
        ranks::lines(r.slots.iter().map(|(f, _)| f.to_string())),
        ranks::lines(ends.iter().map(|e| format!("{e}u"))),
        ranks::lines(r.all_cuts().map(c_int32)),
        params = ranks::names(r.used)
            .iter()
            .map(|n| format!("{rank_t} *{n}"))
            .collect::<Vec<_>>()
            .join(", "),
        nan = {
            let mut t = String::new();
            if r.used.right {
                let _ = writeln!(t, "            br[s] = ({rank_t})({p}_rank_end[s] - base);");
            }
            if r.used.left {
                t.push_str("            bl[s] = 0;\n");
            }
            t
        },
        set = {
            let mut t = String::new();
            if r.used.right {
                let _ = writeln!(t, "            br[s] = ({rank_t})(lo - base);");
            }
            if r.used.left {
                let _ = writeln!(t, "            bl[s] = ({rank_t})(lo - base);");
            }
            t
        },
    );
}

/// An `int32_t` literal (the smallest needs the subtraction: `-2147483648` is not a C literal).
fn c_int32(v: i32) -> String {
    if v == i32::MIN {
        "(-2147483647 - 1)".to_string()
    } else {
        v.to_string()
    }
}

/// The rank form's table of scalar leaf values (none when every tree has vector leaves).
fn write_scalar_values(t: &ScalarTable, values: &Values, p: &str, s: &mut String) {
    if t.values.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "/* Each tree's distinct leaf values (times its weight), tree after tree: a tree returns an index. */\n\
         static const {} {p}_values[{}] = {{",
        values.ty(),
        t.values.len()
    );
    s.push_str(&ranks::lines(t.values.iter().map(|&v| values.lit(v))));
    s.push_str("};\n\n");
}

/// The header comment's lines on `predict`'s exactness.
fn transform_note(m: &Model, output: Output, p: &str) -> Result<Vec<String>, CodegenError> {
    if !output.needs_exp() {
        return Ok(vec![format!(
            "So does {p}_predict (its transform needs no libm)."
        )]);
    }
    let f = if m.wide && m.n_outputs <= CORE_CHUNK {
        "exp"
    } else {
        "expf"
    };
    Ok(vec![
        format!(
            "{p}_predict calls {f} from the platform's libm where emkern calls the Rust libm crate; both"
        ),
        format!(
            "are within 1 ulp of e^x, and this transform keeps the predictions within {} ulp of emkern's.",
            super::c_predict_bound_ulps(m)?
        ),
        "Link with -lm on hosted systems.".into(),
    ])
}

/// The body of `predict`: margins in the model's precision, then the transform (in f32 above
/// [`CORE_CHUNK`] columns, as the core does).
fn predict_body(m: &Model, output: Output, p: &str, values: &Values, s: &mut String) {
    let k = m.n_outputs;
    let v = values.ty();
    let _ = writeln!(s, "    {v} m[{k}];\n    int k;\n    {p}_sums(row, m);");
    if k > CORE_CHUNK {
        // The core transforms the f32 margins.
        let _ = writeln!(
            s,
            "    float f[{k}];\n    for (k = 0; k < {k}; k++) f[k] = (float)m[k];"
        );
        match output {
            Output::Identity => {
                let _ = writeln!(s, "    for (k = 0; k < {k}; k++) out[k] = f[k];");
            }
            Output::Sigmoid => {
                let _ = writeln!(
                    s,
                    "    for (k = 0; k < {k}; k++) out[k] = 1.0f / (1.0f + expf(-f[k]));"
                );
            }
            Output::Softmax => {
                let _ = writeln!(
                    s,
                    "    {{\n        float max = -INFINITY, sum = 0.0f;\n\
                     \x20       for (k = 0; k < {k}; k++) if (f[k] > max) max = f[k];\n\
                     \x20       for (k = 0; k < {k}; k++) {{ f[k] = expf(f[k] - max); sum += f[k]; }}\n\
                     \x20       for (k = 0; k < {k}; k++) out[k] = f[k] / sum;\n    }}"
                );
            }
            Output::ArgMax => {
                let _ = writeln!(
                    s,
                    "    {{\n        int best = 0;\n        float best_v = -INFINITY;\n\
                     \x20       for (k = 0; k < {k}; k++) if (f[k] > best_v || k == 0) {{ best = k; best_v = f[k]; }}\n\
                     \x20       out[0] = (float)best;\n    }}"
                );
            }
            Output::Exp => {
                let _ = writeln!(s, "    for (k = 0; k < {k}; k++) out[k] = expf(f[k]);");
            }
            Output::HingeStep => {
                let _ = writeln!(
                    s,
                    "    for (k = 0; k < {k}; k++) out[k] = f[k] > 0.0f ? 1.0f : 0.0f;"
                );
            }
        }
        return;
    }
    let (one, zero) = if values.wide {
        ("1.0", "0.0")
    } else {
        ("1.0f", "0.0f")
    };
    let exp = values.exp();
    match output {
        Output::Identity => {
            let _ = writeln!(s, "    for (k = 0; k < {k}; k++) out[k] = (float)m[k];");
        }
        Output::Sigmoid => {
            let _ = writeln!(
                s,
                "    for (k = 0; k < {k}; k++) out[k] = (float)({one} / ({one} + {exp}(-m[k])));"
            );
        }
        Output::Softmax => {
            let _ = writeln!(
                s,
                "    {{\n        {v} max = m[0], sum = {zero};\n\
                 \x20       for (k = 1; k < {k}; k++) if (m[k] > max) max = m[k];\n\
                 \x20       for (k = 0; k < {k}; k++) {{ m[k] = {exp}(m[k] - max); sum += m[k]; }}\n\
                 \x20       for (k = 0; k < {k}; k++) out[k] = (float)(m[k] / sum);\n    }}"
            );
        }
        Output::ArgMax => {
            let _ = writeln!(
                s,
                "    {{\n        int best = 0;\n\
                 \x20       for (k = 1; k < {k}; k++) if (m[k] > m[best]) best = k;\n\
                 \x20       out[0] = (float)best;\n    }}"
            );
        }
        Output::Exp => {
            let _ = writeln!(
                s,
                "    for (k = 0; k < {k}; k++) out[k] = (float){exp}(m[k]);"
            );
        }
        Output::HingeStep => {
            let _ = writeln!(
                s,
                "    for (k = 0; k < {k}; k++) out[k] = m[k] > {zero} ? 1.0f : 0.0f;"
            );
        }
    }
}
