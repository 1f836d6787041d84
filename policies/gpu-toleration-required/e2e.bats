#!/usr/bin/env bats
# Runs the policy's test_data through kwctl. `make annotate` writes annotated/gpu-toleration-required.wasm.
# Hermetic: the policy reads only a pod's DRA claims and the Node a pod names
# (contextAwareResources: ResourceClaim, ResourceClaimTemplate, Node). Cases
# without them make no lookup and run without --allow-context-aware; the others
# replay a session (test_data/sessions/*.yml), so kwctl never needs a
# kubeconfig or a cluster.

setup() {
  command -v kwctl >/dev/null 2>&1 || skip "kwctl is not installed (https://github.com/kubewarden/kwctl); skipping"
  POLICY="${POLICY_WASM:-$BATS_TEST_DIRNAME/../../annotated/gpu-toleration-required.wasm}"
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

# --- GPU workloads must tolerate the GPU taint (validate mode) ---

@test "accepts a GPU pod that tolerates nvidia.com/gpu" {
  run kwctl run --request-path "$DATA/requests/pod-gpu-tolerated.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
  [[ "$output" != *'"patchType"'* ]]
}

@test "rejects a GPU pod without the GPU toleration, naming the toleration to add" {
  run kwctl run --request-path "$DATA/requests/pod-gpu-no-toleration.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'add {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule} to spec.tolerations'* ]]
}

@test "rejects a Job whose only GPU is in an init container" {
  run kwctl run --request-path "$DATA/requests/job-gpu-init-only.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'spec.template.spec.initContainers[0]'* ]]
}

@test "rejects a StatefulSet that tolerates the GPU taint with the wrong effect" {
  run kwctl run --request-path "$DATA/requests/statefulset-gpu-wrong-effect.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'has effect NoExecute, not NoSchedule'* ]]
}

@test "accepts the AKS sku=gpu toleration when sku=gpu is the configured taint" {
  run kwctl run --request-path "$DATA/requests/pod-gpu-aks-sku.json" --settings-path "$DATA/settings/aks-sku.json" "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
}

# --- workloads without GPUs must not tolerate the GPU taint ---

@test "rejects a DaemonSet that tolerates every taint" {
  run kwctl run --request-path "$DATA/requests/daemonset-logging-tolerates-all.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'an empty key tolerates every taint'* ]]
}

@test "rejects a web Deployment that tolerates nvidia.com/gpu" {
  run kwctl run --request-path "$DATA/requests/deployment-web-gpu-toleration.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'spec.template.spec.tolerations[0]'* ]]
}

@test "accepts the tolerate-everything DaemonSet with rejectNonGpuTolerations false" {
  run kwctl run --request-path "$DATA/requests/daemonset-logging-tolerates-all.json" --settings-json '{"rejectNonGpuTolerations": false}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
}

# --- mode: mutate ---

@test "mutate mode adds the missing toleration to a Deployment" {
  run kwctl run --request-path "$DATA/requests/deployment-gpu-no-tolerations.json" --settings-path "$DATA/settings/mutate.json" "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
  [[ "$output" == *'"patchType":"JSONPatch"'* ]]
}

@test "mutate mode adds the missing toleration to a CronJob" {
  run kwctl run --request-path "$DATA/requests/cronjob-gpu-no-toleration.json" --settings-path "$DATA/settings/mutate.json" "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
  [[ "$output" == *'"patchType":"JSONPatch"'* ]]
}

@test "mutate mode leaves an already mutated pod alone (idempotent)" {
  run kwctl run --request-path "$DATA/requests/pod-gpu-mutated.json" --settings-path "$DATA/settings/mutate.json" "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
  [[ "$output" != *'"patchType"'* ]]
}

@test "mutate mode still rejects a non-GPU workload tolerating the GPU taint" {
  run kwctl run --request-path "$DATA/requests/deployment-web-gpu-toleration.json" --settings-path "$DATA/settings/mutate.json" "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
}

# --- settings ---

@test "rejects unknown modes in the settings" {
  run kwctl run --request-path "$DATA/requests/pod-gpu-tolerated.json" --settings-path "$DATA/invalid-settings/mode-unknown.json" "$POLICY"
  [ "$status" -ne 0 ]
  [[ "$output" == *'expected `validate` or `mutate`'* ]]
}

@test "rejects an empty taints list in the settings" {
  run kwctl run --request-path "$DATA/requests/pod-gpu-tolerated.json" --settings-path "$DATA/invalid-settings/taints-empty.json" "$POLICY"
  [ "$status" -ne 0 ]
  [[ "$output" == *'taints: must list at least one taint'* ]]
}

# --- Dynamic Resource Allocation: a GPU device class's implicit resource name ---

@test "rejects a pod asking for deviceclass.resource.kubernetes.io/gpu.nvidia.com without the NVIDIA toleration" {
  run kwctl run --request-path "$DATA/requests/pod-dra-implicit-no-toleration.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'add {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule} to spec.tolerations'* ]]
}

@test "accepts NVIDIA's DRA quickstart pod with its GPU toleration" {
  replay pod-dra-claim-gpu-tolerated.json dra-template-gpu.yml '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
  [[ "$output" != *'could not be read'* ]]
}

@test "rejects a Deployment claiming a gpu.nvidia.com device without the NVIDIA toleration" {
  replay deployment-dra-claim-no-toleration.json dra-template-gpu.yml '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'(ResourceClaimTemplate single-gpu, device class gpu.nvidia.com) but does not tolerate the GPU node taint nvidia.com/gpu:NoSchedule'* ]]
}

@test "mutate mode adds the NVIDIA toleration to a Job claiming a gpu.nvidia.com device" {
  replay job-dra-claim-no-toleration.json dra-template-gpu.yml '{"mode": "mutate"}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
  [[ "$output" == *'"patchType":"JSONPatch"'* ]]
}

@test "neither rejects nor mutates a claim pod whose template is not there yet, with a warning" {
  replay pod-dra-claim-no-toleration.json dra-template-not-found.yml '{"mode": "mutate"}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
  [[ "$output" != *'"patchType"'* ]]
  [[ "$output" == *'no toleration is added for the claim'* ]]
}

@test "rejects the GPU toleration of a pod whose only claim is a NIC" {
  replay statefulset-dra-claim-gpu-tolerated.json dra-template-nic.yml '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'but the pod requests no GPU'* ]]
}

# --- Tolerations the cluster adds itself ---

@test "accepts a suspended Kueue Job without its GPU toleration, with a warning" {
  run kwctl run --request-path "$DATA/requests/job-kueue-suspended-no-toleration.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
  [[ "$output" == *'Kueue holds the Job'* ]]
}

@test "rejects the update that unsuspends the Kueue Job without its GPU toleration" {
  run kwctl run --request-path "$DATA/requests/job-kueue-unsuspended-no-toleration-update.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'does not tolerate the GPU node taint nvidia.com/gpu:NoSchedule'* ]]
}

@test "accepts a Deployment without its nvidia.com/gpu toleration under extendedResourceToleration, with a warning" {
  run kwctl run --request-path "$DATA/requests/deployment-gpu-no-tolerations.json" --settings-json '{"extendedResourceToleration": true}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
  [[ "$output" == *'ExtendedResourceToleration plugin adds'* ]]
}

@test "rejects the same Deployment on sku=gpu pools: the plugin does not add that toleration" {
  run kwctl run --request-path "$DATA/requests/deployment-gpu-no-tolerations.json" \
    --settings-json '{"extendedResourceToleration": true, "taints": [{"resourcePattern": "nvidia.com/*", "key": "sku", "value": "gpu", "effect": "NoSchedule"}]}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'sku=gpu:NoSchedule'* ]]
}

@test "rejects a pod without GPUs that names a GPU-tainted node" {
  replay pod-cpu-node-name.json node-gpu-tainted.yml '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'which carries the GPU taint nvidia.com/gpu:NoSchedule, but the pod requests no GPU'* ]]
}

@test "accepts a pod naming a node, with a warning, when run without --allow-context-aware" {
  run kwctl run --request-path "$DATA/requests/pod-cpu-node-name.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
  [[ "$output" == *'cannot read Node'* ]]
}
