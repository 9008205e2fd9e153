--- nn.CTC — the connectionist temporal classification loss (Graves et al.
-- 2006), forward and gradient in C (src/core/ctc.c, log-space
-- forward-backward).
--
--   local ctc = nn.CTC { blank = 0, reduction = "mean", zero_infinity = false }
--   local loss = ctc:forward(logits, { labels = L, lengths = n })
--   local dlogits = ctc:backward()
--
-- logits: [T, B, C] unnormalised scores (log_softmax is taken inside), a
-- tensor or a Seq whose lengths are the input lengths. The target: a table
-- {labels = [B, S] int32 (padded), lengths = [B] int32}, or a Lua list of B
-- label lists ({{3, 1}, {2}}). Labels are 0-based classes other than the
-- blank. reduction "mean" averages loss_b / target_length_b over the batch
-- (PyTorch's definition), "sum" adds the losses. zero_infinity = true counts a
-- sample whose labels cannot fit its input (loss +inf) as 0 with no gradient.
-- ctc.losses holds the last per-sample losses ([B] float32).
-- @usage local ctc = lurn.nn.CTC()
-- local logits = lurn.randn(6, 2, 4)
-- print(ctc:forward(logits, { { 1, 2 }, { 3 } }))
local lurn = require "lurn"
local core = require "lurn.core"
local class = require "lurn.class"
local Module = require "lurn.nn.Module"
local seq = require "lurn.nn.seq"

--- nn.CTC{blank = 0, reduction = "mean", zero_infinity = false} — the CTC loss.
-- forward(logits, target) -> loss, with logits [T, B, C] (a tensor, or a Seq whose
-- lengths are the input lengths) and target {labels = [B, S] int32, lengths = [B]}
-- or a list of label lists (0-based, never the blank); backward() -> d loss / d logits.
-- reduction "mean" is PyTorch's (loss_b / target_length_b, averaged), "sum" adds;
-- zero_infinity counts an impossible sample as 0. CTC.greedy and CTC.beam decode.
-- @usage local ctc = lurn.nn.CTC()
-- local loss = ctc:forward(lurn.randn(6, 2, 4), { { 1, 2 }, { 3 } })
-- local dlogits = ctc:backward()
local CTC = class("nn.CTC", Module)

--- @tparam[opt] table opts `blank` (0), `reduction` ("mean" | "sum"), `zero_infinity` (false)
function CTC:__init(opts)
  Module.__init(self)
  opts = opts or {}
  for k in pairs(opts) do
    if k ~= "blank" and k ~= "reduction" and k ~= "zero_infinity" then
      error(("nn.CTC: unknown option '%s' (blank, reduction, zero_infinity)"):format(tostring(k)), 2)
    end
  end
  self.blank = opts.blank or 0
  if math.type(self.blank) ~= "integer" or self.blank < 0 then
    error(("nn.CTC: blank must be a non-negative integer, got %s"):format(tostring(opts.blank)), 2)
  end
  self.reduction = opts.reduction or "mean"
  if self.reduction ~= "mean" and self.reduction ~= "sum" then
    error(("nn.CTC: reduction must be 'mean' or 'sum', got '%s'"):format(tostring(self.reduction)), 2)
  end
  self.zero_infinity = opts.zero_infinity and true or false
end

--- A list of label lists as padded labels [B, S] and lengths [B] (int32).
-- @tparam table lists `{{label, ...}, ...}`
-- @treturn Tensor labels
-- @treturn Tensor lengths
function CTC.pack(lists)
  local S = 1
  for _, l in ipairs(lists) do S = math.max(S, #l) end
  local rows, lens = {}, {}
  for b, l in ipairs(lists) do
    local r = {}
    for i = 1, S do r[i] = l[i] or 0 end
    rows[b], lens[b] = r, #l
  end
  if #lists == 0 then return lurn.zeros({ 0, 1 }, "int32"), lurn.zeros({ 0 }, "int32") end
  return lurn.tensor(rows, "int32"), lurn.tensor(lens, "int32")
end

--- The loss of logits against the target (see the module comment).
-- @tparam Tensor|table input logits [T, B, C] or a Seq
-- @tparam table target `{labels =, lengths =}` or a list of label lists
-- @treturn number
function CTC:forward(input, target)
  local x, lengths = seq.split(input)
  if not x or x:dim() ~= 3 then
    error(("nn.CTC: expected logits [T, B, C], got %s"):format(seq.describe(input)), 2)
  end
  local T, B = x:size(1), x:size(2)
  lengths = lengths or lurn.full({ B }, T, "int32")
  if lengths:dtype() ~= "int32" then lengths = lengths:int() end
  local labels, tlen
  if type(target) == "table" and target.labels then
    labels, tlen = target.labels, target.lengths
  elseif type(target) == "table" and not lurn.is_tensor(target) then
    labels, tlen = CTC.pack(target)
  else
    error("nn.CTC: the target must be {labels =, lengths =} or a list of label lists", 2)
  end
  local loss, d, losses = core.ctc_loss(x, labels, lengths, tlen, { blank = self.blank,
    reduction = self.reduction, zero_infinity = self.zero_infinity })
  self._d, self.losses, self.output = d, losses, loss
  return loss
end

--- d loss / d logits [T, B, C] of the last forward.
function CTC:backward() return self._d end

function CTC:describe()
  return ("nn.CTC(blank=%d%s)"):format(self.blank, self.reduction == "sum" and ", sum" or "")
end

function CTC:spec()
  return { type = "CTC", args = { { blank = self.blank, reduction = self.reduction,
    zero_infinity = self.zero_infinity or nil } } }
end

--- Greedy decoding: the best class per step, repeats merged, blanks dropped.
-- @tparam Tensor|table input logits [T, B, C] or a Seq (its lengths used)
-- @tparam[opt] integer blank (0)
-- @treturn table `{{label, ...}, ...}` per sample
function CTC.greedy(input, blank)
  local x, lengths = seq.split(input)
  return core.ctc_greedy(x, lengths, blank or 0)
end

--- Prefix beam search over the label prefixes (exact with a large beam).
-- @tparam Tensor|table input logits [T, B, C] or a Seq
-- @tparam[opt] integer beam width (8)
-- @tparam[opt] integer blank (0)
-- @treturn table `{{label, ...}, ...}` per sample
-- @treturn table the log-probability of each
function CTC.beam(input, beam, blank)
  local x, lengths = seq.split(input)
  return core.ctc_beam(x, lengths, blank or 0, beam or 8)
end

return CTC
