#!/usr/bin/env bash
# The ```python blocks of README.md and docs/*.md, run with
# ${LURN_TEST_PYTHON:-/usr/bin/python3} after the other blocks of their page;
# exit 77 (ctest: skipped) where torch is missing.
set -u
exec "$LURN" "$LURN_TEST_SOURCE_DIR/tests/sh/doctest.lua" "$LURN_TEST_SOURCE_DIR" "$LURN_TEST_BUILD_DIR" --lang python
