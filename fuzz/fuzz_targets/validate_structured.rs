//! Every policy's `validate` on AdmissionRequests built from fuzz bytes,
//! with fuzzed settings and a fuzzed cluster.
#![no_main]
use gpu_policies_fuzz::{ClusterM, RequestM, SettingsM};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (RequestM, Option<SettingsM>, ClusterM)| {
    let (request, settings, cluster) = input;
    gpu_policies_fuzz::validate_structured(&request, settings.as_ref(), &cluster);
});
