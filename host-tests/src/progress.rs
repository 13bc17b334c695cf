//! Progress bars of the CLI's long steps, all drawn alike.

/// A bar of `len` steps drawn with `template` (indicatif's syntax), or a hidden one when `quiet`.
pub fn bar(quiet: bool, len: u64, template: &str) -> indicatif::ProgressBar {
    let bar = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(len)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}
