#!/usr/bin/env bats
# Runs the policy's test_data through kwctl. `make annotate` writes annotated/mig-resource-naming.wasm.
# Hermetic: the policy is not context aware (metadata.yml: contextAware: false,
# no contextAwareResources), so kwctl runs it without --allow-context-aware and
# never needs a kubeconfig, a cluster or a replay session.
setup() {
  command -v kwctl >/dev/null 2>&1 || skip "kwctl is not installed (https://github.com/kubewarden/kwctl); skipping"
  POLICY="${POLICY_WASM:-$BATS_TEST_DIRNAME/../../annotated/mig-resource-naming.wasm}"
  [ -f "$POLICY" ] || skip "$POLICY is missing: run make annotate"
  DATA="$BATS_TEST_DIRNAME/test_data"
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

@test "accepts an unknown product" {
  run kwctl run --request-path "$DATA/requests/pod-product-unknown.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
}

@test "rejects invalid settings" {
  run kwctl run --request-path "$DATA/requests/pod-mig-1g10gb.json" --settings-path "$DATA/invalid-settings/gpu-models-unknown.json" "$POLICY"
  [ "$status" -ne 0 ]
  [[ "$output" == *'gpuModels'* ]]
}
