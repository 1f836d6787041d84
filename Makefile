# One entry point for building, testing and packaging the GPU policies.
# `make` builds the policies; `make help` lists every target. Each target has
# one `## target: description` line above it, which `make help` prints.
.PHONY: all help wasm-targets wasm-bindgen-runner build build-fixtures check bench \
	test fmt-check lint unit-test wasm-unit-test test-wasm annotate e2e push \
	artifacthub property-test fuzz clean

SHELL := /bin/bash
CARGO ?= cargo
WASM_TARGET := wasm32-wasip1
WASM_PROFILE := wasm
# Every policy crate present under policies/ (a folder with a Cargo.toml).
POLICIES := $(patsubst policies/%/Cargo.toml,%,$(wildcard policies/*/Cargo.toml))
FIXTURES := $(patsubst tests/fixtures/%/Cargo.toml,%,$(wildcard tests/fixtures/*/Cargo.toml))
# Built modules are copied here under the policy's own name.
WASM_OUT := target/policies
# gpu-policy-check embeds the policy modules (tools/manifest-check/build.rs):
# pointed at WASM_OUT it takes `make build`'s instead of building them again.
EMBED_BUILT := GPU_POLICY_CHECK_WASM_DIR=$(CURDIR)/$(WASM_OUT)

KWCTL ?= kwctl
# kwctl-annotated modules (metadata.yml + README embedded), for e2e and push.
ANNOTATED := annotated

## all: the default target (plain `make`): the same as build
all: build

## help: list the targets, each with its one-line description
help:
	@echo "usage: make [target] [VARIABLE=value ...]   (no target: build)"
	@awk 'match($$0, /^## [^:]+: /) { printf "  %-28s %s\n", substr($$0, 4, RLENGTH - 5), substr($$0, RLENGTH + 1) }' $(MAKEFILE_LIST)

## wasm-targets: add the wasm32-wasip1 and wasm32-unknown-unknown targets when missing
# The wasm targets come with rust-toolchain.toml on a fresh install; add them
# when the pinned toolchain was installed without them.
wasm-targets:
	@for t in $(WASM_TARGET) wasm32-unknown-unknown; do \
	  rustup target list --installed 2>/dev/null | grep -qx $$t || rustup target add $$t; done

## wasm-bindgen-runner: install wasm-bindgen-cli at Cargo.lock's wasm-bindgen version when missing
# wasm-bindgen-test-runner must match the wasm-bindgen version in Cargo.lock.
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ {getline; gsub(/"/, "", $$3); print $$3; exit}' Cargo.lock)
wasm-bindgen-runner:
	@have=$$(wasm-bindgen-test-runner --version 2>/dev/null | awk '{print $$2}'); \
	if [ "$$have" != "$(WASM_BINDGEN_VERSION)" ]; then \
	  echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) (runs the wasm32 unit tests)"; \
	  $(CARGO) install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION); fi

## build: every policy to wasm32-wasip1 with the size-tuned `wasm` profile
build: wasm-targets
	@mkdir -p $(WASM_OUT)
ifneq ($(strip $(POLICIES)),)
	$(CARGO) build --profile $(WASM_PROFILE) --target $(WASM_TARGET) $(addprefix -p ,$(POLICIES))
	@for p in $(POLICIES); do \
	  cp target/$(WASM_TARGET)/$(WASM_PROFILE)/$${p//-/_}.wasm $(WASM_OUT)/$$p.wasm; \
	  echo "built $(WASM_OUT)/$$p.wasm ($$(stat -c %s $(WASM_OUT)/$$p.wasm) bytes)"; \
	done
else
	@echo "no policy crates under policies/ yet"
endif

## build-fixtures: the host's own test policies under tests/fixtures
build-fixtures: wasm-targets
	@mkdir -p $(WASM_OUT)
ifneq ($(strip $(FIXTURES)),)
	$(CARGO) build --profile $(WASM_PROFILE) --target $(WASM_TARGET) $(addprefix -p ,$(FIXTURES))
	@for p in $(FIXTURES); do \
	  cp target/$(WASM_TARGET)/$(WASM_PROFILE)/$${p//-/_}.wasm $(WASM_OUT)/$$p.wasm; \
	done
endif

## check: the main job: check manifests offline against every policy, one verdict per object and policy (MANIFESTS=dir)
# MANIFESTS=dir checks your own manifests (exit 1 when anything is rejected).
# The bundled examples hold deliberate mistakes, each file annotated with the
# verdict it must get (`# expect:`): for them the check passes when every
# verdict is the annotated one.
MANIFESTS ?= examples/workloads
CHECK_ARGS ?= $(if $(filter examples/workloads examples/workloads/,$(MANIFESTS)),--expect-annotations)
check: build
	@$(EMBED_BUILT) $(CARGO) build --release -q -p manifest-check
	target/release/gpu-policy-check $(CHECK_ARGS) $(MANIFESTS)

## bench: speed and size of every policy: warm and evaluator path through the waPC host, native, instructions, kwctl bench (target/bench/)
# Prints a markdown table and writes target/bench/report.md; never part of
# make test. See tools/policy-bench/README.md.
# Then instruction counts (callgrind, when valgrind is installed) and, when
# kwctl is installed, kwctl bench of the annotated modules against the
# no-op guest.
# BENCH_EXTRA: other annotated waPC modules (Kubewarden's own policies, say)
# timed beside ours on the evaluator path and in kwctl bench.
BENCH_EXTRA ?=
bench: build build-fixtures
	$(CARGO) run --release -q -p policy-bench -- --out target/bench/report.md \
	  $(addprefix --extra ,$(BENCH_EXTRA))
	tools/policy-bench/instructions.sh | tee target/bench/instructions.md
	@if command -v $(KWCTL) >/dev/null 2>&1; then $(MAKE) -s annotate && \
	  KWCTL=$(KWCTL) tools/policy-bench/kwctl-bench.sh "" $(BENCH_EXTRA) | tee target/bench/kwctl.md; \
	else echo "kwctl is not installed: no kwctl bench"; fi

## test: formatting, lint, native unit tests, wasm unit tests, wasm integration tests
test: fmt-check lint unit-test wasm-unit-test test-wasm

## fmt-check: cargo fmt --check over the workspace
fmt-check:
	$(CARGO) fmt --all -- --check

## lint: clippy on every workspace crate and target, warnings as errors
# After `build`, so that manifest-check's build script embeds those modules
# instead of building them a second time.
lint: build
	$(EMBED_BUILT) $(CARGO) clippy --workspace --all-targets -- -D warnings

## unit-test: native unit and property tests of the crates that do not link wasmtime
# Crates that link wasmtime (the host and its users) test in release, in
# test-wasm: one wasmtime build instead of a debug and a release one.
unit-test:
	$(CARGO) test --workspace --exclude wasm-integration-tests --exclude policy-runner --exclude manifest-check --exclude policy-bench

## wasm-unit-test: the common crate's tests compiled to wasm32 and run on Node
# (NODE_PATH supplies stand-ins for the waPC host imports the SDK links in.)
wasm-unit-test: wasm-targets wasm-bindgen-runner
	NODE_PATH=$(CURDIR)/shared/gpu-policy-core/wasm-test-host/node_modules \
	CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
	  $(CARGO) test -p gpu-policy-core --lib --target wasm32-unknown-unknown

## test-wasm: every policy's cases, the bad-input corpus and the packaging test through the waPC host
test-wasm: build build-fixtures
	$(EMBED_BUILT) $(CARGO) test --release -p policy-runner -p wasm-integration-tests -p manifest-check -p policy-bench

## annotate: embed metadata.yml and README.md into each module with kwctl
annotate: build
	@if ! command -v $(KWCTL) >/dev/null 2>&1; then \
	  echo "SKIP annotate: kwctl is not installed (see https://docs.kubewarden.io)"; exit 0; fi; \
	mkdir -p $(ANNOTATED); \
	for p in $(POLICIES); do \
	  $(KWCTL) annotate -m policies/$$p/metadata.yml -u policies/$$p/README.md \
	    -o $(ANNOTATED)/$$p.wasm $(WASM_OUT)/$$p.wasm || exit 1; \
	  echo "annotated $(ANNOTATED)/$$p.wasm"; \
	done

## e2e: every policy's e2e.bats through kwctl (skipped when kwctl or bats is missing)
e2e:
	@if ! command -v $(KWCTL) >/dev/null 2>&1 || ! command -v bats >/dev/null 2>&1; then \
	  echo "SKIP e2e: needs kwctl and bats on PATH (kwctl: $$(command -v $(KWCTL) || echo missing), bats: $$(command -v bats || echo missing))"; \
	  exit 0; fi; \
	$(MAKE) annotate && bats $(foreach p,$(POLICIES),policies/$(p)/e2e.bats)

## push REGISTRY=host/path: kwctl push each annotated policy as <policy>:v<version>
push: annotate
	@test -n "$(REGISTRY)" || { echo "usage: make push REGISTRY=ghcr.io/<org>"; exit 2; }
	@command -v $(KWCTL) >/dev/null 2>&1 || { echo "make push needs kwctl"; exit 2; }
	@for p in $(POLICIES); do \
	  v=$$(sed -n 's/^version = "\(.*\)"/\1/p' policies/$$p/Cargo.toml | head -n 1); \
	  $(KWCTL) push $(ANNOTATED)/$$p.wasm registry://$(REGISTRY)/$$p:v$$v || exit 1; \
	done

## artifacthub: regenerate artifacthub/ from each policy's metadata.yml, questions-ui.yml and README.md
# Writes artifacthub/<policy>/<version>/{artifacthub-pkg.yml,README.md} and
# artifacthub-repo.yml with tools/artifacthub-gen in
# `kwctl scaffold artifacthub`'s format (createdAt kept per version, monorepo release links);
# tests/tests/packaging.rs fails when the committed files differ. Where kwctl is installed,
# kwctl's own scaffold is also written to target/artifacthub-kwctl/ for comparison.
artifacthub:
	$(CARGO) run -q -p artifacthub-gen -- $(CURDIR)
	@if command -v $(KWCTL) >/dev/null 2>&1; then \
	  for p in $(POLICIES); do \
	    v=$$(sed -n 's/^version = "\(.*\)"/\1/p' policies/$$p/Cargo.toml | head -n 1); \
	    mkdir -p target/artifacthub-kwctl/$$p; \
	    q=; [ -f policies/$$p/questions-ui.yml ] && q="-q policies/$$p/questions-ui.yml"; \
	    RUST_BACKTRACE=0 $(KWCTL) scaffold artifacthub -m policies/$$p/metadata.yml $$q -v $$v \
	      -o target/artifacthub-kwctl/$$p/artifacthub-pkg.yml 2>&1 | grep -v WARN \
	      || true; \
	  done; \
	  echo "kwctl scaffold artifacthub output (for comparison): target/artifacthub-kwctl/"; \
	fi

## property-test: the policies' proptest suites only (256 cases each unless PROPTEST_CASES is set)
# `make test` runs them too, through unit-test.
property-test:
	$(CARGO) test $(addprefix -p ,$(POLICIES)) --test properties

## fuzz: every cargo-fuzz target in fuzz/ for FUZZ_SECONDS each (needs nightly and cargo-fuzz)
# See fuzz/README.md.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(patsubst fuzz/fuzz_targets/%.rs,%,$(wildcard fuzz/fuzz_targets/*.rs))
fuzz:
	@if ! $(CARGO) +nightly --version >/dev/null 2>&1 || ! $(CARGO) +nightly fuzz --version >/dev/null 2>&1; then \
	  echo "SKIP fuzz: needs a nightly toolchain and cargo-fuzz (rustup toolchain install nightly; cargo +nightly install cargo-fuzz)"; \
	  exit 0; fi; \
	set -o pipefail; cd fuzz && for t in $(FUZZ_TARGETS); do \
	  mkdir -p corpus/$$t; \
	  echo "fuzz $$t for $(FUZZ_SECONDS)s"; \
	  $(CARGO) +nightly fuzz run $$t corpus/$$t ../tests/bad-input -- \
	    -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 -print_final_stats=1 2>&1 | tail -n 12 || exit 1; \
	done

## clean: remove build output (target/ and annotated/)
clean:
	$(CARGO) clean
	rm -rf $(ANNOTATED)
