--- lurn.util — small helpers shared by the library.
local M = {}

--- Edit distance between two strings (insertions, deletions, substitutions).
function M.levenshtein(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

--- The key of `known` (a set: name -> anything) closest to `name`; ties go
-- to the alphabetically first, so the suggestion never depends on table order.
function M.closest(name, known)
  local best, bd = nil, math.huge
  for k in pairs(known) do
    local d = M.levenshtein(tostring(name), k)
    if d < bd or (d == bd and k < best) then best, bd = k, d end
  end
  return best
end

--- Raise "<what>: unknown option 'x' (did you mean 'y'?)" for the first key
-- of `t` that is neither in `known` nor in `skip`. `level` as for error(),
-- counted from the caller of check_keys (default: its caller).
function M.check_keys(t, known, what, level, skip)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  for _, k in ipairs(keys) do
    if known[k] == nil and not (skip and skip[k]) then
      error(("%s: unknown option '%s' (did you mean '%s'?)"):format(what, k, M.closest(k, known)),
        (level or 2) + 1)
    end
  end
end

return M
