//! Finding a Python with a package (XGBoost, scikit-learn) for the tests that compare emkern with it (included
//! with `#[path]`, so that each test crate gets just this).

/// A Python interpreter that imports `module` (`xgboost`, `sklearn`) at version `min` (major, minor) or later:
/// `EMKERN_PYTHON` if set (`scripts/setup.sh` sets it to its virtual environment), else `python3`. When there is
/// none, prints a loud `SKIPPED` line for `test` (past the test harness's capture, so it is seen) and returns
/// `None`.
pub fn python_or_skip(test: &str, module: &str, min: (u32, u32)) -> Option<String> {
    let check = format!(
        "import {module}, sys; v = tuple(int(p) for p in {module}.__version__.split('.')[:2]); \
         sys.exit(0 if v >= {min:?} else 1)"
    );
    let found = std::env::var("EMKERN_PYTHON")
        .into_iter()
        .chain(["python3".to_string()])
        .find(|py| {
            std::process::Command::new(py)
                .args(["-c", &check])
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if found.is_none() {
        use std::io::Write;
        let _ = std::io::stderr().write_all(
            format!(
                "\n*** SKIPPED {test}: no Python with {module} >= {}.{} (set EMKERN_PYTHON to one) ***\n\n",
                min.0, min.1
            )
            .as_bytes(),
        );
    }
    found
}
