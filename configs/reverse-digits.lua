-- configs/reverse-digits.lua — translation in a minute: reverse strings of digits.
--
--   lurn docs/examples/digits_corpus.lua data/reverse      # generated: 3000/200/200 pairs
--   lurn train configs/reverse-digits.lua
--   lurn translate runs/reverse-digits-<time> "1 2 3 4 5"  # -> 5 4 3 2 1
--
-- A small GRU encoder-decoder with additive attention; the source is the target reversed, so
-- the decoder must read the source from its end: attention learns the anti-diagonal
-- (lurn translate --attention shows it). docs/translation.md runs it.
-- Result (seed 1, the only seed measured): valid loss 0.0046 and next-token accuracy 1.0000
-- after the 4 epochs, test BLEU 100.00 (200 pairs, beam 3, lurn eval); 21 s at load 8.
return {
  name = "reverse-digits",
  seed = 1,
  threads = 1,
  task = "translate",
  translate = {
    train = "data/reverse/train", valid = "data/reverse/valid", test = "data/reverse/test",
    src = "src", tgt = "tgt", lower = false, max_len = 0,
    cell = "gru", embed = 32, hidden = 64, attention = "additive", dropout = 0, beam = 3,
  },
  optim = { name = "adam", lr = 3e-3 },
  train = { epochs = 4, batch_size = 32, best_metric = "valid_loss", best_mode = "min",
            log_every = 50 },
}
