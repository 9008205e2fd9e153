-- LuaUnit suite for lurn.text: tokenizers, vocabularies, readers, splits and
-- load_dataset, on small files this suite writes itself. Error text is API:
-- malformed input must name the file and the 1-based line.
local lu = require "luaunit"
local lurn = require "lurn"
local text = require "lurn.text"
local data = require "lurn.data"
local errors = require "lurn.errors"

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p '" .. dir .. "'"))

local function write(name, content)
  local path = dir .. "/" .. name
  local f = assert(io.open(path, "wb"))
  f:write(content)
  f:close()
  return path
end

--- The error f(...) raises: its message, and its code when it is an error object.
local function err(f, ...)
  local ok, e = pcall(f, ...)
  lu.assertFalse(ok, "expected an error")
  return tostring(e), errors.is(e) and e.code or nil
end

local function assert_data_error(fragment, f, ...)
  local msg, code = err(f, ...)
  lu.assertStrContains(msg, fragment)
  lu.assertEquals(code, "data", msg)
end

local function toks(s, opts) return text.Tokenizer(opts):tokenize(s) end

-- ---------------------------------------------------------------------------
TestTokenizer = {}

function TestTokenizer:test_words_clitics_and_punctuation()
  lu.assertEquals(toks("I don't like it... It's BAD!!!"),
    { "i", "do", "n't", "like", "it", "...", "it", "'s", "bad", "!!!" })
  lu.assertEquals(toks("can't won't they're we've you'll he'd I'm"),
    { "ca", "n't", "wo", "n't", "they", "'re", "we", "'ve", "you", "'ll", "he", "'d", "i", "'m" })
  -- SST-2's PTB text: clitics already apart stay whole
  lu.assertEquals(toks("it 's not bad , is n't it ?"),
    { "it", "'s", "not", "bad", ",", "is", "n't", "it", "?" })
  -- quotes are punctuation; apostrophes inside words that are not clitics stay
  lu.assertEquals(toks("'quoted' rock'n'roll o'clock"),
    { "'", "quoted", "'", "rock'n'roll", "o'clock" })
  lu.assertEquals(toks("?! -- well-made x-"), { "?", "!", "--", "well-made", "x", "-" })
end

function TestTokenizer:test_emoticons()
  lu.assertEquals(toks("great :) bad :-( ok ;) yes :D, <3 :)))"),
    { "great", ":)", "bad", ":-(", "ok", ";)", "yes", ":d", ",", "<3", ":)))" })
  -- only standing alone: not inside words, times, URLs or notes
  lu.assertEquals(toks("a:)b at 10:30 note: (x) http://x"),
    { "a", ":", ")", "b", "at", "10:30", "note", ":", "(", "x", ")", "http", ":", "//", "x" })
end

function TestTokenizer:test_html_breaks_and_numbers()
  lu.assertEquals(toks("good.<br /><br />Bad<br/>ugly<BR>x<br >y"),
    { "good", ".", "bad", "ugly", "x", "y" })
  lu.assertEquals(toks("<bro> <b>"), { "<", "bro", ">", "<", "b", ">" })
  lu.assertEquals(toks("Rated 7/10, 3.5 stars, 1,000 votes at 12:30; 2."),
    { "rated", "7/10", ",", "3.5", "stars", ",", "1,000", "votes", "at", "12:30", ";", "2", "." })
end

function TestTokenizer:test_utf8()
  lu.assertEquals(toks("Ça VA? ÉLAN – “Quotes” don’t 😂😂 x"),
    { "ça", "va", "?", "élan", "–", "“", "quotes", "”", "do", "n't", "😂😂", "x" })
  lu.assertEquals(toks("ПРИВЕТ Ωmega Ŵales"), { "привет", "ωmega", "ŵales" })
  lu.assertEquals(toks("Ça VA", { lower = false }), { "Ça", "VA" })
  -- no-break space and ideographic space separate; an invalid byte is kept as a letter
  lu.assertEquals(toks("a\194\160b\227\128\128c"), { "a", "b", "c" })
  lu.assertEquals(toks("bad\255byte"), { "bad\255byte" })
  lu.assertEquals(toks(""), {})
  lu.assertEquals(toks("   \n\t "), {})
end

function TestTokenizer:test_chars_by_code_point()
  lu.assertEquals(toks("Héllo  wörld", { kind = "char" }),
    { "h", "é", "l", "l", "o", " ", "w", "ö", "r", "l", "d" })
  lu.assertEquals(toks("  a<br />b \n", { kind = "char", lower = false }), { "a", " ", "b" })
  lu.assertEquals(#toks("😂x", { kind = "char" }), 2)
end

function TestTokenizer:test_random_bytes()
  -- any bytes tokenize (checked under ASan in the sanitizer pass); without
  -- whitespace, "<" or case changes, the characters put back give the input
  lurn.seed(99)
  local word, char = text.Tokenizer { ngrams = 3 }, text.Tokenizer { kind = "char", lower = false }
  for _ = 1, 200 do
    local n = math.floor(lurn.rand(1):get(1) * 300)
    local b = lurn.rand(n):mul(256):floor():totable()
    for i = 1, n do b[i] = string.char(math.tointeger(b[i])) end
    local s = table.concat(b)
    word:tokenize(s)
    local clean = s:gsub("[%z\1- <\127-\160]", "")
    local ok_bytes = not clean:find("\194[\128-\160]") and not clean:find("\226\128[\128-\139\168\169\175]")
      and not clean:find("\226\129\159") and not clean:find("\227\128\128") and not clean:find("\239\187\191")
    if ok_bytes then lu.assertEquals(table.concat(char:tokenize(clean)), clean) end
  end
end

function TestTokenizer:test_ngrams()
  lu.assertEquals(toks("a b c", { ngrams = 3 }), { "a", "b", "c", "a b", "b c", "a b c" })
  lu.assertEquals(toks("ab", { kind = "char", ngrams = 2 }), { "a", "b", "ab" })
  lu.assertEquals(toks("a", { ngrams = 2 }), { "a" })
end

function TestTokenizer:test_options_and_state()
  local msg, code = err(text.Tokenizer, { kind = "bpe" })
  lu.assertStrContains(msg, "data.tokenizer: expected 'word' or 'char', got 'bpe'")
  lu.assertEquals(code, "config")
  lu.assertStrContains((err(text.Tokenizer, { ngram = 2 })), "unknown option 'ngram' (did you mean 'ngrams'?)")
  lu.assertStrContains((err(text.Tokenizer, { ngrams = 0 })), "data.ngrams: expected an integer in 1..16, got 0")
  local t = text.Tokenizer { kind = "char", lower = false, ngrams = 2 }
  local s = text.tokenizer_state(t)
  lu.assertEquals(s, { kind = "char", lower = false, ngrams = 2, version = 1 })
  local t2 = text.Tokenizer.from_state(s)
  lu.assertEquals(t2:tokenize("Ab"), t:tokenize("Ab"))
  lu.assertStrContains((err(text.Tokenizer.from_state, { version = 9 })), "version 9 is not known")
end

-- ---------------------------------------------------------------------------
TestVocab = {}

function TestVocab:test_counts_min_count_max_size()
  local tok = text.Tokenizer {}
  local counts = text.counter()
  lu.assertEquals(tok:count("b a c a b a d", counts), 7)
  local v = data.Vocab.from_counts(counts, { min_count = 2 })
  lu.assertEquals(v.itos, { "<pad>", "<unk>", "a", "b" })
  lu.assertEquals(v.pad, 0)
  lu.assertEquals(v.unk, 1)
  -- max_size counts the two specials; ties go by the token
  v = data.Vocab.from_counts(counts, { max_size = 4 })
  lu.assertEquals(v.itos, { "<pad>", "<unk>", "a", "b" })
  v = data.Vocab.from_counts(counts, {})
  lu.assertEquals(v.itos, { "<pad>", "<unk>", "a", "b", "c", "d" })
  -- the C map and a Lua table of counts give the same vocabulary
  lu.assertEquals(data.Vocab.from_counts(counts:totable(), {}).itos, v.itos)
  local ids, nunk = tok:encode("a z b", v)
  lu.assertEquals(ids, { 2, 1, 3 })
  lu.assertEquals(nunk, 1)
  -- plain data round trip
  local v2 = data.Vocab.from_state(v:state())
  lu.assertEquals(tok:encode("d c zz", v2), { 5, 4, 1 })
  -- the C index follows additions
  v2:add("zz")
  lu.assertEquals(tok:encode("zz", v2), { 6 })
end

function TestVocab:test_recorded_texts_match_encode()
  local tok = text.Tokenizer { ngrams = 2 }
  local docs = { "the film was not good", "", "good good film", "the end" }
  local counts = text.counter()
  for _, d in ipairs(docs) do tok:count(d, counts, true) end
  tok:count("not recorded", counts)
  local v = data.Vocab.from_counts(counts, { min_count = 2 })
  local seqs, nunk = counts:recorded(v:index(), v.unk)
  local want_unk = 0
  for i, d in ipairs(docs) do
    local ids, u = tok:encode(d, v)
    lu.assertEquals(seqs[i], ids)
    want_unk = want_unk + u
  end
  lu.assertEquals(#seqs, #docs)
  lu.assertEquals(nunk, want_unk)
  lu.assertTrue(nunk > 0)
  -- the records are released: nothing left the second time
  lu.assertEquals(counts:recorded(v:index(), v.unk), {})
end

function TestVocab:test_count_texts_is_the_same_at_every_thread_count()
  lurn.seed(3)
  local words = { "good", "bad", "film", "not", "the", "a", "plot", "actors", "it's", "don't" }
  local docs = {}
  for i = 1, 400 do
    local w = {}
    for j = 1, 1 + i % 13 do w[j] = words[1 + (i * 7 + j * 3) % #words] .. (j % 5 == 0 and i or "") end
    docs[i] = table.concat(w, " ")
  end
  local tok = text.Tokenizer { ngrams = 2 }
  local threads = lurn.threads()
  local results = {}
  for _, n in ipairs { 1, 2, 3 } do
    lurn.threads(n)
    local counts = text.counter()
    local total = tok:count_texts(docs, counts, true)
    local v = data.Vocab.from_counts(counts, { min_count = 1 })
    local seqs, nunk = counts:recorded(v:index(), v.unk)
    results[n] = { total = total, itos = v.itos, seqs = seqs, nunk = nunk, counts = counts:totable() }
  end
  lurn.threads(threads)
  lu.assertEquals(results[2], results[1])
  lu.assertEquals(results[3], results[1])
  -- and the same as counting one text at a time
  local one = text.counter()
  local total = 0
  for _, d in ipairs(docs) do total = total + tok:count(d, one) end
  lu.assertEquals(total, results[1].total)
  lu.assertEquals(one:totable(), results[1].counts)
  lu.assertEquals(#results[1].seqs, 400)
  lu.assertEquals(results[1].seqs[17], tok:encode(docs[17], data.Vocab.from_state { tokens = results[1].itos }))
  lu.assertErrorMsgContains("count_texts: text 2 is a number, not a string",
    function() tok:count_texts({ "a", 5 }, text.counter()) end)
end

-- ---------------------------------------------------------------------------
TestReaders = {}

function TestReaders:test_tsv_with_header()
  local p = write("glue.tsv", "sentence\tlabel\nit 's good \t1\nbad\t0\n\n")
  local r = text.read(p)
  lu.assertEquals(r.format, "tsv")
  lu.assertEquals(r.texts, { "it 's good ", "bad" })
  lu.assertEquals(r.labels, { "1", "0" })
  lu.assertEquals(r.dropped, 0)
  -- columns by name, in any order; an empty label is dropped and counted
  p = write("cols.tsv", "id\tlabel\treview\n1\tpos\tfine\n2\t\tno label\n")
  r = text.read(p, { format = "tsv" })
  lu.assertEquals(r.texts, { "fine" })
  lu.assertEquals(r.dropped, 1)
  p = write("named.tsv", "a\tb\nx\ty\n")
  r = text.read(p, { format = "tsv", text_field = "b", label_field = "a" })
  lu.assertEquals(r.texts, { "y" })
  lu.assertEquals(r.labels, { "x" })
end

function TestReaders:test_tsv_errors()
  local p = write("bad.tsv", "sentence\tlabel\ngood\t1\nno tab here\n")
  assert_data_error(p .. ":3: 1 field, the header has 2", text.read, p)
  p = write("nolabel.tsv", "index\tsentence\n0\tsome text\n")
  assert_data_error(p .. ":1: no label column in the header (columns: 'index', 'sentence')", text.read, p,
    { format = "tsv" })
  p = write("alldropped.tsv", "sentence\tlabel\nx\t\n")
  assert_data_error(p .. ": no labelled rows (1 without a label dropped)", text.read, p)
  assert_data_error("no column 'txt' in the header", text.read, write("h.tsv", "sentence\tlabel\n"),
    { format = "tsv", text_field = "txt" })
end

function TestReaders:test_header_echo()
  -- the columns a message lists: control bytes escaped, long names and long headers cut
  local p = write("ctl.tsv", "a\1b\tc\n1\t2\n")
  assert_data_error(p .. ":1: no text column in the header (columns: 'a\\x01b', 'c')", text.read, p,
    { format = "tsv" })
  local cols = {}
  for i = 1, 14 do cols[i] = ("c%d"):format(i) end
  cols[1] = ("x"):rep(50)
  p = write("wide.tsv", table.concat(cols, "\t") .. "\n")
  assert_data_error("(columns: '" .. ("x"):rep(40) .. "...', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', "
    .. "'c8', 'c9', 'c10', 'c11', 'c12', ... 14 in all)", text.read, p, { format = "tsv" })
end

function TestReaders:test_not_utf8()
  -- a Latin-1 corpus is refused where it is read, not at the first checkpoint
  local p = write("latin1.tsv", "sentence\tlabel\ngood film\t1\nbad caf\233 film\t0\n")
  assert_data_error(p .. ":3: not valid UTF-8 at byte 8 of the line", text.read, p)
  p = write("latin1.ft", "__label__a fine\n__label__b na\239ve\n")
  assert_data_error(p .. ":2: not valid UTF-8 at byte 14 of the line", text.read, p)
  lu.assertEquals(text.read(write("utf8.tsv", "sentence\tlabel\ncaf\195\169\t1\n")).texts, { "caf\195\169" })
end

function TestReaders:test_label_text()
  local p = write("lt.txt", "pos\tgood movie\r\nneg\tbad\tfilm\n\n")
  local r = text.read(p)
  lu.assertEquals(r.format, "label_text")
  lu.assertEquals(r.texts, { "good movie", "bad\tfilm" })
  lu.assertEquals(r.labels, { "pos", "neg" })
  p = write("lt_bad.txt", "pos\tok\n\nno label here\n")
  assert_data_error(p .. ":3: expected 'label<TAB>text', found no tab", text.read, p, { format = "label_text" })
  p = write("lt_empty.txt", "pos\tok\n\tno label\n")
  assert_data_error(p .. ":2: empty label before the tab", text.read, p, { format = "label_text" })
end

function TestReaders:test_fasttext()
  local p = write("a.ft", "__label__pos good  movie\n__label__neg\tbad\n__label__neg\n")
  local r = text.read(p)
  lu.assertEquals(r.format, "fasttext")
  lu.assertEquals(r.texts, { "good  movie", "bad", "" })
  lu.assertEquals(r.labels, { "pos", "neg", "neg" })
  p = write("b.ft", "__label__pos ok\nplain text\n")
  assert_data_error(p .. ":2: expected '__label__<label> text', found 'plain'", text.read, p)
  p = write("c.ft", "__label__pos __label__neg both\n")
  assert_data_error(p .. ":1: more than one label", text.read, p)
end

function TestReaders:test_csv_rfc4180()
  local p = write("a.csv", 'text,label\r\n"a, ""quoted""\r\nline",pos\r\nplain,neg\r\n"",neg\n')
  local r = text.read(p)
  lu.assertEquals(r.format, "csv")
  lu.assertEquals(r.texts, { 'a, "quoted"\r\nline', "plain", "" })
  lu.assertEquals(r.labels, { "pos", "neg", "neg" })
  -- a lone CR inside an unquoted field is data; a field may be empty
  r = text.read(write("cr.csv", 'text,label,x\r\na\rb\rc,neg,\r\n'))
  lu.assertEquals(r.texts, { "a\rb\rc" })
  lu.assertEquals(r.labels, { "neg" })
  p = write("b.csv", 'text,label\nok,pos\n"never closed,neg\nmore,pos\n')
  assert_data_error(p .. ":3: unterminated quoted field", text.read, p)
  p = write("c.csv", 'text,label\n"x"y,pos\n')
  assert_data_error(p .. ":2: unexpected character 'y' after a closing quote", text.read, p)
  p = write("d.csv", 'text,label\n"two\nlines",pos\nthree,fields,here\n')
  assert_data_error(p .. ":4: 3 fields, the header has 2", text.read, p)
  p = write("e.csv", 'text,label\nsay "hi",pos\n')
  assert_data_error(p .. ":2: quote inside an unquoted field", text.read, p)
end

function TestReaders:test_json_drops_unlabelled_rows()
  local p = write("a.json", '[{"text": "good", "class": 1},\n {"text": "bad", "class": 0},\n' ..
    ' {"text": "", "class": null}]')
  local r = text.read(p)
  lu.assertEquals(r.format, "json")
  lu.assertEquals(r.texts, { "good", "bad" })
  lu.assertEquals(r.labels, { "1", "0" })
  lu.assertEquals(r.dropped, 1)
  p = write("b.json", '[{"text": "good", "class": 1},\n {"text": "bad" "class": 0}]')
  assert_data_error(p .. ":2: invalid JSON", text.read, p)
  p = write("c.json", '[{"class": 1}]')
  assert_data_error(p .. ": row 1: field 'text' is missing, not a string", text.read, p)
  p = write("d.json", '[{"text": "x", "class": null}]')
  assert_data_error(p .. ": no labelled rows (1 without a label dropped)", text.read, p)
  p = write("e.json", '{"text": "x"}')
  assert_data_error(p .. ":1: expected a JSON array of objects", text.read, p)
  p = write("f.json", '[{"review": "x", "stars": "5"}]')
  r = text.read(p, { text_field = "review", label_field = "stars" })
  lu.assertEquals(r.labels, { "5" })
end

function TestReaders:test_imdb_layout()
  local root = dir .. "/acl/train"
  assert(os.execute(("mkdir -p '%s/pos' '%s/neg' '%s/unsup'"):format(root, root, root)))
  write("acl/train/pos/10_9.txt", "great<br />film")
  write("acl/train/pos/2_8.txt", "fine")
  write("acl/train/neg/1_1.txt", "awful")
  write("acl/train/neg/urls.txt", "not a review")
  write("acl/train/unsup/5_0.txt", "ignored")
  local r = text.read(root)
  lu.assertEquals(r.format, "imdb")
  lu.assertEquals(r.texts, { "awful", "fine", "great<br />film" })
  lu.assertEquals(r.labels, { "neg", "pos", "pos" })
  assert_data_error("not an aclImdb split directory: no pos/ or neg/ inside (it holds train/",
    text.read, dir .. "/acl", { format = "imdb" })
end

function TestReaders:test_detect_and_missing_files()
  assert_data_error(dir .. "/nope.tsv: cannot open", text.read, dir .. "/nope.tsv")
  local p = write("plain.txt", "just words\n")
  assert_data_error("cannot tell the format", text.read, p)
  assert_data_error("unknown format 'xml'", text.read, p, { format = "xml" })
end

-- ---------------------------------------------------------------------------
TestSplits = {}

local function labels_of(counts)
  local l = {}
  for _, c in ipairs(counts) do for _ = 1, c[2] do l[#l + 1] = c[1] end end
  return l
end

local function class_count(labels, idx)
  local c = {}
  for _, i in ipairs(idx) do c[labels[i]] = (c[labels[i]] or 0) + 1 end
  return c
end

function TestSplits:test_holdout_is_stratified_seeded_and_disjoint()
  local labels = labels_of { { "a", 70 }, { "b", 20 }, { "c", 10 } }
  local tr, va = text.split.holdout(labels, 0.1, 7)
  lu.assertEquals(#va, 10)
  lu.assertEquals(class_count(labels, va), { a = 7, b = 2, c = 1 })
  lu.assertEquals(#tr + #va, 100)
  local seen = {}
  for _, i in ipairs(tr) do seen[i] = true end
  for _, i in ipairs(va) do lu.assertNil(seen[i]); seen[i] = true end
  -- same seed, same split; another seed, another one
  local _, va2 = text.split.holdout(labels, 0.1, 7)
  lu.assertEquals(va2, va)
  local _, va3 = text.split.holdout(labels, 0.1, 8)
  lu.assertNotEquals(va3, va)
  -- a count; largest remainders settle the rounding
  _, va = text.split.holdout(labels, 15, 1)
  lu.assertEquals(class_count(labels, va), { a = 11, b = 3, c = 1 })
  lu.assertEquals(#va, 15)
end

function TestSplits:test_holdout_errors()
  local labels = labels_of { { "a", 3 }, { "b", 2 } }
  local msg, code = err(text.split.holdout, labels, 5, 1)
  lu.assertStrContains(msg, "data.valid_split = 5 holds out 5 of 5 samples")
  lu.assertEquals(code, "data")
  msg, code = err(text.split.holdout, labels, -1, 1)
  lu.assertStrContains(msg, "data.valid_split: expected a fraction in (0, 1) or a count >= 1, got -1")
  lu.assertEquals(code, "config")
  lu.assertStrContains((err(text.split.holdout, labels, 2.5, 1)), "a count must be a whole number")
end

function TestSplits:test_kfold()
  local labels = labels_of { { "a", 23 }, { "b", 7 } }
  local folds = text.split.kfold(labels, 5, 3)
  lu.assertEquals(#folds, 5)
  local in_valid = {}
  for _, f in ipairs(folds) do
    lu.assertEquals(#f.train + #f.valid, 30)
    lu.assertEquals(#f.valid, 6)
    local c = class_count(labels, f.valid)
    lu.assertTrue(c.a >= 4 and c.a <= 5 and c.b >= 1 and c.b <= 2, ("a=%d b=%d"):format(c.a, c.b or 0))
    for _, i in ipairs(f.valid) do
      lu.assertNil(in_valid[i])
      in_valid[i] = true
    end
  end
  lu.assertEquals(#in_valid, 30)
  lu.assertEquals(text.split.kfold(labels, 5, 3), folds)
  lu.assertStrContains((err(text.split.kfold, labels, 1, 3)), "data.folds: expected an integer >= 2, got 1")
  lu.assertStrContains((err(text.split.kfold, labels, 31, 3)), "data.folds = 31 but there are only 30 samples")
end

function TestSplits:test_truncate()
  local ids = { 1, 2, 3, 4, 5, 6, 7 }
  lu.assertEquals(text.split.truncate(ids, 3, "head"), { 1, 2, 3 })
  lu.assertEquals(text.split.truncate(ids, 3, "tail"), { 5, 6, 7 })
  lu.assertEquals(text.split.truncate(ids, 3, "both"), { 1, 2, 7 })
  lu.assertEquals(text.split.truncate(ids, 4, "both"), { 1, 2, 6, 7 })
  lu.assertEquals(text.split.truncate(ids, 0, "head"), ids)
  lu.assertEquals(text.split.truncate(ids, 9, "tail"), ids)
  lu.assertStrContains((err(text.split.truncate, ids, 3, "middle")), "data.truncate: expected head, tail or both")
end

-- ---------------------------------------------------------------------------
TestLoadDataset = {}

local function cfg(t)
  local c = { format = "auto", text_field = "", label_field = "", valid_split = 0, folds = 0,
              tokenizer = "word", lower = true, ngrams = 1, min_count = 1, max_vocab = 0,
              max_len = 0, truncate = "head", train = "", valid = "", test = "" }
  for k, v in pairs(t) do c[k] = v end
  return c
end

function TestLoadDataset:test_train_valid_test_files()
  local tr = write("ld_train.tsv", "sentence\tlabel\ngood good film\tpos\nbad film\tneg\nGood\tpos\n")
  local va = write("ld_valid.tsv", "sentence\tlabel\nunseen words film\tneg\n")
  local te = write("ld_test.txt", "pos\tgood\n")
  local d = text.load_dataset(cfg { train = tr, valid = va, test = te }, { seed = 1 })
  lu.assertEquals(d.labels, { "neg", "pos" })
  lu.assertEquals(d.files, { tr, va, te })
  lu.assertEquals(d.vocab.itos, { "<pad>", "<unk>", "good", "film", "bad" })
  lu.assertEquals(d.train:size(), 3)
  lu.assertEquals(d.train.labels, { 1, 0, 1 })
  lu.assertEquals(d.train.seqs[1], { 2, 2, 3 })
  -- the vocabulary comes from the training data only
  lu.assertEquals(d.valid.seqs[1], { 1, 1, 3 })
  lu.assertEquals(d.stats.valid.unk, 2)
  lu.assertEquals(d.test.labels, { 1 })
  lu.assertEquals(d.stats.train.tokens, 6)
  lu.assertEquals(d.tokenizer:state(), { kind = "word", lower = true, ngrams = 1, version = 1 })
  local batch = d.train:make_batch { 1, 2 }
  lu.assertEquals(batch.ids:shape(), { 3, 2 })
  lu.assertEquals(batch.labels:get(1), 1)
end

function TestLoadDataset:test_dropped_rows_are_said()
  local tr = write("dr.json", '[{"text": "a", "class": 1}, {"text": "b", "class": 0}, {"text": "", "class": null}]')
  local said = {}
  local d = text.load_dataset(cfg { train = tr }, { seed = 1, log = function(m) said[#said + 1] = m end })
  lu.assertEquals(said, { tr .. ": 1 row without a label dropped" })
  lu.assertEquals(d.stats.dropped, { [tr] = 1 })
  lu.assertEquals(d.train:size(), 2)
end

function TestLoadDataset:test_unknown_label_in_valid()
  local tr = write("ul_train.txt", "pos\ta\nneg\tb\n")
  local va = write("ul_valid.txt", "pos\ta\nmaybe\tc\n")
  assert_data_error(va .. ": label 'maybe' (sample 2) does not occur in the training data (labels: neg, pos)",
    text.load_dataset, cfg { train = tr, valid = va }, { seed = 1 })
end

function TestLoadDataset:test_held_out_split_truncation_and_numeric_labels()
  local lines = { "label\tsentence" }
  for i = 1, 40 do
    lines[#lines + 1] = ("%d\tw%d a b c d e f"):format(i % 4 == 0 and 10 or 2, i)
  end
  local tr = write("ho.tsv", table.concat(lines, "\n"))
  local d = text.load_dataset(cfg { train = tr, valid_split = 0.25, max_len = 3, truncate = "both" }, { seed = 5 })
  lu.assertEquals(d.labels, { "2", "10" })    -- numeric order, not string order
  lu.assertEquals(d.train:size(), 30)
  lu.assertEquals(d.valid:size(), 10)
  lu.assertEquals(d.stats.valid.class_counts, { ["2"] = 8, ["10"] = 2 })
  lu.assertEquals(d.stats.train.truncated, 30)
  for _, s in ipairs(d.train.seqs) do lu.assertEquals(#s, 3) end
  local f_id = d.vocab:id("f")
  lu.assertEquals(d.train.seqs[1][3], f_id)   -- "both" keeps the last token
  -- the split is seeded: the training part's words (each w<i> once) say which samples it holds
  local d2 = text.load_dataset(cfg { train = tr, valid_split = 0.25 }, { seed = 5 })
  local d3 = text.load_dataset(cfg { train = tr, valid_split = 0.25 }, { seed = 6 })
  lu.assertEquals(d2.vocab.itos, text.load_dataset(cfg { train = tr, valid_split = 0.25 }, { seed = 5 }).vocab.itos)
  lu.assertNotEquals(d2.vocab.itos, d3.vocab.itos)
  -- max_vocab and min_count
  local d4 = text.load_dataset(cfg { train = tr, max_vocab = 5, min_count = 2 }, { seed = 1 })
  lu.assertEquals(d4.vocab:size(), 5)
end

function TestLoadDataset:test_folds()
  local lines = {}
  for i = 1, 20 do lines[#lines + 1] = ("%s\tword%d common"):format(i <= 10 and "pos" or "neg", i) end
  local tr = write("folds.txt", table.concat(lines, "\n"))
  local c = cfg { train = tr, folds = 4 }
  local n, seen = 0, {}
  for i, d in text.kfold(c, { seed = 2 }) do
    n = n + 1
    lu.assertEquals(d.fold, i)
    lu.assertEquals(d.folds, 4)
    lu.assertEquals(d.valid:size(), 5)
    lu.assertEquals(d.train:size(), 15)
    -- each fold's vocabulary comes from its own training part: its held-out
    -- samples' unique words are unknown
    lu.assertEquals(d.stats.valid.unk, 5)
    for _, s in ipairs(d.valid.seqs) do seen[#seen + 1] = s end
  end
  lu.assertEquals(n, 4)
  lu.assertEquals(#seen, 20)
  local d = text.load_dataset(c, { seed = 2, fold = 3 })
  lu.assertEquals(d.fold, 3)
  lu.assertStrContains((err(text.load_dataset, c, { seed = 2, fold = 5 })), "fold 5 is not in 1..4")
  lu.assertStrContains((err(text.load_dataset, cfg { train = tr }, { fold = 1 })), "data.folds is 0")
end

function TestLoadDataset:test_config_errors()
  local msg, code = err(text.load_dataset, cfg {}, {})
  lu.assertStrContains(msg, "data.train: no training file given")
  lu.assertEquals(code, "config")
  local tr = write("ce.txt", "pos\ta\n")
  lu.assertStrContains((err(text.load_dataset, cfg { train = tr, format = "xls" }, {})), "data.format: unknown format 'xls'")
  lu.assertStrContains((err(text.load_dataset, cfg { train = tr, max_len = -1 }, {})), "data.max_len: expected an integer >= 0, got -1")
  lu.assertStrContains((err(text.load_dataset, cfg { train = tr, max_len = 2.5 }, {})), "data.max_len: expected an integer >= 0, got 2.5")
  -- whole-number floats are integers
  lu.assertEquals(text.load_dataset(cfg { train = tr, max_len = 4.0, ngrams = 2.0, min_count = 1.0 }, {}).train:size(), 1)
  lu.assertStrContains((err(text.load_dataset, cfg { train = tr, max_len = 2, truncate = "mid" }, {})),
    "data.truncate: expected head, tail or both, got 'mid'")
end

function TestLoadDataset:test_bucketed_batches_hold_similar_lengths()
  lurn.seed(4)
  local lines = {}
  for i = 1, 256 do
    local n = 1 + (i * 37) % 50
    lines[#lines + 1] = (i % 2 == 0 and "pos\t" or "neg\t") .. string.rep("w ", n)
  end
  local d = text.load_dataset(cfg { train = write("bucket.txt", table.concat(lines, "\n")) }, { seed = 1 })
  local spread_bucket, spread_plain = 0, 0
  for b in d.train:batches { size = 16, shuffle = true, bucket = true } do
    spread_bucket = spread_bucket + b.lengths:max() - b.lengths:min()
  end
  for b in d.train:batches { size = 16, shuffle = true } do
    spread_plain = spread_plain + b.lengths:max() - b.lengths:min()
  end
  lu.assertTrue(spread_bucket * 5 < spread_plain, ("bucketed %d vs shuffled %d"):format(spread_bucket, spread_plain))
end

local rc = lu.LuaUnit.run()
os.execute("rm -rf '" .. dir .. "'")
os.exit(rc, true)
