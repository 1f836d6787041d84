#!/usr/bin/env bats
# Runs the policy's test_data through kwctl. `make annotate` writes annotated/<name>.wasm.
# Context aware, and hermetic: every `kwctl run --allow-context-aware` gets a
# replay session (test_data/sessions/*.yml, exchanges in the order the policy
# makes them), so kwctl never looks for a kubeconfig or a cluster. Cases that
# make no lookup use the empty session no-lookups.yml.
setup() {
  command -v kwctl >/dev/null 2>&1 || skip "kwctl is not installed (https://github.com/kubewarden/kwctl); skipping"
  POLICY="${POLICY_WASM:-$BATS_TEST_DIRNAME/../../annotated/gpu-isolated-namespace.wasm}"
  [ -f "$POLICY" ] || skip "$POLICY is missing: run make annotate"
  DATA="$BATS_TEST_DIRNAME/test_data"
}

# run_policy <request> <session> [settings json]
# <session>: a file in test_data/sessions/; no-lookups.yml when no lookup is expected.
run_policy() {
  local request="$1" session="$2" settings="${3:-{\}}"
  run kwctl run --allow-context-aware \
    --replay-host-capabilities-interactions "$DATA/sessions/$session" \
    --request-path "$DATA/requests/$request" --settings-json "$settings" "$POLICY"
}

@test "accepts a training pod in the training namespace" {
  run_policy pod-training-gpu.json ml-training.yml
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
}

@test "rejects a GPU Job in a namespace without the GPU label" {
  run_policy job-in-unlabelled-namespace.json research.yml
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'kubectl label namespace research gpu-workload-type=training'* ]]
}

@test "rejects an inference pod in a training namespace" {
  run_policy pod-inference-in-training-ns.json ml-training.yml
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'does not match namespace'* ]]
}

@test "rejects a GPU pod without the pod label" {
  run_policy pod-training-no-label.json ml-training.yml
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'has no label gpu-workload-type'* ]]
}

@test "rejects a namespace without a default-deny NetworkPolicy" {
  run_policy cronjob-batch.json ml-batch-ingress-only.yml
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'has no default-deny NetworkPolicy'* ]]
}

@test "rejects a namespace without a GPU quota when requireGpuQuota is set" {
  run_policy daemonset-inference-amd.json ml-inference.yml '{"requireGpuQuota": true}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'requests.amd.com/gpu'* ]]
}

@test "accepts a Job in a namespace with a GPU quota" {
  run_policy job-training.json ml-training.yml '{"requireGpuQuota": true}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
}

@test "fails closed when the namespace does not exist" {
  run_policy pod-in-missing-namespace.json namespace-not-found.yml
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'cannot read Namespace'* ]]
  [[ "$output" == *'it does not exist'* ]]
}

@test "says why a lookup failed in one line, never the host's backtrace" {
  # RUST_BACKTRACE makes the host's error text carry a stack backtrace.
  RUST_BACKTRACE=1 run_policy pod-in-missing-namespace.json namespace-not-found.yml
  [ "$status" -eq 0 ]
  # The policy's answer (kwctl's own log lines may show the host's error).
  response=$(printf '%s\n' "$output" | grep '"allowed"')
  [[ "$response" == *'"allowed":false'* ]]
  [[ "$response" == *'label: it does not exist (fix: create namespace \"ghost\" labelled gpu-workload-type=inference)'* ]]
  [[ "$response" != *'acktrace'* ]]
  [[ "$response" != *'anyhow'* ]]
}

@test "fails closed when NetworkPolicies cannot be listed" {
  run_policy pod-training-gpu.json ml-training-netpol-error.yml
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'cannot list the NetworkPolicies'* ]]
}

@test "accepts a CPU-only pod without any lookup" {
  run_policy pod-cpu-only.json no-lookups.yml
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
}

@test "rejects deleting the only default-deny of a GPU namespace" {
  run_policy networkpolicy-delete-default-deny.json ml-training.yml
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'is the only default-deny of GPU namespace'* ]]
}

@test "accepts deleting one of two default-denies" {
  run_policy networkpolicy-delete-default-deny.json ml-training-two-denies.yml
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
}

@test "rejects narrowing the default-deny to ingress only" {
  run_policy networkpolicy-update-ingress-only.json ml-training.yml
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'policyTypes lacks Egress'* ]]
}

@test "rejects invalid settings" {
  # kwctl runs validate_settings before validate and exits non-zero with its
  # message; the empty session keeps it from reaching for a cluster first.
  run kwctl run --allow-context-aware \
    --replay-host-capabilities-interactions "$DATA/sessions/no-lookups.yml" \
    --request-path "$DATA/requests/pod-cpu-only.json" \
    --settings-path "$DATA/invalid-settings/empty-workload-types.json" "$POLICY"
  [ "$status" -ne 0 ]
  [[ "$output" == *'workloadTypes'* ]]
}

# --- Dynamic Resource Allocation claims: the claim's template is read first ---

@test "accepts NVIDIA's DRA quickstart pod in its training namespace, reading its ResourceClaimTemplate" {
  run_policy pod-dra-claim-training.json ml-training-dra-gpu-template.yml
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
}

@test "rejects a DRA GPU Job in a namespace without the GPU label" {
  run_policy job-dra-claim-in-unlabelled-namespace.json research-dra-gpu-template.yml
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'is not a GPU namespace'* ]]
}

@test "accepts a pod whose only claim is a NIC" {
  run_policy pod-dra-nic-claim.json research-dra-nic-claim.yml
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
}

@test "accepts a GPU ResourceClaimTemplate in its training namespace" {
  run_policy resourceclaimtemplate-gpu-training.json ml-training.yml
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
}

@test "rejects a GPU ResourceClaimTemplate in a namespace without the GPU label" {
  run_policy resourceclaimtemplate-gpu-in-unlabelled-namespace.json research.yml
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'namespace \"research\" is not a GPU namespace'* ]]
}

@test "rejects a MIG ResourceClaim in a namespace that allows DRA admin access" {
  run_policy resourceclaim-mig-in-admin-access-namespace.json gpu-monitoring-admin-access.yml
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'resource.kubernetes.io/admin-access=true'* ]]
}

@test "accepts a NIC ResourceClaim without any lookup" {
  run_policy resourceclaim-nic.json no-lookups.yml
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
}
