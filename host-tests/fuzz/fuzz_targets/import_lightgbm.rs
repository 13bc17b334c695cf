#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| emkern_fuzz::import_lightgbm::run(data));
