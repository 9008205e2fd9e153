--- lurn.gradcheck — central finite differences against a module's backward.
--
--   local report = lurn.gradcheck.check(module, input, {eps = 1e-2, tol = 1e-2})
--   assert(report.ok, report.summary)
--
-- The loss is L = sum(output .* R) for a fixed random R, so backward gets
-- dL/doutput = R. For every checked element e of every parameter (and of the
-- input when it is float32) the numeric gradient is
--   (L(e + eps) - L(e - eps)) / (2 eps).
-- Two errors are measured, because float32 forward passes make each numeric
-- element noisy (about 1e-4 absolute) while a wrong backward is wrong in
-- many elements or wrong by a lot:
--   per tensor   ||a - n|| / max(||a|| + ||n||, floor)   must be <= tol (1e-2)
--   per element  |a - n| / max(|a| + |n|, floor)         must be <= elem_tol (5e-2)
-- The random number generator is rewound before every forward, so
-- dropout draws the same mask each time. Large tensors are sampled
-- (`max_per_tensor` elements, default 64) to keep checks quick.
--
-- Functions with kinks (ReLU) are checked with skip_kinks = true: the
-- one-sided differences (L(e+eps) - L(e)) / eps and (L(e) - L(e-eps)) / eps
-- are compared, and an element whose two slopes disagree by more than
-- kink_tol (relative, default: tol) has a kink inside [e - eps, e + eps]
-- where no finite difference is meaningful; it is skipped and counted in
-- report.skipped. A smooth function's slopes differ by about eps * f''.
local lurn = require "lurn"
local seq = require "lurn.nn.seq"
local util = require "lurn.util"

local M = {}

local function out_data(y)
  local d = seq.split(y)
  if not d then util.user_error("gradcheck: forward returned " .. type(y) .. ", not a tensor or Seq") end
  return d
end

--- Element positions to check in a tensor (1-based multi-indices).
local function sample_positions(t, max_n)
  local n = t:numel()
  local shape = t:shape()
  local flat = {}
  if n <= max_n then
    for i = 0, n - 1 do flat[#flat + 1] = i end
  else
    local perm = lurn.randperm(n)
    for i = 1, max_n do flat[i] = perm:get(i) end
  end
  local pos = {}
  for k, f in ipairs(flat) do
    local idx = {}
    for d = #shape, 1, -1 do
      idx[d] = f % shape[d] + 1
      f = f // shape[d]
    end
    pos[k] = idx
  end
  return pos
end

local function set_at(t, idx, v)
  local a = { table.unpack(idx) }
  a[#a + 1] = v
  t:set(table.unpack(a))
end

--- Check a module's backward against central finite differences.
-- @tparam nn.Module module any module with forward, backward and parameters
-- @tparam Tensor|table input its input (a tensor, or a Seq {data =, lengths =})
-- @tparam[opt] table opts `eps = 1e-2`, `tol = 1e-2` (per tensor), `elem_tol = 5e-2`
--   (per element), `floor = 1e-2`, `max_per_tensor = 64`, `skip_kinks = false`, `kink_tol = tol`
-- @treturn table `{ok, max_error, max_element_error, checked, skipped, errors, worst, summary}`
-- @usage local r = lurn.gradcheck.check(nn.GRU(3, 4), lurn.randn(5, 2, 3))
-- assert(r.ok, r.summary)
function M.check(module, input, opts)
  if type(module) ~= "table" or type(module.forward) ~= "function" or type(module.backward) ~= "function" then
    util.user_error(("gradcheck.check: expected a module (with forward and backward), got %s"):format(type(module)))
  end
  opts = opts or {}
  local eps = opts.eps or 1e-2
  local tol = opts.tol or 1e-2
  local floor = opts.floor or 1e-2
  local max_n = opts.max_per_tensor or 64

  local rng = lurn.rng_state()
  local function forward()
    lurn.set_rng_state(rng)
    return out_data(module:forward(input))
  end

  -- analytic gradients
  local y = forward()
  local R = lurn.randn(y:shape())
  local rng_after = lurn.rng_state()
  module:zero_grad()
  local grad_in = module:backward(R:clone())
  local function loss() return forward():mul(R):sum() end

  local targets = {}
  for _, p in ipairs(module:parameters()) do
    targets[#targets + 1] = { name = p.name, value = p.value, grad = p.grad:clone() }
  end
  local in_data = seq.split(input)
  if opts.check_input ~= false and in_data and in_data:dtype() == "float32" then
    if grad_in == nil then
      util.user_error("gradcheck: backward returned no input gradient for a float32 input")
    end
    targets[#targets + 1] = { name = "input", value = in_data, grad = seq.split(grad_in) }
  end

  local report = { ok = true, max_error = 0, errors = {}, checked = 0, skipped = 0 }
  local elem_tol = opts.elem_tol or 5 * tol
  report.max_element_error = 0
  for _, t in ipairs(targets) do
    local worst, diff2, norm_a2, norm_n2 = 0, 0, 0, 0
    for _, idx in ipairs(sample_positions(t.value, max_n)) do
      local orig = t.value:get(table.unpack(idx))
      set_at(t.value, idx, orig + eps)
      local lp = loss()
      set_at(t.value, idx, orig - eps)
      local lm = loss()
      set_at(t.value, idx, orig)
      local n = (lp - lm) / (2 * eps)
      local a = t.grad:get(table.unpack(idx))
      if opts.skip_kinks then
        local l0 = loss()
        local up, down = (lp - l0) / eps, (l0 - lm) / eps
        if math.abs(up - down) > (opts.kink_tol or tol) * math.max(math.abs(up) + math.abs(down), floor) then
          report.skipped = report.skipped + 1
          goto continue
        end
      end
      local err = math.abs(a - n) / math.max(math.abs(a) + math.abs(n), floor)
      report.checked = report.checked + 1
      diff2, norm_a2, norm_n2 = diff2 + (a - n) ^ 2, norm_a2 + a * a, norm_n2 + n * n
      if err > worst then worst = err end
      if err > report.max_element_error then
        report.max_element_error = err
        report.worst = { name = t.name, index = idx, analytic = a, numeric = n }
      end
      ::continue::
    end
    local terr = math.sqrt(diff2) / math.max(math.sqrt(norm_a2) + math.sqrt(norm_n2), floor)
    report.errors[#report.errors + 1] = { name = t.name, error = terr, max_element_error = worst }
    report.max_error = math.max(report.max_error, terr)
  end
  lurn.set_rng_state(rng_after)
  report.ok = report.max_error <= tol and report.max_element_error <= elem_tol
  local lines = {}
  for _, e in ipairs(report.errors) do
    lines[#lines + 1] = ("  %-28s rel. error %.2e  (worst element %.2e)")
      :format(e.name, e.error, e.max_element_error)
  end
  local w = report.worst
  report.summary = ("gradcheck %s: %d elements%s, rel. error %.2e (tol %.0e), worst element %.2e (tol %.0e)%s\n%s")
    :format(report.ok and "passed" or "FAILED", report.checked,
      report.skipped > 0 and (" (%d at kinks skipped)"):format(report.skipped) or "",
      report.max_error, tol, report.max_element_error, elem_tol,
      w and ("; at %s[%s] analytic %.6g numeric %.6g"):format(w.name,
        table.concat(w.index, ","), w.analytic, w.numeric) or "",
      table.concat(lines, "\n"))
  return report
end

return M
