//! Fuzz target: bundle_format::fuzzing::decode_manifest must never panic, whatever the input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    bundle_format::fuzzing::decode_manifest(data);
});
