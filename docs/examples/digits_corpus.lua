-- docs/examples/digits_corpus.lua — a generated parallel corpus for translation tests and docs.
--
--   lurn docs/examples/digits_corpus.lua DIR [reverse|copy] [N]
--
-- writes DIR/{train,valid,test}.{src,tgt}: N (default 3000) training pairs and 200 each for
-- valid and test of digit strings (3 to 8 digits, spaces between them) and the same digits
-- reversed (or copied). Reversal is a translation only attention learns well: the first output
-- digit is the last input one, whatever the length. Seeded, so the files are the same each time.
local sd = require "lurn.seq2seq.data"
local dir, task, n = arg[1], arg[2] or "reverse", tonumber(arg[3] or "3000")
if not dir or (task ~= "reverse" and task ~= "copy") or not n then
  io.stderr:write("usage: lurn docs/examples/digits_corpus.lua DIR [reverse|copy] [N]\n")
  os.exit(2)
end
lurn.mkdir(dir)
lurn.seed(7)
for _, part in ipairs { { "train", n }, { "valid", 200 }, { "test", 200 } } do
  local src, tgt = sd.digits_task(part[2], { task = task })
  for ext, lines in pairs { src = src, tgt = tgt } do
    local f = assert(io.open(("%s/%s.%s"):format(dir, part[1], ext), "w"))
    f:write(table.concat(lines, "\n"), "\n")
    f:close()
  end
end
print(("wrote %s/{train,valid,test}.{src,tgt} (%d/200/200 pairs, task %s)"):format(dir, n, task))
