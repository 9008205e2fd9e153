--- lurn.text.read — the corpus readers: a file (or directory) to texts and labels.
--
--   local r = read.read(path, {format = "auto", text_field = "", label_field = ""})
--   -- r.texts = {s, ...}, r.labels = {label string, ...}, r.dropped = n, r.format = "tsv"
--
-- Formats (docs/data.md has examples of each):
--   tsv         GLUE style: a header line naming the columns, then tab-separated rows
--   csv         RFC 4180: a header, fields separated by commas, "quoted" fields may hold
--               commas, newlines and "" for a quote
--   json        an array of objects {text = ..., class = ...} (field names configurable)
--   label_text  one "label<TAB>text" per line, no header
--   fasttext    one "__label__x text" per line
--   imdb        the aclImdb layout: a directory with pos/ and neg/ of <id>_<rating>.txt
-- Rows whose label is empty or null are dropped and counted (r.dropped).
-- Blank lines are skipped. Anything else that does not fit its format is an
-- error {code = "data"} naming the file and the 1-based line; so is a file
-- with no labelled rows.
local core = require "lurn.core"
local errors = require "lurn.errors"
local util = require "lurn.util"

local M = {}

local function fail(fmt, ...) errors.raise("data", fmt, ...) end

local function slurp(path)
  local f, err = io.open(path, "rb")
  if not f then fail("%s: cannot open (%s)", path, err) end
  local s, rerr = f:read("a")
  f:close()
  if not s then fail("%s: cannot read (%s)", path, tostring(rerr)) end
  if s:sub(1, 3) == "\239\187\191" then s = s:sub(4) end   -- UTF-8 byte order mark
  M.check_utf8(path, s)
  return s
end
M.slurp = slurp

--- A data error naming the file, line and byte of the first byte of s (the text of
-- path) that is not UTF-8. Vocabularies travel in checkpoints as JSON, which holds
-- UTF-8 only: a Latin-1 corpus would otherwise train and then fail at its first checkpoint.
function M.check_utf8(path, s)
  local ok, bad = utf8.len(s)
  if ok then return end
  local line, start = 1, 1
  for nl in s:sub(1, bad - 1):gmatch("()\n") do line = line + 1; start = nl + 1 end
  fail("%s:%d: not valid UTF-8 at byte %d of the line (convert the file, e.g. "
    .. "iconv -f latin1 -t utf-8)", path, line, bad - start + 1)
end

--- Iterate the lines of s: yields line number, line (without \n or \r\n).
local function lines(s)
  local pos, n, len = 1, 0, #s
  return function()
    if pos > len then return nil end
    local e = s:find("\n", pos, true)
    local line
    if e then line = s:sub(pos, e - 1); pos = e + 1
    else line = s:sub(pos); pos = len + 1 end
    if line:byte(-1) == 13 then line = line:sub(1, -2) end
    n = n + 1
    return n, line
  end
end

local function split_tabs(line)
  local out, pos = {}, 1
  while true do
    local t = line:find("\t", pos, true)
    if not t then out[#out + 1] = line:sub(pos); return out end
    out[#out + 1] = line:sub(pos, t - 1)
    pos = t + 1
  end
end

local TEXT_NAMES = { "sentence", "text", "review", "content" }
local LABEL_NAMES = { "label", "class", "sentiment", "polarity" }

--- The column of a header: the configured name, else the first known one.
local function column(header, wanted, known, path, what)
  local pos = {}
  for i, h in ipairs(header) do pos[h] = pos[h] or i end
  if wanted and wanted ~= "" then
    if not pos[wanted] then
      fail("%s:1: no column '%s' in the header (columns: %s)", path, wanted, util.show_names(header))
    end
    return pos[wanted]
  end
  for _, k in ipairs(known) do if pos[k] then return pos[k] end end
  if what == "text" then
    fail("%s:1: no text column in the header (columns: %s); set data.text_field", path,
      util.show_names(header))
  end
  return nil
end

local function result(path, texts, labels, dropped, fmt, opts)
  if #texts == 0 and dropped == 0 then fail("%s: no rows", path) end
  if #labels == 0 and not opts.unlabelled then
    fail("%s: no labelled rows (%d without a label dropped)", path, dropped)
  end
  return { texts = texts, labels = labels, dropped = dropped, format = fmt, path = path }
end

--- Rows of a table-shaped file (tsv, csv) with a header: rows is an
-- iterator of line number, fields.
local function from_rows(path, rows, opts, fmt)
  local _, header = rows()
  if not header then fail("%s: no rows", path) end
  local ti = column(header, opts.text_field, TEXT_NAMES, path, "text")
  local li = column(header, opts.label_field, LABEL_NAMES, path, "label")
  if not li and not opts.unlabelled then
    fail("%s:1: no label column in the header (columns: %s); set data.label_field",
      path, util.show_names(header))
  end
  local texts, labels, dropped = {}, {}, 0
  for ln, f in rows do
    if #f ~= #header then
      fail("%s:%d: %d field%s, the header has %d", path, ln, #f, #f == 1 and "" or "s", #header)
    end
    local label = li and f[li] or nil
    if li and label == "" then
      dropped = dropped + 1
    else
      texts[#texts + 1] = f[ti]
      if li then labels[#labels + 1] = label end
    end
  end
  return result(path, texts, labels, dropped, fmt, opts)
end

function M.tsv(path, opts)
  local s = slurp(path)
  local it = lines(s)
  local function rows()
    while true do
      local ln, line = it()
      if not ln then return nil end
      if line:find("%S") then return ln, split_tabs(line) end
    end
  end
  return from_rows(path, rows, opts, "tsv")
end

--- RFC 4180 records: yields the line a record starts on, its fields.
local function csv_records(s, path)
  local pos, len, line = 1, #s, 1
  return function()
    -- skip blank lines between records
    while pos <= len do
      local b = s:byte(pos)
      if b == 10 then line = line + 1; pos = pos + 1
      elseif b == 13 and s:byte(pos + 1) == 10 then line = line + 1; pos = pos + 2
      else break end
    end
    if pos > len then return nil end
    local start_line, fields = line, {}
    while true do
      if s:byte(pos) == 34 then                       -- a quoted field
        local open_line, parts, p = line, {}, pos + 1
        while true do
          local q = s:find('"', p, true)
          if not q then fail("%s:%d: unterminated quoted field", path, open_line) end
          local chunk = s:sub(p, q - 1)
          local _, nl = chunk:gsub("\n", "")
          line = line + nl
          parts[#parts + 1] = chunk
          if s:byte(q + 1) == 34 then parts[#parts + 1] = '"'; p = q + 2
          else pos = q + 1; break end
        end
        fields[#fields + 1] = table.concat(parts)
        local b = s:byte(pos)
        if b ~= nil and b ~= 44 and b ~= 10 and not (b == 13 and s:byte(pos + 1) == 10) then
          fail("%s:%d: unexpected character '%s' after a closing quote (expected ',' or the end of the line)",
            path, line, string.char(b))
        end
      else
        local e = s:find('[,\r\n"]', pos) or len + 1
        -- a lone CR is data, not a line break: look past it
        while s:byte(e) == 13 and s:byte(e + 1) ~= 10 do e = s:find('[,\r\n"]', e + 1) or len + 1 end
        if s:byte(e) == 34 then fail("%s:%d: quote inside an unquoted field (quote the whole field)", path, line) end
        fields[#fields + 1] = s:sub(pos, e - 1)
        pos = e
      end
      local b = s:byte(pos)
      if b == 44 then pos = pos + 1
      else
        if b == 13 then pos = pos + 2 elseif b == 10 then pos = pos + 1 end
        if b then line = line + 1 end
        return start_line, fields
      end
    end
  end
end

function M.csv(path, opts)
  return from_rows(path, csv_records(slurp(path), path), opts, "csv")
end

function M.label_text(path, opts)
  local texts, labels = {}, {}
  for ln, line in lines(slurp(path)) do
    if line:find("%S") then
      local t = line:find("\t", 1, true)
      if not t then fail("%s:%d: expected 'label<TAB>text', found no tab", path, ln) end
      local label = line:sub(1, t - 1)
      if not label:find("%S") then fail("%s:%d: empty label before the tab", path, ln) end
      labels[#labels + 1] = label
      texts[#texts + 1] = line:sub(t + 1)
    end
  end
  return result(path, texts, labels, 0, "label_text", opts)
end

function M.fasttext(path, opts)
  local prefix = opts.label_prefix or "__label__"
  local plen = #prefix
  local texts, labels = {}, {}
  for ln, line in lines(slurp(path)) do
    local first, last = line:find("%S+")
    if first then
      local tok = line:sub(first, last)
      if tok:sub(1, plen) ~= prefix or #tok == plen then
        fail("%s:%d: expected '%s<label> text', found '%s'", path, ln, prefix, tok:sub(1, 40))
      end
      local rest = line:sub(last + 1)
      local nf = rest:find("%S")
      if nf and rest:sub(nf, nf + plen - 1) == prefix then
        fail("%s:%d: more than one label (multi-label lines are not supported)", path, ln)
      end
      labels[#labels + 1] = tok:sub(plen + 1)
      texts[#texts + 1] = nf and rest:sub(nf) or ""
    end
  end
  return result(path, texts, labels, 0, "fasttext", opts)
end

function M.json(path, opts)
  local s = slurp(path)
  local ok, v = pcall(core.json_decode, s)
  if not ok then
    local msg = tostring(v):gsub("^json_decode: ", "")
    local line = msg:match("line (%d+)")
    fail("%s:%s: %s", path, line or "1", msg)
  end
  if type(v) ~= "table" or (next(v) ~= nil and v[1] == nil) then
    fail("%s:1: expected a JSON array of objects {\"text\": ..., \"class\": ...}", path)
  end
  local tf = (opts.text_field and opts.text_field ~= "") and opts.text_field or "text"
  local lf = opts.label_field
  if not lf or lf == "" then lf = nil end
  local texts, labels, dropped = {}, {}, 0
  for i, row in ipairs(v) do
    if type(row) ~= "table" then fail("%s: row %d is not an object", path, i) end
    local label
    if lf then label = row[lf]
    else label = row.class; if label == nil then label = row.label end end
    local text = row[tf]
    if label == nil or label == core.json_null or label == "" then
      dropped = dropped + 1
    else
      if type(text) ~= "string" then
        fail("%s: row %d: field '%s' is %s, not a string", path, i, tf,
          text == nil and "missing" or (text == core.json_null and "null" or type(text)))
      end
      if type(label) == "number" then
        label = math.type(label) == "integer" and ("%d"):format(label) or tostring(label)
      elseif type(label) ~= "string" then
        fail("%s: row %d: the label is a %s, not a string or number", path, i, type(label))
      end
      texts[#texts + 1] = text
      labels[#labels + 1] = label
    end
  end
  return result(path, texts, labels, dropped, "json", opts)
end

local function is_dir(path)
  return core.text_listdir(path) ~= nil
end

--- aclImdb: path/pos/*.txt and path/neg/*.txt, in the order of their ids.
function M.imdb(path, opts)
  local texts, labels = {}, {}
  local found = false
  for _, label in ipairs { "neg", "pos" } do
    local dir = path .. "/" .. label
    local names = core.text_listdir(dir)
    if names then
      found = true
      local files = {}
      for _, name in ipairs(names) do
        local id, rating = name:match("^(%d+)_(%d+)%.txt$")
        if id then files[#files + 1] = { name = name, id = tonumber(id), rating = tonumber(rating) } end
      end
      table.sort(files, function(a, b) return a.id < b.id end)
      for _, f in ipairs(files) do
        texts[#texts + 1] = slurp(dir .. "/" .. f.name)
        labels[#labels + 1] = label
      end
    end
  end
  if not found then
    local hint = is_dir(path .. "/train") and " (it holds train/: point at " .. path .. "/train)" or ""
    fail("%s: not an aclImdb split directory: no pos/ or neg/ inside%s", path, hint)
  end
  return result(path, texts, labels, 0, "imdb", opts)
end

--- text.detect(path [, opts]) — the format of a corpus file from its name and first line:
-- "tsv", "csv", "json", "label_text", "fasttext" or "imdb" (a directory).
-- @tparam string path
-- @tparam[opt] table opts {text_field =, label_field =} (header names of a tsv)
-- @treturn string the format
-- @usage local f = assert(io.open("tiny.tsv", "w"))
-- f:write("1\tgood film\n0\tbad film\n1\tnice one\n0\tawful\n"); f:close()
-- print(text.detect("tiny.tsv"))   --> label_text
function M.detect(path, opts)
  opts = opts or {}
  if is_dir(path) then return "imdb" end
  local ext = path:match("%.([%w]+)$")
  ext = ext and ext:lower()
  if ext == "json" then return "json" end
  if ext == "csv" then return "csv" end
  if ext == "ft" or ext == "fasttext" then return "fasttext" end
  local f = io.open(path, "rb")
  if not f then fail("%s: cannot open", path) end
  local first = f:read("l") or ""
  f:close()
  if first:sub(1, 3) == "\239\187\191" then first = first:sub(4) end
  if first:match("^%s*__label__") then return "fasttext" end
  if first:find("\t", 1, true) then
    local fields = {}
    for _, h in ipairs(split_tabs((first:gsub("\r$", "")))) do fields[h] = true end
    local named = (opts.text_field and fields[opts.text_field]) or (opts.label_field and fields[opts.label_field])
    for _, k in ipairs(TEXT_NAMES) do named = named or fields[k] end
    return named and "tsv" or "label_text"
  end
  fail("%s: cannot tell the format (no tab, no __label__ on line 1, extension '%s'); set data.format",
    path, ext or "")
end

M.formats = { tsv = true, csv = true, json = true, label_text = true, fasttext = true, imdb = true }

--- text.read(path [, opts]) — read a corpus: {texts =, labels =, dropped =, format =}.
-- Options (default first):
--   format = "auto"       or tsv, csv, json, label_text, fasttext, imdb
--   text_field, label_field = nil   the columns or keys to read
--   unlabelled = false    accept a file without labels
-- @tparam string path a file (or an aclImdb split directory)
-- @tparam[opt] table opts the options above
-- @treturn table
-- @usage local f = assert(io.open("tiny.tsv", "w"))
-- f:write("1\tgood film\n0\tbad film\n1\tnice one\n0\tawful\n"); f:close()
-- local r = text.read("tiny.tsv")   -- r.texts[1] == "good film", r.labels[1] == "1"
function M.read(path, opts)
  opts = opts or {}
  if type(path) ~= "string" or path == "" then fail("read: no file given") end
  local fmt = opts.format or "auto"
  if fmt == "auto" then fmt = M.detect(path, opts) end
  if not M.formats[fmt] then
    fail("%s: unknown format '%s' (auto, csv, fasttext, imdb, json, label_text, tsv)", path, tostring(fmt))
  end
  return M[fmt](path, opts)
end

return M
