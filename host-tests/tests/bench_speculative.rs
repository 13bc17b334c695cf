//! The speculative-decoding benchmark runs and reports positive times for every line (quick samples).

#[test]
fn quick_report_prints_times() {
    let report = emkern_host::bench_speculative::report(true);
    assert!(
        report.starts_with("Medusa verification step time for a 64-node tree"),
        "{report}"
    );
    let times: Vec<f64> = report
        .lines()
        .skip(1)
        .map(|line| {
            let at = line
                .find(" us")
                .unwrap_or_else(|| panic!("no time in `{line}`"));
            line[..at]
                .split_whitespace()
                .last()
                .and_then(|t| t.parse().ok())
                .unwrap_or_else(|| panic!("no number before `us` in `{line}`"))
        })
        .collect();
    assert_eq!(times.len(), 5, "{report}");
    assert!(times.iter().all(|&t| t.is_finite() && t > 0.0), "{report}");
    // The step line is the sum of the attention and typical (reference entropy) lines, to print precision.
    assert!((times[4] - (times[0] + times[2])).abs() <= 0.11, "{report}");
}
