--- lurn.nn — layers, containers and losses (see nn/Module.lua for the protocol).
local acts = require "lurn.nn.activations"
local losses = require "lurn.nn.losses"
local rec = require "lurn.nn.Recurrent"

return {
  Module = require "lurn.nn.Module",
  Sequential = require "lurn.nn.Sequential",
  Concat = require "lurn.nn.Concat",
  Linear = require "lurn.nn.Linear",
  Embedding = require "lurn.nn.Embedding",
  Dropout = require "lurn.nn.Dropout",
  Pool = require "lurn.nn.Pool",
  AttentionPool = require "lurn.nn.AttentionPool",
  ReLU = acts.ReLU, Tanh = acts.Tanh, Sigmoid = acts.Sigmoid,
  Softmax = acts.Softmax, LogSoftmax = acts.LogSoftmax,
  RNN = rec.RNN, LSTM = rec.LSTM, GRU = rec.GRU,
  CrossEntropy = losses.CrossEntropy, BCEWithLogits = losses.BCEWithLogits, MSE = losses.MSE,
  seq = require "lurn.nn.seq",
}
