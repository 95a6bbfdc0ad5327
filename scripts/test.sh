#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: set-up (packages, models, build), then the tests
# against the real models. ../shared/eval (beside the repository) holds the evaluation audio.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export GIJIROKU_MODELS=${GIJIROKU_MODELS:-$PWD/models}
cargo test --release --locked -- --test-threads=2
