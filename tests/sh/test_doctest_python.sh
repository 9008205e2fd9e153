#!/usr/bin/env bash
# The ```python blocks of README.md and docs/*.md, run with
# ${LURN_TEST_PYTHON:-/usr/bin/python3} after the other blocks of their page;
# exit 77 (ctest: skipped) where torch is missing.
set -u
# The release pass only: the blocks exercise the library the unit tests
# already run under ASan/UBSan, and doubling ~25 s of training there would
# not fit the CI budget (exit 77: ctest reports it as skipped).
if [ "${LURN_SANITIZE:-0}" = 1 ]; then echo "skip: doc blocks run in the release pass"; exit 77; fi
exec "$LURN" "$LURN_TEST_SOURCE_DIR/tests/sh/doctest.lua" "$LURN_TEST_SOURCE_DIR" "$LURN_TEST_BUILD_DIR" --lang python
