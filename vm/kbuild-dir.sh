#!/usr/bin/env bash
# Print the kernel build tree of the course environment's kernel, as a host
# path (ENV/root/usr/src/linux-headers-KVER), for a Makefile's KDIR default.
# Building against it with the host's own compiler may fail or differ: the
# grader, `make check` and `make shell` build inside the environment.
set -euo pipefail
# shellcheck source=vm/common.sh
source "$(dirname "$0")/common.sh"
env=$(bash "$KMOD_ROOT/vm/env.sh" dir)
printf '%s/root/usr/src/linux-headers-%s\n' "$env" "$(sed -n 's/^KVER=//p' "$env/env.conf")"
