//! Every policy's `validate` on raw bytes (kwctl's payload
//! `{"request": ..., "settings": ...}`, or anything else).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| gpu_policies_fuzz::validate_raw(data));
