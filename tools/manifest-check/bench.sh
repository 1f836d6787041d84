#!/usr/bin/env bash
# Times gpu-policy-check (release build) on N generated objects (default 1000)
# against the four built policies. Run from anywhere in the workspace:
#   tools/manifest-check/bench.sh [N]
# Needs `make build` first.
set -euo pipefail
N="${1:-1000}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
cargo build --release -q -p manifest-check
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/gpu-policy-check"
DIR="$(mktemp -d)"
trap 'rm -rf "$DIR"' EXIT
for ((i = 0; i < N; i++)); do
  if ((i % 2 == 0)); then ns=ml-training; gpu=1; else ns=web; gpu=0; fi
  cat <<YAML
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app-$i, namespace: $ns}
spec:
  selector: {matchLabels: {app: a$i}}
  template:
    metadata: {labels: {app: a$i, gpu-workload-type: training}}
    spec:
      tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
      containers:
      - name: c
        image: nvcr.io/nvidia/pytorch:24.05-py3
        resources: {limits: {nvidia.com/gpu: $gpu, memory: 1Gi}}
YAML
done > "$DIR/many.yaml"
cp examples/workloads/ml-training-namespace.yaml examples/workloads/web-namespace.yaml "$DIR/"
echo "checking $N objects x 4 policies with $BIN" >&2
start=$(date +%s.%N)
set +e
"$BIN" --output json "$DIR" > "$DIR/report.json"
status=$?
set -e
end=$(date +%s.%N)
echo "exit $status; $(grep -c '"verdict"' "$DIR/report.json") results; $(echo "$end - $start" | bc) s" >&2
