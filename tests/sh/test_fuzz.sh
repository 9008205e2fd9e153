#!/usr/bin/env bash
# Every libFuzzer harness (tests/fuzz/fuzz_*.c) for a few seconds under
# ASan/UBSan, from the seed corpora in the tree (tests/fuzz/run.sh).
#
# Sanitizer pass only (the harnesses are built with clang's ASan/UBSan
# anyway; running them twice adds nothing). LURN_FUZZ_SECONDS (default 2)
# per harness: twelve harnesses, about 25 s of fuzzing and a few seconds of
# linking; `bash tests/fuzz/run.sh long` is the pre-release setting (300 s
# each). The long runs are documented in docs/security.md.
set -u
if [ "${LURN_SANITIZE:-0}" != 1 ] && [ -z "${LURN_FUZZ_SECONDS:-}" ]; then
  echo "skipped in the release pass (runs in the sanitizer pass)"; exit 77
fi
export LURN_FUZZ_DIR=${LURN_TEST_BUILD_DIR:-build-sanitize}/fuzz
# The suite's LSan/ASan settings are for gcc's runtime; clang's reads the same names.
exec bash "$(dirname "$0")/../fuzz/run.sh" "${LURN_FUZZ_SECONDS:-2}"
