# Sourced by kwctl-bench.sh and throughput.sh (from the repository root):
# the modules they time, first the no-op guest annotated for kwctl and
# policy-server, then the SDK floor (tests/fixtures/sdk-noop, when built),
# then every policy under policies/ as `make annotate` wrote it, then the
# extra modules given as arguments. Sets `modules`.
#   bench_modules OUT_DIR KWCTL [EXTRA.wasm ...]
bench_modules() {
  local out=$1 kwctl=$2 d p
  shift 2
  mkdir -p "$out"
  [[ -x target/release/policy-bench ]] || cargo build --release -q -p policy-bench
  target/release/policy-bench --write-noop "$out/noop-guest.wasm"
  "$kwctl" annotate -m tools/policy-bench/data/noop-metadata.yml \
    -o "$out/no-op-guest.wasm" "$out/noop-guest.wasm" >/dev/null 2>&1
  modules=("$out/no-op-guest.wasm")
  # The Kubewarden Rust SDK's floor, when make build-fixtures built it.
  if [[ -f target/policies/sdk-noop.wasm ]]; then
    "$kwctl" annotate -m tests/fixtures/sdk-noop/metadata.yml \
      -o "$out/sdk-noop.wasm" target/policies/sdk-noop.wasm >/dev/null 2>&1
    modules+=("$out/sdk-noop.wasm")
  fi
  for d in policies/*/Cargo.toml; do
    p=$(basename "$(dirname "$d")")
    [[ -f annotated/$p.wasm ]] || { echo "annotated/$p.wasm is missing: run make annotate"; return 1; }
    modules+=("annotated/$p.wasm")
  done
  modules+=("$@")
}
