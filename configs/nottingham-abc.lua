-- configs/nottingham-abc.lua — the Nottingham folk tunes in ABC notation as a character model
-- (task "lm", docs/music.md): 931 tunes to train on, 103 held out (every tenth). Its samples
-- should be tunes: bench/abc_validity.lua samples 100 and counts how many abc2midi converts
-- (issue 11 asks for at least 90 %).
-- Result: validation 0.9473 nats/char (1.3666 bits/char) at epoch 15 of 30 (19:35 at load 9-13);
-- of 100 sampled tunes abc2midi converts 93 at temperature 0.3, 86 at 0.5 (docs/results.md#music).
-- Fetch the data first: bash datasets/nottingham (or bash datasets/nottingham --from DIR); then
--   lurn train configs/nottingham-abc.lua
--   lurn sample runs/nottingham-abc-... --prime "X: 1<newline>" --temperature 0.3 --length 1500 --midi tune.mid
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
