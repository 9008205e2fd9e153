--- bench/read_imdb.lua — lurn's side of bench/read_imdb.sh: read a corpus,
-- tokenize it, build the vocabulary and numericalise it, as lurn.text's
-- load_dataset does, timing each phase on lurn's monotonic clock.
--
--   lurn bench/read_imdb.lua PATH [FORMAT]      (FORMAT: auto, imdb, fasttext, ...)
--
-- Prints one line: "lurn-read <format> read_ms tokenize_count_ms vocab_ms
-- encode_ms total_ms docs tokens vocab peak_rss_mb".
local lurn = require "lurn"
local text = require "lurn.text"
local data = require "lurn.data"
local common = dofile((arg[0]:match("^(.*)/") or ".") .. "/common.lua")

local path, format = arg[1], arg[2] or "auto"
if not path then
  io.stderr:write("usage: lurn bench/read_imdb.lua PATH [FORMAT]\n")
  os.exit(2)
end

local t0 = common.now_ms()
local r = text.read(path, { format = format })
local t1 = common.now_ms()
local tok = text.Tokenizer { kind = "word", lower = true }
local counts = text.counter()
tok:count_texts(r.texts, counts, true)
local t2 = common.now_ms()
local vocab = data.Vocab.from_counts(counts, { min_count = 1 })
local t3 = common.now_ms()
local seqs, nunk = counts:recorded(vocab:index(), vocab.unk)
local _, stats = text.encode(r.texts, { tokenizer = tok, vocab = vocab, encoded = { seqs, nunk } })
local t4 = common.now_ms()
local tokens = stats.tokens
print(("lurn-read %s %.0f %.0f %.0f %.0f %.0f %d %d %d %.0f"):format(r.format, t1 - t0, t2 - t1,
  t3 - t2, t4 - t3, t4 - t0, #r.texts, tokens, vocab:size(), common.vm_hwm_mb()))
