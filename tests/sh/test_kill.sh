#!/usr/bin/env bash
# SIGKILL at random moments during checkpointing training, resume each time
# (tests/sh/kill_loop.sh), for keep_checkpoints 1 and 2.
#
# CI setting: LURN_KILLS (default 10) kills per setting, in the release
# pass only (the loop tests the order of file operations, not memory; the
# sanitizer pass runs the same code paths in test_train and test_resume).
# The runs write to /dev/shm (fast; see kill_loop.sh). The long setting, 30
# kills each on the disk, is
#   LURN_KILLS=30 LURN_KILL_TMP=/tmp LURN=build/lurn bash tests/sh/test_kill.sh
# (figures in docs/security.md).
set -u
if [ "${LURN_SANITIZE:-0}" = 1 ] && [ -z "${LURN_KILLS:-}" ]; then
  echo "skipped in the sanitizer pass (set LURN_KILLS to run it here)"; exit 77
fi
kills=${LURN_KILLS:-10}
here=$(dirname "$0")
rc=0
for keep in 1 2; do
  bash "$here/kill_loop.sh" "$kills" "$keep" "$((keep * 1000 + $$ % 1000))" || rc=1
done
exit $rc
