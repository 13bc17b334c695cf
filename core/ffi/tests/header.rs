//! `include/emkern.h` is what cbindgen generates from this crate today: the test regenerates it and compares.
//! `EMKERN_BLESS=1 cargo test -p emkern-ffi --test header` (or `scripts/ffi-header.sh`) rewrites the file.

use std::path::Path;

#[test]
fn checked_in_header_is_current() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .expect("core/ffi/cbindgen.toml parses");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let generated = String::from_utf8(generated).expect("the header is UTF-8");
    let path = crate_dir.join("include/emkern.h");
    if std::env::var_os("EMKERN_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).expect("write include/emkern.h");
        eprintln!("wrote {}", path.display());
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "core/ffi/include/emkern.h is stale (or missing): regenerate it with scripts/ffi-header.sh \
         (EMKERN_BLESS=1 cargo test -p emkern-ffi --test header) and commit it"
    );
}
