# Shared by the tests/sh/test_cli_*.sh scripts: counters, checks, and a
# small generated task (the order task of lurn.data) in a temporary dir.
#   . "$(dirname "$0")/cli_lib.sh"     then: cd "$tmp"; ... ; finish
set -u
pass=0; fail=0
ok()   { pass=$((pass + 1)); echo "ok   $1"; }
bad()  { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     ${2:0:2000}"; }
expect() {  # name, expected-substring, actual
  case "$3" in *"$2"*) ok "$1" ;; *) bad "$1" "expected '$2' in: $3" ;; esac
}
expect_rc() {  # name, expected status, actual status, output
  if [ "$3" -eq "$2" ]; then ok "$1 (exit $2)"; else bad "$1" "exit $3, expected $2; output: ${4:-}"; fi
}
check() {  # name, command...: passes when the command succeeds
  local name=$1; shift
  if "$@" >/dev/null 2>&1; then ok "$name"; else bad "$name" "failed: $*"; fi
}
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; }
# lurn -e with json (lua-cjson) loaded, for checking files
jq_lurn() { "$LURN" -e "local json = { decode = require('lurn.core').json_decode }; $1" "${@:2}"; }
# the test-set accuracy of a run (summary.json), and a >= b for two numbers
test_accuracy() {
  jq_lurn 'print(("%.4f"):format(json.decode(io.open(arg[1]):read("a")).test.accuracy))' "$1/summary.json"
}
at_least() { "$LURN" -e 'os.exit(tonumber(arg[1]) >= tonumber(arg[2]) and 0 or 1)' "$1" "$2"; }

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
SRC=${LURN_TEST_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export LURN_THREADS=${LURN_THREADS:-2}

# data/train.txt (N sentences) and data/test.txt, labels a_first / b_first
make_data() { (cd "$tmp" && "$LURN" "$SRC/docs/examples/order_data.lua" data "${1:-240}" >/dev/null); }

# A small config: a GRU on the order task, a few dozen steps.
write_config() {
  cat > "$tmp/order.lua" <<'LUA'
return {
  name = "order",
  data = { train = "data/train.txt", test = "data/test.txt", format = "label_text",
           valid_split = 0.2 },
  model = { type = "gru", embed = 8, hidden = 8 },
  optim = { lr = 0.02 },
  train = { epochs = 2, batch_size = 16, log_every = 4 },
}
LUA
}
