-- configs/sst2-ensemble.lua — SST-2 from scratch: five of configs/sst2-bilstm.lua's BiLSTMs (with
-- subwords) as one ensemble (train.ensemble), the mean of their probabilities.
--
--   bash datasets/sst2                   # -> data/sst2/{train,dev}.tsv
--   lurn train configs/sst2-ensemble.lua # 5 members, 2 at a time on 2 cores (1 thread each)
--   lurn eval runs/sst2-ensemble-...     # the ensemble on the dev set, confusion matrix
--   lurn predict runs/sst2-ensemble-... "a gorgeous , witty , seductive movie ."
--
-- What it does: member i has seed 1 + i - 1 (its own initial weights, dropout and batch
-- order) and the same 67,349 training phrases and 872 dev sentences: a bidirectional LSTM
-- (256 per direction) over 256-d word vectors averaged with their character n-grams'
-- (data.subwords = 50000), learnt from scratch (no pretrained vectors), max-pooled, word-type
-- and output dropout 0.3, lazy Adam 2e-3, cosine, 2 epochs.
-- Result (2026-12-02, members two at a time on the 2 cores, 13:21 wall for the whole run):
-- members 84.63 / 86.12 / 86.12 / 85.78 / 85.21 % (best evaluation; 85.57 +- 0.65), the
-- ensemble 86.70 % on the dev set with the members' best checkpoints, 87.84 with their last
-- (docs/results.md, "Ensembles"). Issue 10's 85 %: met.
return {
  extends = "sst2-bilstm.lua",
  name = "sst2-ensemble",
  train = { ensemble = 5 },
}
