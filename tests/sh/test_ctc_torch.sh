#!/usr/bin/env bash
# lurn's CTC loss and gradient (src/core/ctc.c) against PyTorch's
# torch.nn.functional.ctc_loss on the same random logits, with variable input
# and label lengths, repeated labels, and both reductions; the gradient is
# compared with autograd's d loss / d logits. Skipped without torch.
set -u
# Release pass only: the same C code runs under ASan/UBSan in tests/lua/test_ctc.lua,
# and importing torch costs the sanitizer pass seconds for nothing more.
if [ "${LURN_SANITIZE:-0}" = 1 ]; then echo "skip: runs in the release pass"; exit 77; fi
py=${LURN_TEST_PYTHON:-/usr/bin/python3}
if ! "$py" -c "import torch" 2>/dev/null; then
  echo "skip: no torch for $py"
  exit 77
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/lurn_side.lua" <<'LUA'
local lurn = require "lurn"
local json = require "cjson"
lurn.seed(5)
local T, B, C = 12, 4, 6
local x = lurn.randn(T, B, C):mul(2)
local lens = { 12, 9, 7, 12 }
local targets = { { 1, 2, 3 }, { 4, 4 }, { 5 }, { 2, 3, 2, 3, 1 } }
local out = { T = T, B = B, C = C, lens = lens, targets = targets, x = {} }
for t = 1, T do for b = 1, B do for c = 1, C do out.x[#out.x + 1] = x:get(t, b, c) end end end
for _, red in ipairs { "mean", "sum" } do
  local ctc = lurn.nn.CTC { reduction = red }
  local loss = ctc:forward({ data = x, lengths = lurn.tensor(lens, "int32") }, targets)
  local g, flat = ctc:backward(), {}
  for t = 1, T do for b = 1, B do for c = 1, C do flat[#flat + 1] = g:get(t, b, c) end end end
  out[red] = { loss = loss, grad = flat }
end
io.open(arg[1], "w"):write(json.encode(out))
LUA
"$LURN" "$tmp/lurn_side.lua" "$tmp/lurn.json" || { echo "FAIL lurn side"; exit 1; }
"$py" - "$tmp/lurn.json" <<'PY'
import json, sys, torch
d = json.load(open(sys.argv[1]))
T, B, C = d["T"], d["B"], d["C"]
x = torch.tensor(d["x"], dtype=torch.float64).view(T, B, C)
targets = torch.tensor([l for t in d["targets"] for l in t])
tl = torch.tensor([len(t) for t in d["targets"]])
il = torch.tensor(d["lens"])
fail = 0
for red in ("mean", "sum"):
    xx = x.clone().requires_grad_(True)
    loss = torch.nn.functional.ctc_loss(xx.log_softmax(2), targets, il, tl, blank=0, reduction=red)
    loss.backward()
    g = torch.tensor(d[red]["grad"], dtype=torch.float64).view(T, B, C)
    dl = abs(loss.item() - d[red]["loss"]) / max(1, abs(loss.item()))
    dg = (xx.grad - g).abs().max().item()
    ok = dl < 1e-5 and dg < 1e-5
    fail += not ok
    print("%s %s: loss torch %.8f lurn %.8f (rel diff %.2e), grad max diff %.2e"
          % ("ok  " if ok else "FAIL", red, loss.item(), d[red]["loss"], dl, dg))
print("%d passed, %d failed" % (2 - fail, fail))
sys.exit(1 if fail else 0)
PY
