-- configs/nottingham-abc.lua — the Nottingham folk tunes in ABC notation as a character model
-- (task "lm", docs/music.md): 931 tunes to train on, 103 held out (every tenth). Its samples
-- should be tunes: bench/abc_validity.lua samples 100 and counts how many abc2midi converts
-- (issue 11 asks for at least 90 %).
-- Result: validation 0.9143 nats/char (1.3190 bits/char) after 20 epochs (10:29 at load 6-9);
-- of 100 sampled tunes abc2midi converts 93 at temperature 0.5, 96 at 0.3, 54 at 1
-- (docs/results.md#music).
-- Fetch the data first: bash datasets/nottingham (or bash datasets/nottingham --from DIR); then
--   lurn train configs/nottingham-abc.lua
--   lurn sample runs/nottingham-abc-... --prime "X: 1<newline>" --temperature 0.5 --length 1500 --midi tune.mid
return {
  name = "nottingham-abc",
  seed = 1,
  task = "lm",
  data = { train = "data/nottingham/train.abc", valid = "data/nottingham/valid.abc" },
  lm = { tokenizer = "char", bptt = 100 },
  model = { type = "lstm", embed = 32, hidden = 256, layers = 1, input_dropout = 0.1,
            output_dropout = 0.3 },
  optim = { name = "adam", lr = 3e-3 },
  train = { epochs = 20, batch_size = 32, clip = 5, best_metric = "valid_loss", best_mode = "min",
            early_stop = 4, log_every = 50 },
}
