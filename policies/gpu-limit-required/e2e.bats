#!/usr/bin/env bats
# Runs the policy's test_data through kwctl. `make annotate` writes annotated/gpu-limit-required.wasm.
# Hermetic: the policy reads only a pod's DRA claims (contextAwareResources:
# ResourceClaim, ResourceClaimTemplate). Cases without claims make no lookup and
# run without --allow-context-aware; cases with claims replay a session
# (test_data/sessions/*.yml), so kwctl never needs a kubeconfig or a cluster.
setup() {
  command -v kwctl >/dev/null 2>&1 || skip "kwctl is not installed (https://github.com/kubewarden/kwctl); skipping"
  POLICY="${POLICY_WASM:-$BATS_TEST_DIRNAME/../../annotated/gpu-limit-required.wasm}"
  [ -f "$POLICY" ] || skip "$POLICY is missing: run make annotate"
  DATA="$BATS_TEST_DIRNAME/test_data"
}

# kwctl run REQUEST SETTINGS_JSON
check() {
  run kwctl run --request-path "$DATA/requests/$1" --settings-json "$2" "$POLICY"
}

# replay REQUEST SESSION SETTINGS_JSON: kwctl run answering the claim lookups
# from test_data/sessions/SESSION.
replay() {
  run kwctl run --allow-context-aware \
    --replay-host-capabilities-interactions "$DATA/sessions/$2" \
    --request-path "$DATA/requests/$1" --settings-json "$3" "$POLICY"
}

@test "accepts a GPU pod with a limit, a GPU toleration and a GPU node selector" {
  check bench-gpu-pod.json '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
}

@test "accepts a pod that does not use GPUs" {
  check pod-non-gpu.json '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
}

@test "accepts a DELETE" {
  check pod-delete.json '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
}

@test "rejects a GPU toleration without a GPU limit" {
  check pod-toleration-no-limit.json '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'spec.tolerations[0]: tolerates the GPU taint nvidia.com/gpu:NoSchedule but no container sets a GPU limit'* ]]
}

@test "rejects a GPU node selector without a GPU limit" {
  check deployment-node-selector-no-limit.json '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'nodeSelector[\"nvidia.com/gpu.present\"]'* ]]
}

@test "rejects runtimeClassName nvidia without a GPU limit" {
  check daemonset-runtime-class-no-limit.json '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'spec.template.spec.runtimeClassName'* ]]
}

@test "gpuTaints replaces the default GPU taints" {
  check deployment-custom-taint-no-limit.json '{"gpuTaints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'dedicated=gpu:NoSchedule'* ]]
}

@test "rejects a GPU request without a limit" {
  check job-request-no-limit.json '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'requests nvidia.com/gpu: 2 but sets no limit'* ]]
}

@test "rejects a GPU request that differs from the limit" {
  check cronjob-request-limit-mismatch.json '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'requests nvidia.com/gpu: 2 but limits it to 1'* ]]
}

@test "accepts request 1000m with limit 1" {
  check deployment-request-equals-limit-millis.json '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
}

@test "rejects a fractional GPU limit" {
  check pod-fractional-limit.json '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'is not a whole number of devices'* ]]
}

@test "rejects a zero GPU limit" {
  check replicationcontroller-zero-limit.json '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'is zero'* ]]
}

@test "rejects NVIDIA_VISIBLE_DEVICES without a GPU limit" {
  check pod-visible-devices-no-limit.json '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'spec.containers[0].env[1]'* ]]
  [[ "$output" == *'NVIDIA_VISIBLE_DEVICES'* ]]
}

@test "checkVisibleDevicesEnv false allows NVIDIA_VISIBLE_DEVICES" {
  check pod-visible-devices-no-limit.json '{"checkVisibleDevicesEnv": false}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
}

@test "accepts NVIDIA_VISIBLE_DEVICES=void" {
  check job-visible-devices-void.json '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
}

@test "rejects NVIDIA_VISIBLE_DEVICES in an ephemeral container" {
  check pod-ephemeral-visible-devices.json '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'ephemeralContainers[0].env[0]'* ]]
}

@test "rejects a container above maxGpusPerContainer" {
  check statefulset-four-gpus.json '{"maxGpusPerContainer": 1}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'more than maxGpusPerContainer 1'* ]]
}

@test "rejects a pod above maxGpusPerPod (effective request)" {
  check job-init-sidecar-gpus.json '{"maxGpusPerPod": 3}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'the pod asks for 4 GPU devices'* ]]
}

@test "accepts a pod at maxGpusPerPod" {
  check job-init-sidecar-gpus.json '{"maxGpusPerPod": 4}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
}

@test "reports every violation of one object" {
  check cronjob-several-violations.json '{"maxGpusPerContainer": 1}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'7 violations'* ]]
}

@test "invalid settings are refused" {
  for f in "$DATA"/invalid-settings/*.json; do
    run kwctl run --request-path "$DATA/requests/pod-gpu-limit.json" --settings-path "$f" "$POLICY"
    [ "$status" -ne 0 ] || { echo "kwctl exited 0 with $f: $output"; return 1; }
    [[ "$output" != *'"allowed":true'* ]] || { echo "accepted with $f"; return 1; }
  done
}

@test "accepts one GPU asked for by the gpu.nvidia.com device class's implicit name, rejects half of one" {
  run kwctl run --request-path "$DATA/requests/pod-dra-implicit-gpu.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
  run kwctl run --request-path "$DATA/requests/pod-dra-implicit-fraction.json" --settings-json '{}' "$POLICY"
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'deviceclass.resource.kubernetes.io/gpu.nvidia.com'* ]]
}

@test "accepts NVIDIA's DRA quickstart pod (claim of a gpu.nvidia.com template, GPU toleration, no limit)" {
  replay pod-dra-claim-gpu-targeting.json dra-template-gpu.yml '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
  [[ "$output" != *'could not be read'* ]]
}

@test "rejects a Job aimed at GPU nodes whose only claim is a NIC" {
  replay job-dra-claim-gpu-targeting.json dra-template-nic.yml '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'but no container sets a GPU limit'* ]]
}

@test "counts a claim's devices against maxGpusPerContainer" {
  replay pod-dra-claim-gpu-targeting.json dra-template-four-gpus.yml '{"maxGpusPerContainer": 2}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'asks for 4 GPU devices (spec.resourceClaims[0] \"gpu\": 4), more than maxGpusPerContainer 2'* ]]
}

@test "accepts a claim pod with a warning when the template is not there yet" {
  replay deployment-dra-claim-gpu-targeting.json dra-template-not-found.yml '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
  [[ "$output" == *'its device class could not be read (it does not exist)'* ]]
}

@test "accepts a claim pod with a warning when run without --allow-context-aware" {
  check pod-dra-claim-gpu-targeting.json '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
  [[ "$output" == *'its device class could not be read'* ]]
}

# --- checkDeviceAccess ---

@test "rejects a Deployment's privileged sidecar, GPU hostPath, device-list mount and CDI annotation" {
  check deployment-device-access-bypasses.json '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'4 violations'* ]]
  [[ "$output" == *'spec.template.metadata.annotations[\"cdi.k8s.io/gpus\"]'* ]]
}

@test "accepts a privileged CSI DaemonSet that mounts /dev and asks for no GPU" {
  check daemonset-csi-node-mounts-dev.json '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
}

# --- DRA objects: ResourceClaimTemplate and ResourceClaim ---

@test "accepts NVIDIA's MIG demo ResourceClaimTemplate" {
  check resourceclaimtemplate-mig-demo.json '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
}

@test "rejects a 4-GPU ResourceClaimTemplate under maxGpusPerContainer 2" {
  check resourceclaimtemplate-gpu-count-4.json '{"maxGpusPerContainer": 2}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'spec.spec.devices.requests[0].exactly.count: asks for 4 gpu.nvidia.com devices, more than maxGpusPerContainer 2'* ]]
}

@test "rejects GPU adminAccess in a ResourceClaim unless allowAdminAccess" {
  check resourceclaim-gpu-admin-access.json '{}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":false'* ]]
  [[ "$output" == *'spec.devices.requests[0].exactly.adminAccess'* ]]
  check resourceclaim-gpu-admin-access.json '{"allowAdminAccess": true}'
  [ "$status" -eq 0 ]
  [[ "$output" == *'"allowed":true'* ]]
}
