//! mig-resource-naming: the `validate` entry point on raw bytes (kwctl's payload
//! `{"request": ..., "settings": ...}`, or anything else).
#![no_main]
use gpu_policies_fuzz::{FakeCluster, Policy, validate_checked};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    validate_checked(Policy::MigResourceNaming, data, &FakeCluster::standard());
});
