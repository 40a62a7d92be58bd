#!/usr/bin/env bash
# Time the grading pipeline on this machine (see bench/bench.py), then grade
# the reference in a cgroup the size of Gradescope's default container
# (bench/container.sh); the numbers belong in docs/measurements.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/../scripts/install-deps.sh"
python3 "$here/bench.py" "$@"
# The same submission inside Gradescope's default container (half a CPU, 768 MB).
bash "$here/container.sh"
# A module that fills the guest's memory, in the same container: graded
# (its VMs crash, charged to it), never a VM killed from outside.
bash "$here/container.sh" --variant "$here/variants/fills_guest_memory.patch"
