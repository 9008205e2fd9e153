#!/usr/bin/env bash
# A script with a wrong call at a known line: the error printed (by the lurn
# binary and by the stock lua5.4 loading lurn) starts with the script's name
# and that line, not with one of lurn's files. (tests/lua/test_error_positions.lua
# checks the message of each public function; this checks what a user sees.)
set -u
src=$LURN_TEST_SOURCE_DIR
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() {   # name, first line printed, wanted first line
  if [ "$2" = "$3" ]; then pass=$((pass + 1)); echo "ok   $1"
  else fail=$((fail + 1)); echo "FAIL $1"; echo "     got:  $2"; echo "     want: $3"; fi
}
cd "$tmp"
cat > ctor.lua <<'LUA'
local nn = lurn.nn
local hidden = 32
local m = nn.LSTM(16, hidden, { layer = 2 })
LUA
cat > fwd.lua <<'LUA'
local nn = lurn.nn
local model = nn.Sequential { nn.Embedding(10, 8), nn.GRU(8, 16), nn.Pool("last"), nn.Linear(16, 2) }

local y = model:forward(lurn.zeros(5, 3))
LUA
cat > fit.lua <<'LUA'
local nn, optim, data, train = lurn.nn, lurn.optim, lurn.data, lurn.train
local ds = data.Dataset { seqs = { { 1, 2 } }, labels = { 0 } }
local model = nn.Sequential { nn.Embedding(3, 4), nn.GRU(4, 4), nn.Pool("last"), nn.Linear(4, 2) }
train.fit {
  model = model, loss = nn.CrossEntropy(), train_data = ds,
  optimizer = optim.Adam(model:parameters(), { lr = 1e-3 }), epochs = 1, batchsize = 8,
}
LUA
cat > ckpt.lua <<'LUA'
local checkpoint = lurn.checkpoint
local s = checkpoint.load(nil)
LUA
declare -A want=(
  [ctor.lua]="ctor.lua:3: nn.LSTM: unknown option 'layer' (did you mean 'layers'?)"
  [fwd.lua]="fwd.lua:4: nn.Sequential: module 1 (nn.Embedding): nn.Embedding: ids must be int32, got [5,3] float32"
  [fit.lua]="fit.lua:4: train.fit: unknown option 'batchsize' (did you mean 'batch_size'?)"
  [ckpt.lua]="ckpt.lua:2: checkpoint.load: path must be a string"
)
for f in ctor.lua fwd.lua fit.lua ckpt.lua; do
  first=$("$LURN" "$f" 2>&1 | head -1)
  check "lurn $f" "$first" "lurn: ${want[$f]}"
  # the stock interpreter cannot load an ASan-built lurn.core: release pass only
  if command -v lua5.4 >/dev/null && [ "${LURN_SANITIZE:-0}" != 1 ] && [ "${LURN_SANITIZE:-OFF}" != ON ]; then
    printf 'lurn = require "lurn"\n' > "stock_$f"; cat "$f" >> "stock_$f"
    first=$(LUA_PATH="$src/lua/?.lua;$src/lua/?/init.lua;;" LUA_CPATH="$LURN_TEST_BUILD_DIR/lib/?.so;;" \
            lua5.4 "stock_$f" 2>&1 | head -1)
    # one line more at the top: the require
    w=${want[$f]}; line=${w#*:}; line=${line%%:*}
    check "lua5.4 $f" "$first" "lua5.4: stock_${w%%:*}:$((line + 1)):${w#*:*:}"
  fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
