#!/usr/bin/env bash
# Print the kernel build tree the course VM's kernel matches
# (/usr/src/linux-headers-KVER), for Makefiles' KDIR default.
set -euo pipefail
# shellcheck source=vm/common.sh
source "$(dirname "$0")/common.sh"
kbuild_dir
