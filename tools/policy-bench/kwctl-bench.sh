#!/usr/bin/env bash
# `kwctl bench` of every annotated policy module and of the no-op guest on
# one request, with each policy's ratio to that floor. kwctl bench runs
# Kubewarden's policy-evaluator on one evaluator for the whole run (a warm
# instance); policy-server makes a fresh instance per request, which
# policy-bench's evaluator path and the throughput table measure.
#
#   tools/policy-bench/kwctl-bench.sh [REQUEST-FILE] [EXTRA.wasm ...]
#
# REQUEST-FILE defaults to data/gpu-pod-request.json; its replay session
# (data/sessions/, the same name as the bench uses) answers the
# context-aware policies' lookups. EXTRA modules (annotated, for example
# Kubewarden's own policies) are benched beside ours. Needs kwctl on PATH
# and `make annotate`; says so and stops otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."
data=tools/policy-bench/data
request=${1:-}
request=${request:-$data/gpu-pod-request.json}
shift || true
session=$data/sessions/train.yml
kwctl=${KWCTL:-kwctl}
out=target/bench
if ! command -v "$kwctl" >/dev/null; then
  echo "kwctl is not installed: no kwctl bench (see tools/policy-bench/README.md)"
  exit 0
fi
# shellcheck source=tools/policy-bench/modules.sh
source tools/policy-bench/modules.sh
bench_modules "$out" "$kwctl" "$@"

# The median of `validate` (tiny-bench's "med = ..."), in µs.
median_us() {
  "$kwctl" bench --warm-up-time 1 --measurement-time 3 --num-samples 100 \
    --allow-context-aware --replay-host-capabilities-interactions "$session" \
    --request-path "$request" --settings-json '{}' "file://$(realpath "$1")" 2>&1 |
    sed 's/\x1b\[[0-9;]*m//g' | grep -a 'med = ' | tail -n1 |
    sed -E 's/.*med = ([0-9.]+)(µs|ns|ms).*/\1 \2/' |
    awk '{ v = $1; if ($2 == "ns") v /= 1000; if ($2 == "ms") v *= 1000; printf "%.1f", v }'
}

echo "kwctl bench, validate median (µs), request $(basename "$request"), $("$kwctl" --version | head -n1):"
echo
echo "| module | validate median µs | x floor | above floor µs |"
echo "|---|--:|--:|--:|"
floor=
for m in "${modules[@]}"; do
  t=$(median_us "$m")
  [[ -n $t ]] || { echo "kwctl bench gave no median for $m"; exit 1; }
  [[ -n $floor ]] || floor=$t
  name=$(basename "$m" .wasm)
  [[ $name == no-op-guest ]] && name="no-op guest"
  awk -v m="$name" -v t="$t" -v f="$floor" \
    'BEGIN { printf "| %s | %s | %.2f | %.1f |\n", m, t, t / f, t - f }'
done
