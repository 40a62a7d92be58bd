# kmod-course: top-level targets. Every target installs what it needs first.
#
#   make demo    grade the reference solutions in the VM, print the score table
#   make test    the whole test suite (lint, unit tests, grader self-tests)
#   make bench   VM boot, build and grading times (numbers go to docs/)
#   make release dist/starter.tar.gz, the student starter kit
#   make gradescope  dist/gradescope/autograder.zip (PARTS=2 for one part)
#   make vm      make the course environment (kernel, headers, compiler) and the VM's initramfs
#   make image   write the course environment as one file, dist/course-env-*.tar.zst (+ .sha256)
#   make import-image FILE=PATH|URL  install an image from `make image` into the cache
#   make handouts  assignments/*.md -> handouts/*.html and *.pdf (ONLY=part2_timer for one);
#                  the repository keeps them: commit them with their sources

JOBS ?= $(shell nproc)
PYTHON ?= python3
PARTS ?=

.PHONY: all deps vm image import-image demo test lint unit selftest shards kernels foreign-host test-downloads starter config gradescope-check release gradescope bench handouts clean

all: demo

deps:
	@bash scripts/install-deps.sh

vm: deps
	@bash vm/prepare.sh

image: deps
	@bash vm/env.sh image $(if $(FILE),$(FILE))

import-image: deps
	@test -n "$(FILE)" || { echo "usage: make import-image FILE=course-env.tar.zst (a path or URL)" >&2; exit 2; }
	@bash vm/env.sh import "$(FILE)"

demo: deps
	bash grader/run.sh --reference --out results/demo $(if $(PARTS),--parts $(PARTS))

# The kernel matrix: the series the course may choose besides its default
# (course.conf COURSE_KERNEL), graded with the references and skeletons.
KERNEL_MATRIX ?= 6.12

# Every section below in order, timed (scripts/test-suite.sh: which run side
# by side, the table of times, the closing "N passed, N failed").
test: deps
	@bash scripts/test-suite.sh

test-downloads: deps
	bash selftest/check_kernels.sh --prepare $(KERNEL_MATRIX)
	bash selftest/foreign_host_tree.sh selftest/out/foreign/host

lint: deps
	shellcheck -x scripts/*.sh grader/*.sh vm/*.sh vm/guest/guest-init.sh vm/guest/run-suite.bash bench/*.sh selftest/*.sh .ci/run \
		selftest/*.bats \
		gradescope/setup.sh gradescope/run_autograder
	shellcheck -s bash grader/guest-lib/kmod.bash
	shellcheck -s sh vm/guest/initramfs-init
	$(PYTHON) -m py_compile grader/*.py grader/merge grader/guest-lib/*.py selftest/*.py part*/tests/*.py vm/*.py vm/guest/*.py scripts/*.py bench/*.py
	bash scripts/lint.sh

unit: deps
	$(PYTHON) -m unittest discover -s tests -p 'test_*.py'

selftest: deps
	$(PYTHON) selftest/check_grader.py --jobs $(JOBS) $(if $(PARTS),--parts $(PARTS))

# Grading in shards (grader/run.sh --shard K/N, then grader/merge) gives
# the gradebook of one run, byte for byte: 4 part-1 submissions, one VM at a time.
shards: deps
	$(PYTHON) selftest/check_shards.py --jobs $(JOBS)

# Every kernel of the matrix: the references get full marks, the skeletons
# their baseline (the variants run on the default kernel only).
kernels: deps
	bash selftest/check_kernels.sh --jobs $(JOBS) $(KERNEL_MATRIX)

# The kit on another Debian release (a trixie tree with its own newer
# kernel headers): make check there builds and boots the pinned kernel and
# gives this host's verdicts.
foreign-host: deps
	KMOD_FOREIGN_DIR=$(CURDIR)/selftest/out/foreign bash selftest/bats-count.sh foreign-host selftest/foreign_host.bats

# The student workflow from the released kit: make check, make submit, graded.
starter: deps
	bash selftest/bats-count.sh starter-kit selftest/starter.bats

# A second course.conf gives a consistent course: handout, build and grader agree.
config: deps
	bash selftest/bats-count.sh configuration selftest/config.bats

# The Gradescope autograder, set up and run here as Gradescope would (Docker's
# capabilities, no KVM): the reference gets full marks, a build cannot read
# the hidden tests.
gradescope-check: deps
	bash selftest/check_gradescope.sh

# The kit ships the handouts rendered from the current sources.
release: handouts
	$(PYTHON) scripts/release.py

gradescope:
	$(PYTHON) scripts/gradescope.py $(if $(PARTS),--parts $(PARTS))

handouts:
	bash scripts/install-deps.sh --docs
	$(PYTHON) scripts/handouts.py $(if $(ONLY),--only $(ONLY))

bench: deps
	bash bench/bench.sh

clean:
	rm -rf results selftest/out selftest/out-kernel-* dist .check
