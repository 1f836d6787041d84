//! The mutate-mode invariants of every policy with a validate/mutate mode,
//! on AdmissionRequests built from fuzz bytes.
#![no_main]
use gpu_policies_fuzz::{RequestM, SettingsM};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (RequestM, Option<SettingsM>)| {
    let (request, settings) = input;
    gpu_policies_fuzz::mutate_structured(&request, settings.as_ref());
});
