#!/usr/bin/env bash
# Time the grading pipeline on this machine (see bench/bench.py); the
# numbers belong in docs/measurements.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/../scripts/install-deps.sh"
exec python3 "$here/bench.py" "$@"
