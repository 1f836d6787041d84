//! gpu-limit-required: `validate` on AdmissionRequests built from fuzz bytes
//! (every workload kind, random containers, quantities, tolerations,
//! affinities, wrong-typed fields) with fuzzed settings.
#![no_main]
use gpu_policies_fuzz::{
    ClusterM, Policy, RequestM, SettingsM, payload, settings_keys, validate_checked,
};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fuzz_target!(|input: (RequestM, Option<SettingsM>, ClusterM)| {
    let (request, settings, cluster) = input;
    let settings = settings.map_or(json!({}), |s| s.value(settings_keys(Policy::LimitRequired)));
    let request: Value = request.request();
    let namespace = request["namespace"].as_str().unwrap_or_default().to_owned();
    validate_checked(
        Policy::LimitRequired,
        &payload(&request, &settings),
        &cluster.cluster(&namespace),
    );
});
