#!/usr/bin/env bash
# Config commands end to end: lurn check, lurn config show|keys (output,
# messages and exit codes: 0 ok, 2 config or usage error, 3 data file
# missing), and planted files: every command run from a directory full of
# lurn/*.lua files that must never run (issue 17, finding 1).
set -u
pass=0; fail=0
ok()   { pass=$((pass + 1)); echo "ok   $1"; }
bad()  { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; }
expect() {  # name, expected-substring, actual
  case "$3" in *"$2"*) ok "$1" ;; *) bad "$1" "expected '$2' in: $3" ;; esac
}
status() {  # name, expected status, actual status
  [ "$3" = "$2" ] && ok "$1" || bad "$1" "status $3, expected $2"
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

cat > base.lua <<'LUA'
-- a base config
return { name = "base", model = { hidden = 64, layers = 2 }, train = { epochs = 3 } }
LUA
printf 'a\tb\n' > train.tsv
cat > exp.lua <<'LUA'
return {
  extends = "base.lua",
  name = "exp",
  data = { train = "train.tsv" },
  train = { batch_size = 16 },
}
LUA

# a valid config: the resolved table on stdout, readable again
out=$("$LURN" check exp.lua optim.lr=3e-3 train.epochs=5); rc=$?
status "check valid" 0 $rc
expect "check names the file" "-- exp.lua: valid" "$out"
expect "check lists extends" "-- extends: base.lua" "$out"
expect "check lists overrides" "--   train.epochs: 3 -> 5" "$out"
expect "check override lr" "--   optim.lr: 0.001 -> 0.003" "$out"
expect "check resolved" "hidden = 64," "$out"
printf '%s\n' "$out" > resolved.lua
out=$("$LURN" check resolved.lua -q); rc=$?
status "resolved config reads back" 0 $rc
[ -z "$out" ] && ok "check -q prints nothing" || bad "check -q prints nothing" "$out"

# misspelt key: file:line, dotted key, did you mean, valid keys; status 2
cat > typo.lua <<'LUA'
return {
  train = {
    epocs = 5,
  },
}
LUA
out=$("$LURN" check typo.lua 2>&1); rc=$?
status "misspelt key status" 2 $rc
expect "misspelt key message" "lurn check: typo.lua:3: unknown key 'train.epocs' (did you mean 'train.epochs'?); valid keys at 'train': epochs, batch_size" "$out"

# wrongly typed override: status 2
out=$("$LURN" check exp.lua train.epochs=three 2>&1); rc=$?
status "typed override status" 2 $rc
expect "typed override message" "override 'train.epochs=three': train.epochs expects an integer, got 'three'" "$out"
out=$("$LURN" check exp.lua optim.nmae=sgd 2>&1); rc=$?
status "unknown override status" 2 $rc
expect "unknown override message" "unknown key 'optim.nmae' (did you mean 'optim.name'?)" "$out"

# a missing data file: status 3, before any data is read
out=$("$LURN" check exp.lua data.valid=nothere.tsv 2>&1); rc=$?
status "missing data status" 3 $rc
expect "missing data message" "data.valid: cannot read data file 'nothere.tsv'" "$out"
out=$("$LURN" check exp.lua data.valid=nothere.tsv --no-paths 2>&1); rc=$?
status "--no-paths" 0 $rc

# a config that never ends: status 2, a message naming the config and the limit
echo 'while true do end' > loop.lua
out=$("$LURN" check loop.lua 2>&1); rc=$?
status "looping config status" 2 $rc
expect "looping config message" "loop.lua: instruction limit: stopped after" "$out"

# usage
out=$("$LURN" check 2>&1); rc=$?
status "check without a config" 2 $rc
expect "check usage" "Usage: lurn check" "$out"
out=$("$LURN" check --help); rc=$?
status "check --help" 0 $rc
expect "check help" "--no-paths" "$out"
out=$("$LURN" check exp.lua --bogus 2>&1); rc=$?
status "check unknown option" 2 $rc

# lurn config show / --diff-defaults / keys
out=$("$LURN" config show exp.lua); rc=$?
status "config show" 0 $rc
expect "config show resolved" "batch_size = 16," "$out"
out=$("$LURN" config show exp.lua --diff-defaults train.epochs=7); rc=$?
status "config show --diff-defaults" 0 $rc
expect "diff-defaults count" "-- exp.lua: 6 keys differ from the defaults" "$out"
expect "diff-defaults name" 'name = "exp"  -- default: "run"' "$out"
expect "diff-defaults epochs" "train.epochs = 7  -- default: 10" "$out"
case "$out" in *"optim.lr"*) bad "diff-defaults lists only differences" "$out" ;; *) ok "diff-defaults lists only differences" ;; esac
out=$("$LURN" config keys train); rc=$?
status "config keys" 0 $rc
expect "config keys epochs" "train.epochs" "$out"
expect "config keys help" "passes over the training data" "$out"
out=$("$LURN" config keys nosuch 2>&1); rc=$?
status "config keys unknown prefix" 2 $rc
out=$("$LURN" config 2>&1); rc=$?
status "config without a subcommand" 2 $rc
out=$("$LURN" help); expect "help lists check" "lurn check ..." "$out"
expect "help lists config" "lurn config ..." "$out"

# docs/cli.md lists every schema key
doc="$LURN_TEST_SOURCE_DIR/docs/cli.md"
missing=""
for key in $("$LURN" config keys | awk '{print $1}'); do
  grep -q "\`$key\`" "$doc" || missing="$missing $key"
done
[ -z "$missing" ] && ok "docs/cli.md documents every key" || bad "docs/cli.md documents every key" "missing:$missing"

# planted files: a directory full of lurn/*.lua that must never run
mkdir -p planted && cd planted
for f in $(cd "$LURN_TEST_SOURCE_DIR/lua" && find lurn -name '*.lua') lurn/commands/train.lua \
         lurn/commands/eval.lua lurn/commands/predict.lua lurn/commands/sweep.lua \
         lurn/commands/inspect.lua lurn/commands/nosuch.lua lurn/nn/Evil.lua lurn.lua; do
  mkdir -p "$(dirname "$f")"
  printf 'io.open(%q, "a"):write("%s\\n") os.exit(7)\n' "$tmp/PLANTED_RAN" "$f" > "$f"
done
mkdir -p lurn && printf 'not a library' > lurn/core.so
printf 'return { name = "p" }\n' > c.lua
for cmd in "" "help" "info" "--version" "check c.lua" "config show c.lua" "config keys" \
           "train c.lua" "eval x" "predict x" "sweep c.lua" "inspect x" "export x y" \
           "gradcheck x" "nosuch" "run c.lua"; do
  # shellcheck disable=SC2086
  "$LURN" $cmd </dev/null >/dev/null 2>&1
done
"$LURN" -e 'require "lurn.nn"; require "lurn.config"; pcall(require, "lurn.nn.Evil"); pcall(require, "lurn.commands.sweep")' >/dev/null 2>&1
out=$("$LURN" -e 'print(pcall(require, "lurn.nn.Evil"))' 2>&1)
expect "missing lurn module is an error" "module 'lurn.nn.Evil' is not part of lurn" "$out"
if [ "${LURN_SANITIZE:-0}" != 1 ] && [ "${LURN_SANITIZE:-OFF}" != ON ]; then
  # the stock interpreter: lurn's modules beside lurn/init.lua, lurn.core not from ./
  LUA_PATH="$LURN_TEST_SOURCE_DIR/lua/?.lua;$LURN_TEST_SOURCE_DIR/lua/?/init.lua;;" \
  LUA_CPATH="$LURN_TEST_BUILD_DIR/lib/?.so;;" lua5.4 -e '
    local lurn = require "lurn"; local c = require "lurn.config"
    local cfg = c.load("c.lua"); assert(cfg.name == "p")
    print(pcall(require, "lurn.nn.Evil")); print(pcall(require, "lurn.commands.sweep"))' >/dev/null 2>&1
  out=$(LUA_PATH="$LURN_TEST_SOURCE_DIR/lua/?.lua;$LURN_TEST_SOURCE_DIR/lua/?/init.lua;;" \
    LUA_CPATH="$LURN_TEST_BUILD_DIR/lib/?.so;;" lua5.4 -e '
    local c = require "lurn.config"; print(c.load("c.lua").name)' 2>&1)
  expect "lua5.4 loads configs" "p" "$out"
  out=$(LUA_PATH="$LURN_TEST_SOURCE_DIR/lua/?.lua;$LURN_TEST_SOURCE_DIR/lua/?/init.lua;;" \
    LUA_CPATH="/nonexistent/?.so;;" lua5.4 -e 'require "lurn"' 2>&1)
  expect "lua5.4 skips ./lurn/core.so" "module 'lurn.core' not found" "$out"
fi
cd "$tmp"
if [ -e "$tmp/PLANTED_RAN" ]; then
  bad "no planted file runs" "ran: $(tr '\n' ' ' < "$tmp/PLANTED_RAN")"
else
  ok "no planted file runs"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
