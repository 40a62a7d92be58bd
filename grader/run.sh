#!/usr/bin/env bash
# The TA's grader. Grades each submission in disposable VMs and writes
# results per submission (results.json, junit.xml, report.txt, logs) and a
# gradebook (grades.csv) into the output folder.
#
# usage: grader/run.sh [--parts LIST] [--out DIR] [--jobs N] SUBMISSION...
#        grader/run.sh --reference      (the reference solutions)
#        grader/run.sh --skeleton       (the student skeletons)
#        grader/run.sh --shard K/N ... SUBMISSION...
#                       (only shard K of N of them, for grading a class on
#                       several machines; then grader/merge OUT DIR...:
#                       docs/class-grading.md)
# A SUBMISSION is a folder laid out like the starter kit (part2_timer/ ...)
# or a .tar.gz of one. Exit status 0 when grading ran, whatever the scores.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bash "$here/../scripts/install-deps.sh"
exec python3 "$here/cli.py" "$@"
