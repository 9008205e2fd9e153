--- lurn.config.schema — every key a config may set, declared once.
--
-- The same table drives validation, defaults, `--print-config`,
-- `lurn config show`, `lurn config keys` (and so docs/cli.md) and the
-- "did you mean" suggestions. The schema is closed: a key not declared here
-- is an error, never a warning.
--
-- Each section is { type = "section", help =, fields = {...}, order = {...} };
-- each leaf is { type =, default =, help =, choices =, min =, max =, check = }
-- where type is "string", "integer", "number", "boolean" or "spec" (a model
-- spec: plain data, or a function of (nn, data) returning one). `check`, when
-- present, is a function(value) -> nil | "what is wrong" for rules a range
-- cannot say. Keys are declared in display order.
local M = {}

-- leaf constructors: keep the declarations below one line each
local function str(default, help, choices)
  return { type = "string", default = default, help = help, choices = choices }
end
local function int(default, help, min, max)
  return { type = "integer", default = default, help = help, min = min, max = max }
end
local function num(default, help, min, max, check)
  return { type = "number", default = default, help = help, min = min, max = max, check = check }
end
local function bool(default, help)
  return { type = "boolean", default = default, help = help }
end

local function section(help, list)
  local s = { type = "section", help = help, fields = {}, order = {} }
  for i = 1, #list, 2 do
    s.fields[list[i]] = list[i + 1]
    s.order[#s.order + 1] = list[i]
  end
  return s
end

local function split_check(v)
  if v >= 1 and math.type(v) ~= "integer" and v ~= math.floor(v) then
    return "a fraction below 1 or a whole number of examples"
  end
end

M.root = section("a lurn experiment", {
  "name", str("run", "run name: runs are written to runs/NAME-TIME-HEX/"),
  "seed", int(1, "random seed (weights, dropout, shuffling, splits)", 0, 1 << 53),
  "threads", int(0, "threads for BLIS and lurn's loops (0 = lurn's default)", 0, 4096),
  "task", str("classify", "what the model predicts (lurn.tasks)", require("lurn.tasks").names()),
  "data", section("where the data is and how it becomes token ids", {
    "train", str("", "training file (required by lurn train)"),
    "valid", str("", "validation file ('' = split off the training file, see valid_split)"),
    "test", str("", "test file ('' = none)"),
    "extra", str("", "more training files, comma-separated, in the same format: added to the "
      .. "training part only, never split off or validated on ('' = none)"),
    "format", str("auto", "file format ('auto' = from the extension and contents; task lm: "
      .. "'auto' = plain text, a format = that corpus's texts, one per line)",
      { "auto", "tsv", "csv", "json", "label_text", "fasttext", "imdb" }),
    "text_field", str("", "column or field holding the text ('' = the format's default)"),
    "label_field", str("", "column or field holding the label ('' = the format's default)"),
    "valid_split", num(0.1, "held-out part of train when valid is '': a fraction < 1, or a count",
      0, nil, split_check),
    "folds", int(0, "k-fold cross-validation folds (0 = off)", 0, 100),
    "tokenizer", str("word", "how text becomes tokens", { "word", "char" }),
    "lower", bool(true, "lower-case text before tokenizing"),
    "ngrams", int(1, "also add word n-grams up to this length", 1, 8),
    "min_count", int(1, "drop tokens seen fewer times than this in train", 1, nil),
    "max_vocab", int(0, "keep the most frequent tokens only (0 = all)", 0, nil),
    "subwords", int(0, "also give each word the vectors of its character n-grams (3-6 "
      .. "characters), hashed into this many buckets: unseen words get a vector from their parts "
      .. "(fastText's subwords; task classify, word tokenizer; 0 = off)", 0, 16777216),
    "max_len", int(0, "cut texts to this many tokens (0 = no limit)", 0, nil),
    "truncate", str("head", "which part of a long text to keep", { "head", "tail", "both" }),
  }),
  "model", section("the network", {
    "type", str("lstm", "architecture ('custom' = model.spec)",
      { "lstm", "gru", "rnn", "bow", "custom" }),
    "embed", int(128, "embedding size", 1, 65536),
    "hidden", int(256, "recurrent hidden size", 1, 65536),
    "layers", int(1, "stacked recurrent layers", 1, 64),
    "bidirectional", bool(false, "run each layer in both directions"),
    "dropout", num(0, "dropout between recurrent layers", 0, 0.99),
    "embed_dropout", num(0, "dropout on the embeddings", 0, 0.99),
    "input_dropout", num(0, "variational dropout on the recurrent input", 0, 0.99),
    "output_dropout", num(0, "variational dropout on the recurrent output", 0, 0.99),
    "pool", str("max", "how a sequence becomes one vector",
      { "max", "mean", "last", "attention" }),
    "bag", int(0, "width of a bag-of-n-grams branch beside the network (fastText-style: the mean "
      .. "embedding of the words and their hashed n-grams), joined before the classifier (0 = off)",
      0, 4096),
    "bag_ngrams", int(2, "longest n-gram of the bag branch", 2, 4),
    "bag_buckets", int(262144, "hash buckets for the bag branch's n-grams", 1, 16777216),
    "spec", { type = "spec", help = "custom model: a spec, or function(nn, data) returning one "
      .. "(nn builds specs; data = {vocab_size, num_classes, labels})" },
  }),
  "optim", section("the optimizer and its schedule", {
    "name", str("adam", "optimizer", { "adam", "adamw", "sgd", "rmsprop", "adagrad" }),
    "lr", num(1e-3, "learning rate", 0, 10),
    "weight_decay", num(0, "L2 penalty (decoupled for adamw)", 0, 1),
    "momentum", num(0, "momentum (sgd, rmsprop)", 0, 0.9999),
    "lazy", bool(false, "adam, adamw: update only the embedding rows a step used (LazyAdam; "
      .. "faster with large vocabularies, results differ from dense Adam)"),
    "schedule", str("constant", "learning-rate schedule",
      { "constant", "cosine", "step", "plateau", "warmup" }),
    "warmup", int(0, "linear warm-up steps", 0, nil),
  }),
  "train", section("the training loop", {
    "epochs", int(10, "passes over the training data", 1, 100000),
    "batch_size", int(32, "examples per step", 1, 1048576),
    "clip", num(5, "clip the gradient norm to this (0 = off)", 0, nil),
    "label_smoothing", num(0, "label smoothing of the cross-entropy", 0, 0.99),
    "average", num(0, "evaluate, keep and save a moving average of the weights with this decay "
      .. "per step (Polyak averaging, e.g. 0.999; 0 = off)", 0, 0.999999),
    "bucket", bool(true, "batch texts of similar length together"),
    "eval_every", int(0, "evaluate every N steps (0 = once per epoch)", 0, nil),
    "log_every", int(50, "log every N steps", 1, nil),
    "checkpoint_every", int(0, "checkpoint every N steps (0 = at each evaluation)", 0, nil),
    "keep_checkpoints", int(2, "numbered checkpoints kept besides best and last", 0, 1000),
    "best_metric", str("valid_accuracy", "metric that picks the best checkpoint"),
    "best_mode", str("max", "whether a larger or smaller best_metric is better", { "max", "min" }),
    "early_stop", int(0, "stop after N evaluations without improvement (0 = off)", 0, nil),
    "max_time", num(0, "stop training after this many seconds (0 = off)", 0, nil),
    "ensemble", int(1, "train N models (seeds seed, seed+1, ...) on the same data; eval and "
      .. "predict average their probabilities (1 = one model)", 1, 64),
    "ensemble_vary", str("", "how the members differ beyond their seeds: 'key=v1,v2,... "
      .. "key2=w1,w2,...', member i takes the i-th value of each key, cycling ('' = alike)"),
  }),
  "pretrained", section("start a classifier from a language model run (docs/pretraining.md)", {
    "from", str("", "task-lm run directory or checkpoint: embedding rows copied by token, "
      .. "recurrent weights when cell and sizes agree ('' = none)"),
    "checkpoint", str("best", "which checkpoint of a run directory", { "best", "last" }),
    "lr_scale", num(1, "learning-rate factor for the embedding and recurrent layers (0 = frozen)",
      0, 100),
  }),
  -- task forecast
  "forecast", section("time-series forecasting (task = \"forecast\", docs/forecast.md)", {
    "file", str("", "CSV file with a header: a time column and value columns (required)"),
    "time_column", str("", "name of the time column ('' = the first column)"),
    "columns", str("", "value columns, comma-separated ('' = every column but the time)"),
    "test_from", str("", "time of the first test row, e.g. \"1957-01\" ('' = see test)"),
    "test", int(0, "the last N rows are the test part when test_from is ''", 0, nil),
    "valid", int(0, "the N rows before the test part validate (0 = none: best = train loss)",
      0, nil),
    "input_len", int(24, "steps of history the model reads for each prediction", 1, 100000),
    "output", str("one", "one: sequence-to-one (the next value); seq: sequence-to-sequence "
      .. "(the next value at every step)", { "one", "seq" }),
    "log", bool(false, "take the log of the values first (they must be > 0)"),
    "season", int(0, "season length in steps (12 for monthly data; 0 = none): the "
      .. "seasonal-naive baseline and seasonal_diff", 0, nil),
    "seasonal_diff", bool(false, "difference at lag season (needs season > 0)"),
    "diff", int(0, "first differences after the seasonal one", 0, 2),
    "standardize", bool(true, "scale to mean 0, sd 1 (fitted on the training rows)"),
    "steps", int(0, "multi-step forecast length for eval (0 = the test part's length)", 0, nil),
  }),
  -- task translate
  "translate", section("task = \"translate\": a parallel corpus and an attentional encoder-decoder", {
    "train", str("", "training corpus prefix: PREFIX.SRC and PREFIX.TGT, one sentence a line"),
    "valid", str("", "validation corpus prefix ('' = none)"),
    "test", str("", "test corpus prefix ('' = none); BLEU is measured on it after training"),
    "src", str("de", "source language: the source files' extension"),
    "tgt", str("en", "target language: the target files' extension"),
    "lower", bool(true, "lower-case both sides (BLEU is then case-insensitive)"),
    "min_count", int(1, "drop tokens seen fewer times than this in train (-> <unk>)", 1, nil),
    "max_vocab", int(0, "keep the most frequent tokens only, per side (0 = all)", 0, nil),
    "max_len", int(50, "leave out training pairs with a side longer than this (0 = no limit)", 0, nil),
    "cell", str("gru", "recurrent cell of encoder and decoder", { "gru", "lstm" }),
    "embed", int(256, "embedding size (both sides)", 1, 65536),
    "hidden", int(256, "encoder hidden size per direction, and the decoder's", 1, 65536),
    "layers", int(1, "encoder layers", 1, 16),
    "bidirectional", bool(true, "bidirectional encoder"),
    "attention", str("additive", "attention score: additive (Bahdanau), general or dot (Luong)",
      { "additive", "general", "dot" }),
    "input_feeding", bool(true, "feed the previous attentional output to the decoder"),
    "tie_embeddings", bool(false, "output layer shares the target embedding"),
    "dropout", num(0.2, "dropout on embeddings and the attentional output", 0, 0.99),
    "beam", int(5, "beam size for the test BLEU, lurn eval and lurn translate (1 = greedy)", 1, 100),
    "alpha", num(1, "length normalisation: score / length^alpha", 0, 10),
    "max_out", num(2, "longest output: max_out * source length + 10 tokens", 0.1, 100),
    "decode_batch", int(64, "sentences decoded together", 1, 4096),
  }),
  -- task lm
  "lm", section("language model (task = \"lm\"): one long text, stateful truncated BPTT", {
    "tokenizer", str("char", "tokens: 'char' (Unicode code points, whitespace kept) or 'word' "
      .. "(each line's words, then <eos>)", { "char", "word" }),
    "lower", bool(false, "lower-case words (word tokenizer only)"),
    "bptt", int(100, "steps per chunk: gradients flow back this far, the state further", 1, 100000),
    "valid_fraction", num(0.1, "the last part of data.train held out for validation when "
      .. "data.valid is ''", 0, 0.9),
    "eval_batch_size", int(0, "parallel streams when evaluating (0 = train.batch_size)", 0, 1048576),
  }),
  -- task speech
  "speech", section("speech recognition (task = 'speech'): FSDD-style recordings, features, mode", {
    "dir", str("data/fsdd/recordings", "recordings named <digit>_<speaker>_<take>.wav "
      .. "(datasets/fsdd)"),
    "mode", str("classify", "isolated digits (classify) or digit strings with CTC (ctc)",
      { "classify", "ctc" }),
    "features", str("mfcc", "feature type", { "mfcc", "logmel" }),
    "sample_rate", int(8000, "audio is resampled to this rate first (Hz)", 1000, 192000),
    "n_mels", int(40, "mel filters", 1, 256),
    "n_mfcc", int(13, "cepstra kept (features = 'mfcc')", 1, 256),
    "deltas", int(2, "0, 1 (+ deltas) or 2 (+ delta-deltas)", 0, 2),
    "normalize", bool(true, "per-utterance mean and variance normalisation"),
    "stack", int(1, "frames stacked into one step (fewer, wider steps)", 1, 64),
    "win_ms", num(25, "window length (ms)", 1, 1000),
    "hop_ms", num(10, "window shift (ms)", 1, 1000),
    "test_takes", int(5, "takes 0..test_takes-1 of every speaker and digit are the test set",
      1, 49),
    "valid_takes", int(5, "the next takes are the validation set", 0, 48),
    "baseline", bool(true, "classify: also train an MFCC + logistic-regression baseline"),
    "baseline_segments", int(8, "baseline: mean MFCC over this many equal time segments",
      1, 64),
    "baseline_epochs", int(60, "baseline: training epochs", 1, 100000),
    "min_digits", int(2, "ctc: fewest digits in an utterance", 1, 50),
    "max_digits", int(7, "ctc: most digits in an utterance", 1, 50),
    "max_gap_ms", num(300, "ctc: silence before each digit and at the end, 0..this (ms)", 0,
      10000),
    "gain_db", num(6, "ctc: each digit's gain, uniform in -this..+this dB", 0, 60),
    "train_utterances", int(4000, "ctc: generated training utterances", 1, 10000000),
    "valid_utterances", int(300, "ctc: generated validation utterances", 0, 10000000),
    "test_utterances", int(1000, "ctc: generated test utterances (test takes only)", 1,
      10000000),
    "beam", int(8, "ctc: prefix beam search width for the test set and lurn transcribe", 1,
      4096),
    "limit", int(0, "use at most this many recordings per split (0 = all; tests)", 0, nil),
  }),
  -- task pianoroll
  "pianoroll", section("task pianoroll: polyphonic piano rolls (lurn.tasks.pianoroll)", {
    "low", int(21, "MIDI pitch of the lowest key (21 = A0, a piano's lowest)", 0, 127),
    "keys", int(88, "keys in the roll, from low upwards", 1, 128),
    "bpm", num(100, "tempo of written MIDI files, quarter notes per minute", 1, 1000),
    "step_beats", num(1, "one time step in quarter notes (1: the JSB chorales' quarter-note steps)",
      0.015625, 64),
    "length", int(64, "time steps of a sampled piece (lurn sample --length)", 1, 100000),
    "hold", bool(true, "MIDI output: a key on in consecutive steps is one held note"),
  }),
})

--- Every leaf as { key = "a.b", entry = leaf }, in declaration order.
function M.leaves()
  local out = {}
  local function walk(s, prefix)
    for _, k in ipairs(s.order) do
      local e = s.fields[k]
      if e.type == "section" then
        walk(e, prefix .. k .. ".")
      else
        out[#out + 1] = { key = prefix .. k, entry = e }
      end
    end
  end
  walk(M.root, "")
  return out
end

--- The entry at dotted `key` (a leaf or a section), or nil.
function M.lookup(key)
  local e = M.root
  for part in key:gmatch("[^.]+") do
    if e.type ~= "section" then return nil end
    e = e.fields[part]
    if not e then return nil end
  end
  return e
end

return M
