#!/bin/sh
# The pre-commit hook's entry (.pre-commit-hooks.yaml): runs gpu-policy-check
# from PATH, else builds it once from this clone of the repository, which
# pre-commit keeps in its cache, and runs that build.
set -eu
if command -v gpu-policy-check >/dev/null 2>&1; then
  exec gpu-policy-check "$@"
fi
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin="$repo/target/pre-commit/bin/gpu-policy-check"
if [ ! -x "$bin" ]; then
  echo "gpu-policy-check: not on PATH; building it once from $repo (cargo install, several minutes)" >&2
  if ! cargo install --locked --quiet --path "$repo/tools/manifest-check" --root "$repo/target/pre-commit" >&2; then
    echo "gpu-policy-check: the build failed; install the tool (cargo install --path tools/manifest-check) and put it on PATH" >&2
    exit 2
  fi
fi
exec "$bin" "$@"
