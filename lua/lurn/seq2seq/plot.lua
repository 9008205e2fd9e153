--- lurn.seq2seq.plot — an attention matrix as a standalone SVG image.
--
--   local svg = plot.attention(source_tokens, output_tokens, weights, {title = "..."})
--
-- weights[i][j]: the attention of output step i on source token j (rows of
-- lurn.seq2seq.search's `attention`). One square per pair, darker for more
-- weight (white 0, black 1), source tokens along the top, output tokens down
-- the left; rows beyond the output tokens are labelled </s> (the step that
-- ended the output).
local M = {}

local function esc(s)
  return (tostring(s):gsub("[&<>\"]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
    ['"'] = "&quot;" }))
end

--- The SVG text of an attention matrix.
-- @tparam {string,...} src source tokens (columns)
-- @tparam {string,...} out output tokens (rows; a last row without a token is </s>)
-- @tparam {{number,...},...} weights one row per output step, one weight per source token
-- @tparam[opt] table opts `title`, `cell = 28` (pixels per square)
-- @treturn string
function M.attention(src, out, weights, opts)
  opts = opts or {}
  local cell = opts.cell or 28
  local rows, cols = #weights, #src
  local label_w, label_h = 110, 100
  local W, H = label_w + cols * cell + 20, label_h + rows * cell + 40
  local o = {
    ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
      .. 'font-family="sans-serif" font-size="12">'):format(W, H, W, H),
    '<rect width="100%" height="100%" fill="white"/>',
    ('<text x="10" y="18" font-size="14">%s</text>'):format(esc(opts.title or "attention")),
  }
  for j = 1, cols do
    local x = label_w + (j - 0.5) * cell
    o[#o + 1] = ('<text transform="translate(%.1f,%d) rotate(-60)" text-anchor="start">%s</text>')
        :format(x + 4, label_h - 6, esc(src[j]))
  end
  for i = 1, rows do
    local y = label_h + (i - 1) * cell
    o[#o + 1] = ('<text x="%d" y="%.1f" text-anchor="end">%s</text>'):format(label_w - 6,
      y + cell * 0.65, esc(out[i] or "</s>"))
    for j = 1, cols do
      local w = math.max(0, math.min(1, weights[i][j] or 0))
      local g = math.floor(255 * (1 - w) + 0.5)
      o[#o + 1] = ('<rect x="%d" y="%d" width="%d" height="%d" fill="rgb(%d,%d,%d)" '
        .. 'stroke="#ddd"><title>%s -> %s: %.3f</title></rect>'):format(label_w + (j - 1) * cell, y,
        cell, cell, g, g, g, esc(out[i] or "</s>"), esc(src[j]), w)
    end
  end
  o[#o + 1] = "</svg>\n"
  return table.concat(o, "\n")
end

return M
