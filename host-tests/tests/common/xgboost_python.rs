//! Finding a Python with XGBoost for the tests that hand emkern's exports to XGBoost itself (included with
//! `#[path]`, so that each test crate gets just this).

/// A Python interpreter with XGBoost at least `min` (major, minor): `EMKERN_PYTHON` if set, else `python3`. When
/// there is none, prints a loud `SKIPPED` line for `test` (past the test harness's capture, so it is seen) and
/// returns `None`.
pub fn python_or_skip(test: &str, min: (u32, u32)) -> Option<String> {
    let check = format!(
        "import xgboost, sys; v = tuple(int(p) for p in xgboost.__version__.split('.')[:2]); \
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
                "\n*** SKIPPED {test}: no Python with XGBoost >= {}.{} (set EMKERN_PYTHON to one) ***\n\n",
                min.0, min.1
            )
            .as_bytes(),
        );
    }
    found
}
