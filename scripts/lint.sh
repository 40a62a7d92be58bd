#!/usr/bin/env bash
# The C and Python linters, with the one command line each (make lint runs
# them on the course's files; tests/test_lint.py proves each one fails on a
# real problem).
#
# usage: lint.sh                 every C and Python file of the course
#        lint.sh --c FILE...     cppcheck on these C files
#        lint.sh --python FILE...  pyflakes on these Python files
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

# C: cppcheck's warnings (leaks, undefined behaviour, bad format strings,
# out-of-bounds), not its style opinions; the modules are read without the
# kernel's headers, with the few macros it must see (cppcheck-kernel.cfg).
lint_c() {
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --std=c11 \
		--inline-suppr --suppress=missingIncludeSystem \
		--library="$root/scripts/cppcheck-kernel.cfg" \
		-I "$root/part3_chardev" -I "$root/part3_chardev/tools" "$@"
}

# Python: pyflakes (unused imports and names, undefined names, shadowing).
# (Debian's package has pyflakes3, Fedora's pyflakes.)
lint_python() {
	local tool
	for tool in pyflakes3 pyflakes; do
		if command -v "$tool" >/dev/null; then
			"$tool" "$@"
			return
		fi
	done
	python3 -m pyflakes "$@"
}

course_c_files() {
	git -C "$root" ls-files '*.c' | sed "s#^#$root/#"
}

course_python_files() {
	git -C "$root" ls-files '*.py' grader/merge | sed "s#^#$root/#"
}

main() {
	case ${1:-} in
	--c)
		shift
		lint_c "$@"
		;;
	--python)
		shift
		lint_python "$@"
		;;
	"")
		local -a c_files py_files
		mapfile -t c_files < <(course_c_files)
		mapfile -t py_files < <(course_python_files)
		lint_c "${c_files[@]}"
		lint_python "${py_files[@]}"
		echo "lint: ${#c_files[@]} C files and ${#py_files[@]} Python files are clean"
		;;
	*)
		echo "usage: $0 [--c FILE... | --python FILE...]" >&2
		exit 2
		;;
	esac
}

main "$@"
