-- configs/uci-extra.lua — the UCI labelled sentences, one site's 10 folds, with the other two
-- sites' 2,000 sentences as extra training data (data.extra) in every fold.
--
--   bash datasets/uci-sentences        # -> data/uci-sentences/{amazon,yelp,imdb}.txt
--   lurn train configs/uci-extra.lua   # yelp's folds; amazon + imdb as extra training rows
--   lurn train configs/uci-extra.lua data.train=data/uci-sentences/amazon.txt \
--     data.extra=data/uci-sentences/yelp.txt,data/uci-sentences/imdb.txt
--   lurn bench/cv_summary.lua runs/uci-extra-...   # the final-epoch accuracy over the folds
--
-- What it does: configs/uci.lua's model (a bidirectional LSTM, 64 per direction, over 64-d
-- embeddings, max-pooled, dropout 0.5, label smoothing 0.1), each fold trained on its 900
-- sentences plus the 2,000 of the other two sites, validated on its 100 (which the extra rows
-- never include). The baselines get the same rows: bench/fasttext_splits.lua adds data.extra
-- to their training files (bench/fasttext.sh CONFIG ...).
-- Result: see docs/results.md ("UCI labelled sentences").
return {
  extends = "uci.lua",
  name = "uci-extra",
  data = { extra = "data/uci-sentences/amazon.txt,data/uci-sentences/imdb.txt" },
  train = { epochs = 12, ensemble = 5 },
}
