--- lurn.run.svg — a run's curves as a standalone SVG file (any browser shows
-- it; no server, no Python).
--
--   svg.curves(records, {title = "run name"}) -> text
--     records: metrics.jsonl's ({step, split = "train"|"valid"|..., loss,
--     accuracy, macro_f1}). Two panels over the optimizer step: the losses
--     (train and valid), then the valid accuracy and macro-F1.
--   svg.lines(series, {title =, xlabel =, xtick = fn}) -> text
--     one panel of lines over any x (lurn forecast: forecast against truth).
local M = {}

local W, PH = 760, 250          -- image width, panel height
local ML, MR, MT, MB = 64, 150, 34, 34   -- panel margins (legend on the right)
local COLORS = { "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e" }

local function esc(s)
  return (tostring(s):gsub("[&<>\"]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
    ['"'] = "&quot;" }))
end

local function finite(v) return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge end

-- About n round tick values covering [lo, hi].
local function ticks(lo, hi, n)
  local span = hi - lo
  if span <= 0 then return { lo } end
  local raw = span / n
  local mag = 10 ^ math.floor(math.log(raw, 10))
  local step = mag
  for _, m in ipairs { 1, 2, 2.5, 5, 10 } do
    if m * mag >= raw then step = m * mag; break end
  end
  local out = {}
  local t = math.ceil(lo / step - 1e-9) * step
  while t <= hi + step * 1e-9 do
    out[#out + 1] = math.abs(t) < step * 1e-9 and 0 or t
    t = t + step
  end
  return out
end

local function label(v)
  if v == math.floor(v) and math.abs(v) < 1e6 then return ("%d"):format(v) end
  return ("%.3g"):format(v)
end

-- One panel: series = {{name =, points = {{x, y}, ...}}, ...}. xaxis: the
-- x label ("step") and how a tick value is written (label).
local function panel(out, y0, title, series, xlo, xhi, xaxis)
  xaxis = xaxis or {}
  local ylo, yhi = math.huge, -math.huge
  for _, s in ipairs(series) do
    for _, p in ipairs(s.points) do ylo, yhi = math.min(ylo, p[2]), math.max(yhi, p[2]) end
  end
  local x1, x2 = ML, W - MR
  local top, bottom = y0 + MT, y0 + PH - MB
  out[#out + 1] = ('<text x="%d" y="%d" font-weight="bold">%s</text>'):format(x1, y0 + 20, esc(title))
  out[#out + 1] = ('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>')
      :format(x1, top, x2 - x1, bottom - top)
  if ylo > yhi then
    out[#out + 1] = ('<text x="%d" y="%d" fill="#777">no data yet</text>'):format(x1 + 10,
      (top + bottom) // 2)
    return
  end
  if yhi - ylo < 1e-12 then ylo, yhi = ylo - 0.5, yhi + 0.5 end
  local pad = (yhi - ylo) * 0.05
  ylo, yhi = ylo - pad, yhi + pad
  local function sx(x) return x1 + (x - xlo) / (xhi - xlo) * (x2 - x1) end
  local function sy(y) return bottom - (y - ylo) / (yhi - ylo) * (bottom - top) end
  for _, t in ipairs(ticks(ylo, yhi, 5)) do
    local y = sy(t)
    out[#out + 1] = ('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>'):format(x1, y, x2, y)
    out[#out + 1] = ('<text x="%d" y="%.1f" text-anchor="end" font-size="11">%s</text>')
        :format(x1 - 6, y + 4, label(t))
  end
  for _, t in ipairs(ticks(xlo, xhi, 8)) do
    local x = sx(t)
    out[#out + 1] = ('<text x="%.1f" y="%d" text-anchor="middle" font-size="11">%s</text>')
        :format(x, bottom + 16, esc((xaxis.tick or label)(t)))
  end
  out[#out + 1] = ('<text x="%d" y="%d" text-anchor="middle" font-size="11">%s</text>')
      :format((x1 + x2) // 2, bottom + 30, esc(xaxis.label or "step"))
  for i, s in ipairs(series) do
    local color = COLORS[(i - 1) % #COLORS + 1]
    local pts = {}
    for j, p in ipairs(s.points) do pts[j] = ("%.1f,%.1f"):format(sx(p[1]), sy(p[2])) end
    if #pts > 1 then
      out[#out + 1] = ('<polyline fill="none" stroke="%s" stroke-width="1.6"%s points="%s"/>')
          :format(color, s.dashed and ' stroke-dasharray="5,3"' or "", table.concat(pts, " "))
    end
    if s.markers or #pts == 1 then
      for _, p in ipairs(s.points) do
        out[#out + 1] = ('<circle cx="%.1f" cy="%.1f" r="2.8" fill="%s"/>'):format(sx(p[1]),
          sy(p[2]), color)
      end
    end
    local ly = top + 14 + (i - 1) * 18
    out[#out + 1] = ('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>')
        :format(x2 + 12, ly - 4, x2 + 32, ly - 4, color)
    out[#out + 1] = ('<text x="%d" y="%d" font-size="12">%s</text>'):format(x2 + 38, ly, esc(s.name))
  end
end

local function series_of(records, split, key, name, markers)
  local pts = {}
  for _, r in ipairs(records) do
    if r.split == split and finite(r[key]) and finite(r.step) then pts[#pts + 1] = { r.step, r[key] } end
  end
  return { name = name, points = pts, markers = markers }
end

function M.curves(records, opts)
  opts = opts or {}
  local xlo, xhi = math.huge, -math.huge
  for _, r in ipairs(records) do
    if finite(r.step) then xlo, xhi = math.min(xlo, r.step), math.max(xhi, r.step) end
  end
  if xlo > xhi then xlo, xhi = 0, 1 end
  if xhi == xlo then xlo, xhi = xlo - 1, xhi + 1 end
  local losses = { series_of(records, "train", "loss", "train loss"),
    series_of(records, "valid", "loss", "valid loss", true) }
  local scores = { series_of(records, "valid", "accuracy", "valid accuracy", true),
    series_of(records, "valid", "macro_f1", "valid macro-F1", true) }
  local out = {
    ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
      .. 'font-family="sans-serif" font-size="13">'):format(W, 2 * PH + 30, W, 2 * PH + 30),
    ('<rect width="100%%" height="100%%" fill="white"/>'),
    ('<text x="%d" y="20" font-size="15">%s</text>'):format(ML, esc(opts.title or "lurn run")),
  }
  panel(out, 24, "loss", losses, xlo, xhi)
  panel(out, 24 + PH, "validation accuracy and macro-F1", scores, xlo, xhi)
  out[#out + 1] = "</svg>\n"
  return table.concat(out, "\n")
end

--- One panel of lines over any x: a forecast against the truth, say.
-- @param series list of {name =, points = {{x, y}, ...}, markers =, dashed =}
-- @param opts title, panel (its heading), xlabel, xtick (function(x) -> text
--   for a tick value)
-- @return the SVG text
function M.lines(series, opts)
  opts = opts or {}
  local xlo, xhi = math.huge, -math.huge
  for _, s in ipairs(series) do
    for _, p in ipairs(s.points) do
      if finite(p[1]) then xlo, xhi = math.min(xlo, p[1]), math.max(xhi, p[1]) end
    end
  end
  if xlo > xhi then xlo, xhi = 0, 1 end
  if xhi == xlo then xlo, xhi = xlo - 1, xhi + 1 end
  local out = {
    ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
      .. 'font-family="sans-serif" font-size="13">'):format(W, PH + 30, W, PH + 30),
    ('<rect width="100%%" height="100%%" fill="white"/>'),
    ('<text x="%d" y="20" font-size="15">%s</text>'):format(ML, esc(opts.title or "lurn")),
  }
  panel(out, 24, opts.panel or "", series, xlo, xhi, { label = opts.xlabel, tick = opts.xtick })
  out[#out + 1] = "</svg>\n"
  return table.concat(out, "\n")
end

return M
