-- configs/sst2-ensemble.lua — SST-2 from scratch: eight recurrent models as one ensemble
-- (train.ensemble), the mean of their probabilities; four of configs/sst2-bilstm.lua's
-- BiLSTMs and four of configs/sst2-lstm.lua's one-directional LSTMs (train.ensemble_vary).
--
--   bash datasets/sst2                   # -> data/sst2/{train,dev}.tsv
--   lurn train configs/sst2-ensemble.lua # 8 members, 2 at a time on 2 cores (1 thread each)
--   lurn eval runs/sst2-ensemble-...     # the ensemble on the dev set, confusion matrix
--   lurn predict runs/sst2-ensemble-... "a gorgeous , witty , seductive movie ."
--
-- What it does: member i has seed 1 + i - 1 (its own initial weights, dropout and batch
-- order) and the same 67,349 training phrases and 872 dev sentences. Odd members: a
-- bidirectional LSTM (256 per direction) over 256-d embeddings, 2 epochs; even members: a
-- one-directional LSTM 256 over 128-d embeddings, 3 epochs. All learnt from scratch (no
-- pretrained vectors), max-pooled, word-type and output dropout 0.3, Adam 2e-3, cosine.
-- train.max_time caps each member at 15 minutes.
-- Result (two draws, members one after another at 1 thread on one core): seed 1 84.86 % on the
-- dev set (best checkpoints; 84.06 last), seed 9 83.49 (83.37); 20-23 minutes of training summed
-- over the members, about half that with two at a time on 2 cores. Issue 10's 85 %: not met
-- (docs/results.md, "Ensembles").
return {
  extends = "sst2-bilstm.lua",
  name = "sst2-ensemble",
  -- the members as measured above: without the subwords and lazy Adam sst2-bilstm.lua has now
  data = { subwords = 0 },
  optim = { lazy = false },
  train = { ensemble = 8,
            ensemble_vary = "model.bidirectional=true,false model.embed=256,128 train.epochs=2,3" },
}
