--- lurn.run.metrics — classification metrics from a confusion matrix.
--
--   local cm = metrics.Confusion(num_classes)
--   cm:add(logits, labels)          -- logits [N, C] (or a Seq), int32 labels [N]
--   local r = cm:report(labels)     -- {n, accuracy, macro_f1, classes = {...}, matrix}
--     classes[i] = {label =, precision =, recall =, f1 =, support =}
--     matrix[i][j] = samples of true class i-1 predicted as j-1
--
--   metrics.evaluate(model, dataset, {loss =, batch_size =, labels =})
--     -> record {n, loss, accuracy, macro_f1}, report (the above)
--
-- Conventions (scikit-learn's, zero_division = 0): a class never predicted
-- has precision 0, a class absent from the data recall 0; F1 is 0 when
-- precision + recall is 0. Macro-F1 averages F1 over every class the model
-- knows, present in the data or not, so the number does not move with the
-- sample of classes an evaluation set happens to hold.
local lurn = require "lurn"
local seqm = require "lurn.nn.seq"

local M = {}

local Confusion = {}
Confusion.__index = Confusion
Confusion.__name = "metrics.Confusion"

function M.Confusion(num_classes)
  local m = {}
  for i = 1, num_classes do
    m[i] = {}
    for j = 1, num_classes do m[i][j] = 0 end
  end
  return setmetatable({ k = num_classes, matrix = m, n = 0 }, Confusion)
end

--- Count one batch: argmax of the logits against the labels.
function Confusion:add(logits, labels)
  local out = seqm.split(logits)
  if out:dim() ~= 2 or out:size(2) ~= self.k then
    error(("metrics: expected logits [N, %d], got %s"):format(self.k, tostring(out:shape())), 2)
  end
  local pred = out:argmax(2)
  local n = labels:numel()
  for i = 1, n do
    local t, p = labels:get(i) + 1, pred:get(i) + 1
    local row = self.matrix[t]
    if not row then
      error(("metrics: label %d is not a class of this %d-class model"):format(t - 1, self.k), 2)
    end
    row[p] = row[p] + 1
  end
  self.n = self.n + n
end

--- Accuracy, per-class precision/recall/F1, macro-F1 (see the header).
function Confusion:report(labels)
  local k, m = self.k, self.matrix
  local correct, classes, f1_sum = 0, {}, 0
  for c = 1, k do
    local tp, pred_c, true_c = m[c][c], 0, 0
    for j = 1, k do
      true_c = true_c + m[c][j]
      pred_c = pred_c + m[j][c]
    end
    correct = correct + tp
    local p = pred_c > 0 and tp / pred_c or 0
    local r = true_c > 0 and tp / true_c or 0
    local f1 = (p + r) > 0 and 2 * p * r / (p + r) or 0
    f1_sum = f1_sum + f1
    classes[c] = { label = labels and labels[c] or tostring(c - 1), precision = p, recall = r,
      f1 = f1, support = true_c }
  end
  return {
    n = self.n,
    accuracy = self.n > 0 and correct / self.n or 0 / 0,
    macro_f1 = k > 0 and f1_sum / k or 0 / 0,
    classes = classes,
    matrix = m,
  }
end

--- Loss and metrics over a dataset in eval mode (the mode is restored).
-- opts: loss (a loss module), batch_size (64), labels (class names),
-- num_classes (default #labels). Returns the flat record train.fit keeps
-- in its history and the full report.
function M.evaluate(model, data, opts)
  opts = opts or {}
  local k = opts.num_classes or (opts.labels and #opts.labels)
  if not k then error("metrics.evaluate: give labels or num_classes", 2) end
  local cm = M.Confusion(k)
  local was = model.training
  model:eval()
  local loss_sum, n = 0, 0
  for batch in data:batches { size = opts.batch_size or 64 } do
    local out = model:forward(batch)
    local b = #batch.index
    if opts.loss then loss_sum = loss_sum + opts.loss:forward(out, batch.labels) * b end
    cm:add(out, batch.labels)
    n = n + b
  end
  model:train(was)
  local rep = cm:report(opts.labels)
  local rec = { n = n, accuracy = rep.accuracy, macro_f1 = rep.macro_f1 }
  if opts.loss and n > 0 then rec.loss = loss_sum / n end
  rep.loss = rec.loss
  return rec, rep
end

return M
