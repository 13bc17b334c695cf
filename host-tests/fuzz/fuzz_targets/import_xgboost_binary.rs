#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| emkern_fuzz::import_xgboost_binary::run(data));
