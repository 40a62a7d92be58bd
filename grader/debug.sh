#!/usr/bin/env bash
# Students' `make debug PART=N`: the course VM with qemu's gdb stub and the
# part's modules loaded; `make gdb` in a second terminal (see grader/debug.py).
# usage: grader/debug.sh --part N [--run SCRIPT] [--gdb-batch FILE]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh" --debug
exec python3 "$root/grader/debug.py" "$@"
