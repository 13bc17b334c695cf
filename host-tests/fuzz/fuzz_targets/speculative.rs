#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| emkern_fuzz::speculative::run(data));
