//! Fuzz target: bundle_format::fuzzing::pretrust (the bounded probe and the item count run on
//! unauthenticated manifests) must never panic, whatever the input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    bundle_format::fuzzing::pretrust(data);
});
