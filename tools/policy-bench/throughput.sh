#!/usr/bin/env bash
# policy-server throughput: one locally built policy-server (Kubewarden's;
# nothing of it is in this repository) serves every annotated policy module
# of this repository, the no-op guest and any EXTRA modules over plain HTTP
# on loopback; wrk sends the same AdmissionReview to each in turn at 1, 4
# and 16 connections and reports requests per second and p50 / p99 latency.
#
#   POLICY_SERVER=/path/to/policy-server tools/policy-bench/throughput.sh [EXTRA.wasm ...]
#
# Needs policy-server (POLICY_SERVER, default: on PATH), wrk (Debian's
# package) and `make annotate`. A policy whose answer to the request needs
# a lookup (gpu-isolated-namespace reads the Namespace) is left out, and
# said so: policy-server has no replay session, and its lookups would need a
# Kubernetes API server.
set -euo pipefail
cd "$(dirname "$0")/../.."
server=${POLICY_SERVER:-policy-server}
request=${REQUEST:-tools/policy-bench/data/gpu-pod-request.json}
duration=${DURATION:-10s}
workers=${WORKERS:-2}
port=${PORT:-3100}
out=target/bench/throughput
for tool in "$server" wrk; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed: no throughput table"; exit 0; }
done
# shellcheck source=tools/policy-bench/modules.sh
source tools/policy-bench/modules.sh
bench_modules "$out" "${KWCTL:-kwctl}" "$@"

# The policies file: one entry per module, named after it.
: >"$out/policies.yml"
names=()
for m in "${modules[@]}"; do
  name=$(basename "$m" .wasm)
  names+=("$name")
  printf '%s:\n  module: file://%s\n  settings: {}\n' "$name" "$(realpath "$m")" >>"$out/policies.yml"
done
# The AdmissionReview wrk sends.
python3 -c 'import json, sys; print(json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": json.load(open(sys.argv[1]))}))' \
  "$request" >"$out/review.json"
cat >"$out/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$out/review.json", "r")
wrk.body = f:read("*a")
f:close()
LUA

"$server" --addr 127.0.0.1 --port "$port" --workers "$workers" --policies "$out/policies.yml" \
  --policies-download-dir "$out/downloads" --ignore-kubernetes-connection-failure \
  --readiness-probe-port $((port + 1)) --log-level warn >"$out/policy-server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$((port + 1))/readiness" >/dev/null 2>&1 && break
  sleep 0.5
done
# Each answer must allow the request; one that cannot without a cluster
# is left out.
allowed=()
left_out=()
for name in "${names[@]}"; do
  answer=$(curl -s -X POST -H 'Content-Type: application/json' --data @"$out/review.json" \
    "http://127.0.0.1:$port/validate/$name")
  if [[ $answer == *'"allowed":true'* ]]; then allowed+=("$name"); else left_out+=("$name"); fi
done
[[ ${allowed[0]} == no-op-guest ]] || { echo "policy-server does not answer: see $out/policy-server.log"; exit 1; }
names=("${allowed[@]}")

echo "policy-server $("$server" --version 2>/dev/null | head -n1 | awk '{print $NF}'), $workers workers, plain HTTP on loopback; wrk $duration per cell; request $(basename "$request"):"
echo
if ((${#left_out[@]})); then
  echo "Left out (the request needs a lookup, and there is no API server): ${left_out[*]}."
  echo
fi
echo "| module | connections | requests/s | p50 ms | p99 ms |"
echo "|---|--:|--:|--:|--:|"
ms() { awk '{ v = $1; u = $1; sub(/[0-9.]+/, "", u); v += 0; if (u == "us") v /= 1000; if (u == "s") v *= 1000; printf "%.2f", v }' <<<"$1"; }
for c in 1 4 16; do
  for name in "${names[@]}"; do
    result=$(wrk -t "$((c < 2 ? 1 : 2))" -c "$c" -d "$duration" --latency -s "$out/post.lua" \
      "http://127.0.0.1:$port/validate/$name")
    rps=$(awk '/^Requests\/sec/ { printf "%.0f", $2 }' <<<"$result")
    p50=$(awk '$1 == "50%" { print $2 }' <<<"$result")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$result")
    errors=$(grep -c 'Non-2xx\|Socket errors' <<<"$result" || true)
    [[ $errors == 0 ]] || { echo "$name at $c connections: errors: $result"; exit 1; }
    echo "| $name | $c | $rps | $(ms "$p50") | $(ms "$p99") |"
  done
done
