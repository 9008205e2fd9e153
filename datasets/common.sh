# datasets/common.sh — what the dataset scripts share: options, downloads,
# SHA-256 checks, the lurn binary. Sourced, not run.
#
# Every script takes:
#   --from DIR   use a local copy instead of downloading (also: LURN_DATA=DIR).
#                DIR may hold the original archive, or the converted files
#                (laid out as in DIR/<dataset>/..., or directly in DIR)
#   --out DIR    where the converted data goes (default: data/ at the project root)
# Nothing is written unless it verified: a download or a copy whose SHA-256
# is not the pinned one is an error, and the output is built in a temporary
# directory then moved into place, so an interrupted run leaves nothing half-written.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FROM=${LURN_DATA:-}
OUT=$ROOT/data

die() { echo "$NAME: $*" >&2; exit 1; }
say() { echo "$NAME: $*" >&2; }

parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --from) [ $# -ge 2 ] || die "--from needs a directory"; FROM=$2; shift 2 ;;
      --from=*) FROM=${1#--from=}; shift ;;
      --out) [ $# -ge 2 ] || die "--out needs a directory"; OUT=$2; shift 2 ;;
      --out=*) OUT=${1#--out=}; shift ;;
      -h|--help) sed -n '2,/^set -/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
      *) die "unknown argument '$1' (try --help)" ;;
    esac
  done
  if [ -n "$FROM" ] && [ ! -d "$FROM" ]; then die "--from $FROM: not a directory"; fi
  mkdir -p "$OUT"
  OUT=$(cd "$OUT" && pwd)
}

# check_sha256 FILE HASH: the file's SHA-256 must be HASH.
check_sha256() {
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  [ "$got" = "$2" ] || die "$1: SHA-256 is $got, expected $2 (corrupt or a different file)"
}

# download URL FILE: fetch URL into FILE (nothing left on failure).
download() {
  command -v curl >/dev/null || die "curl is needed to download: apt-get install -y curl (or use --from DIR)"
  say "downloading $1"
  if ! curl -fL --retry 2 --connect-timeout 20 -o "$2.part" "$1"; then
    rm -f "$2.part"
    return 1
  fi
  mv "$2.part" "$2"
}

# first_of PATH...: the first path that exists.
first_of() {
  local p
  for p in "$@"; do [ -e "$p" ] && { echo "$p"; return 0; }; done
  return 1
}

# The lurn binary: $LURN, the project's build, or lurn on PATH.
find_lurn() {
  if [ -n "${LURN:-}" ]; then echo "$LURN"; return; fi
  if [ -x "$ROOT/build/lurn" ]; then echo "$ROOT/build/lurn"; return; fi
  command -v lurn >/dev/null 2>&1 && { command -v lurn; return; }
  die "lurn is not built: run 'bash tools/setup.sh build' first"
}

# A temporary directory removed on exit.
make_tmp() {
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/lurn-$NAME.XXXXXX")
  trap 'rm -rf "$TMP"' EXIT
}
