//! Every policy's `validate_settings` on raw bytes.
#![no_main]
use gpu_policies_fuzz::{POLICIES, validate_settings};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for policy in POLICIES {
        validate_settings(policy, data);
    }
});
