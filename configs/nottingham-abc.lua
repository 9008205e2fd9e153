-- configs/nottingham-abc.lua — the Nottingham folk tunes in ABC notation as a character model
-- (task "lm", docs/music.md): 931 tunes to train on, 103 held out (every tenth). Its samples
-- should be tunes: bench/abc_validity.lua samples 100 and counts how many abc2midi converts
-- (issue 11 asks for at least 90 %).
-- Result: not yet measured.
-- Fetch the data first: bash datasets/nottingham (or bash datasets/nottingham --from DIR); then
--   lurn train configs/nottingham-abc.lua
--   lurn sample runs/nottingham-abc-... --prime "X:" --length 1500 --midi tune.mid
return {
  name = "nottingham-abc",
  seed = 1,
  task = "lm",
  data = { train = "data/nottingham/train.abc", valid = "data/nottingham/valid.abc" },
  lm = { tokenizer = "char", bptt = 100 },
  model = { type = "lstm", embed = 32, hidden = 256, layers = 1, output_dropout = 0.1 },
  optim = { name = "adam", lr = 3e-3 },
  train = { epochs = 30, batch_size = 32, clip = 5, best_metric = "valid_loss", best_mode = "min",
            log_every = 50 },
}
