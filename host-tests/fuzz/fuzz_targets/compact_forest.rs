#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| emkern_fuzz::compact_forest::run(data));
