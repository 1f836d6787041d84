#!/usr/bin/env bash
# Instructions per evaluation, counted by callgrind: figures that do not
# move with the machine's load (see README.md, "Instruction counts"). For
# every policy under policies/, the no-op guest and the SDK floor
# (tests/fixtures/sdk-noop), on one request: the
# evaluator path (a fresh instance per evaluation: instantiate with
# wapc_init, validate, drop) and a warm `validate`. Host and guest
# instructions together; page faults and kernel time are not instructions
# (the step table of the report shows those).
#
#   tools/policy-bench/instructions.sh [REQUEST] [CALLS]   (after make build)
set -euo pipefail
cd "$(dirname "$0")/../.."
request=${1:-gpu-pod}
calls=${2:-200}
bench=target/release/policy-bench
out=target/bench
if ! command -v valgrind >/dev/null; then
  echo "valgrind is not installed: no instruction counts (apt-get install valgrind)"
  exit 0
fi
mkdir -p "$out"
[[ -x $bench ]] || cargo build --release -q -p policy-bench

# Instructions per call of one --profile run, and the inclusive count of
# each function named after it, per call.
count() {
  local mode=$1 policy=$2 file=$out/$1-$2-$request.callgrind
  # One function a mode: a second one called inside it would toggle off.
  local toggle='*policy_bench::evaluate_fresh'
  [[ $mode == wasm ]] && toggle='*PolicyRunner::validate'
  shift 2
  # Compile into the module cache first, outside valgrind.
  $bench --profile "$mode" --policy "$policy" --request "$request" --calls 1 >/dev/null 2>&1
  valgrind --tool=callgrind --smc-check=all-non-file --callgrind-out-file="$file" \
    --toggle-collect="$toggle" \
    "$bench" --profile "$mode" --policy "$policy" --request "$request" --calls "$calls" >/dev/null 2>&1
  local annotated
  annotated=$(callgrind_annotate --inclusive=yes "$file" 2>/dev/null)
  total=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' <<<"$annotated")
  parts=()
  for fn in "$@"; do
    parts+=("$(awk -v fn="$fn" 'index($0, fn) { gsub(",", "", $1); print $1; exit }' <<<"$annotated")")
  done
}
k() { awk -v n="${1:-0}" -v c="$calls" 'BEGIN { printf "%.0fk", n / c / 1000 }'; }

policies=$(for d in policies/*/Cargo.toml; do basename "$(dirname "$d")"; done)
first=$(head -n1 <<<"$policies")
echo "Instructions per evaluation (callgrind, $calls calls, request $request; thousands):"
echo
echo "| module | evaluator path | of which instantiate | of which validate | warm validate |"
echo "|---|--:|--:|--:|--:|"
row() {
  local name=$1 mode=$2 policy=$3
  count "$mode" "$policy" "CompiledPolicy::instantiate" "PolicyRunner::validate "
  local path=$total inst=${parts[0]} val=${parts[1]}
  if [[ $mode == evaluator ]]; then
    count wasm "$policy"
    warm=$(k "$total")
  else
    warm=-
  fi
  echo "| $name | $(k "$path") | $(k "$inst") | $(k "$val") | $warm |"
}
row "no-op guest" evaluator-noop "$first"
# The Kubewarden Rust SDK's floor, built by make build-fixtures.
[[ -f target/policies/sdk-noop.wasm ]] && row "sdk-noop (Rust SDK floor)" evaluator-sdk-floor "$first"
for p in $policies; do
  row "$p" evaluator "$p"
done
