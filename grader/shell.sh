#!/usr/bin/env bash
# Students' `make shell`: a root shell in the course VM with this kit's
# modules and programs, or a script of theirs run there (see grader/shell.py).
# usage: grader/shell.sh [--load] [--run SCRIPT]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh"
exec python3 "$root/grader/shell.py" "$@"
