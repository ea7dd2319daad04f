//! Fuzz target: bundle_format::fuzzing::entry_path must never panic, whatever the input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    bundle_format::fuzzing::entry_path(data);
});
