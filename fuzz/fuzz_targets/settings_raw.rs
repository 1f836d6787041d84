//! Every policy's `validate_settings` on raw bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| gpu_policies_fuzz::settings_raw(data));
