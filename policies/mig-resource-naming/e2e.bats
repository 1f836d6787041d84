#!/usr/bin/env bats
# Runs the policy's test_data through kwctl. `make annotate` writes annotated/mig-resource-naming.wasm.
# Hermetic: the policy reads only a pod's DRA claims (contextAwareResources:
# ResourceClaim, ResourceClaimTemplate). Cases without claims make no lookup and
# run without --allow-context-aware; cases with claims replay a session
# (test_data/sessions/*.yml), so kwctl never needs a kubeconfig or a cluster.
setup() {
  command -v kwctl >/dev/null 2>&1 || skip "kwctl is not installed (https://github.com/kubewarden/kwctl); skipping"
  POLICY="${POLICY_WASM:-$BATS_TEST_DIRNAME/../../annotated/mig-resource-naming.wasm}"
  [ -f "$POLICY" ] || skip "$POLICY is missing: run make annotate"
  DATA="$BATS_TEST_DIRNAME/test_data"
}

# replay REQUEST SESSION SETTINGS_JSON: kwctl run answering the claim lookups
# from test_data/sessions/SESSION.
replay() {
  run kwctl run --allow-context-aware \
    --replay-host-capabilities-interactions "$DATA/sessions/$2" \
    --request-path "$DATA/requests/$1" --settings-json "$3" "$POLICY"
}

@test "accepts a well-formed MIG resource" {
  run kwctl run --request-path "$DATA/requests/pod-mig-1g10gb.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
}

@test "rejects an upper-case MIG name and suggests the lower-case one" {
  run kwctl run --request-path "$DATA/requests/pod-mig-uppercase.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'nvidia.com/mig-1g.10gb'* ]]
}

@test "rejects a missing mig- prefix" {
  run kwctl run --request-path "$DATA/requests/pod-mig-missing-prefix.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'mig-'* ]]
}

@test "rejects '+' in a resource name" {
  run kwctl run --request-path "$DATA/requests/pod-mig-plus.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'nvidia.com/mig-1g.10gb.me'* ]]
}

@test "rejects an unknown profile with the nearest known one" {
  run kwctl run --request-path "$DATA/requests/pod-mig-unknown-profile.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'nearest known profile'* ]]
}

@test "rejects a shared MIG slice when allowShared is false" {
  run kwctl run --request-path "$DATA/requests/pod-mig-shared.json" --settings-json '{"allowShared": false}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'allowShared is false'* ]]
}

@test "rejects nvidia.com/mig-* under the single strategy" {
  run kwctl run --request-path "$DATA/requests/pod-mig-1g10gb.json" --settings-json '{"strategy": "single"}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'MIG strategy is single'* ]]
}

@test "rejects whole GPUs and MIG slices in one container" {
  run kwctl run --request-path "$DATA/requests/pod-gpu-and-mig.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'whole GPUs'* ]]
}

@test "rejects two MIG profiles in one container" {
  run kwctl run --request-path "$DATA/requests/pod-two-mig-profiles.json" --settings-json '{"maxMigDevicesPerContainer": 2}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'2 MIG profiles'* ]]
}

@test "rejects more MIG devices than maxMigDevicesPerContainer" {
  run kwctl run --request-path "$DATA/requests/pod-two-mig-devices.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'maxMigDevicesPerContainer'* ]]
}

@test "rejects a product that does not offer the profile" {
  run kwctl run --request-path "$DATA/requests/pod-product-a100-40gb-1g20gb.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'has no MIG profile 1g.20gb'* ]]
}

@test "rejects a -MIG- product suffix the model does not have" {
  run kwctl run --request-path "$DATA/requests/pod-single-gpu-mig-suffix-bad.json" --settings-json '{"strategy": "single"}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
}

@test "accepts an unknown product, with a warning" {
  run kwctl run --request-path "$DATA/requests/pod-product-unknown.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
  [[ "$output" == *'a product the MIG catalogue does not know'* ]]
}

# --- Dynamic Resource Allocation claims: the MIG profiles of CEL selectors ---

@test "accepts NVIDIA's DRA MIG demo (two slices from one ResourceClaimTemplate)" {
  replay pod-dra-mig-claim.json dra-mig-devices.yml '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
  [[ "$output" != *'could not be read'* ]]
}

@test "rejects a Deployment whose claim template selects a misspelt MIG profile" {
  replay deployment-dra-mig-claim.json dra-mig-devices-typos.yml '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'selects MIG profile \"1g.5gbb\"'* ]]
}

@test "accepts a MIG claim pod with a warning when its template is not there yet" {
  replay job-dra-mig-claim.json dra-mig-devices-not-found.yml '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
  [[ "$output" == *'the MIG profiles it selects were not checked'* ]]
}

@test "rejects invalid settings" {
  run kwctl run --request-path "$DATA/requests/pod-mig-1g10gb.json" --settings-path "$DATA/invalid-settings/gpu-models-unknown.json" "$POLICY"
  [ "$status" -ne 0 ]
  [[ "$output" == *'gpuModels'* ]]
}

# --- DRA objects: ResourceClaimTemplate, ResourceClaim, DeviceClass (no lookups) ---

@test "accepts NVIDIA's MIG demo ResourceClaimTemplate" {
  run kwctl run --request-path "$DATA/requests/resourceclaimtemplate-mig-demo.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
}

@test "rejects the demo template with profile 1g.5g, naming the selector" {
  run kwctl run --request-path "$DATA/requests/resourceclaimtemplate-mig-demo-typo.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'spec.spec.devices.requests[0].exactly.selectors[0].cel.expression: selects MIG profile \"1g.5g\"'* ]]
  [[ "$output" == *"select '1g.5gb'"* ]]
}

@test "rejects the demo template on an H100-only cluster" {
  run kwctl run --request-path "$DATA/requests/resourceclaimtemplate-mig-demo.json" --settings-json '{"gpuModels": ["H100-80GB"]}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'MIG profile 1g.5gb exists on none of gpuModels (H100-80GB)'* ]]
}

@test "warns about CEL it does not read" {
  run kwctl run --request-path "$DATA/requests/resourceclaim-cel-not-read.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
  [[ "$output" == *'in a form this policy does not read'* ]]
}

@test "accepts NVIDIA's MIG 1g.12gb DeviceClass and rejects its misspelt extended resource name" {
  run kwctl run --request-path "$DATA/requests/deviceclass-mig-1g12gb.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
  run kwctl run --request-path "$DATA/requests/deviceclass-mig-1g12g-typo.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'spec.extendedResourceName: \"nvidia.com/mig-1g.12g\"'* ]]
}
