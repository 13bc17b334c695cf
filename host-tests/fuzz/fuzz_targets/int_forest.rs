#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| emkern_fuzz::int_forest::run(data));
