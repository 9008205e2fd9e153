-- configs/airline.lua — monthly airline passengers 1949-1960 (thousands; Box & Jenkins'
-- series G): train on 1949-1956, forecast 1957-1960 (task "forecast", docs/forecast.md).
-- Result: see docs/results.md ("Airline passengers"): every seed's one-step and 48-month
-- test RMSE, their mean and sd, beside persistence (48.0 / 132.6) and seasonal naive
-- (41.9 / 97.8).
--   bash datasets/timeseries        (writes data/timeseries/airline-passengers.csv)
--   lurn train configs/airline.lua --out runs/airline
--   lurn eval runs/airline; lurn forecast runs/airline --svg airline.svg
-- The series grows and its seasonal swing grows with it: the log makes the swing
-- constant, and the seasonal and first differences (the differencing of Box and
-- Jenkins' airline model) leave month-to-month changes of the yearly growth, which
-- the network reads over the last 12 months. Epochs, lr and input_len were chosen
-- by validating on 1956 with 1949-1955 as training data (docs/results.md).
return {
  name = "airline",
  seed = 1,
  threads = 1,
  task = "forecast",
  forecast = {
    file = "data/timeseries/airline-passengers.csv",
    time_column = "Month", columns = "Passengers",
    test_from = "1957-01",
    input_len = 12, output = "one",
    log = true, season = 12, seasonal_diff = true, diff = 1,
  },
  model = { type = "gru", hidden = 16 },
  optim = { name = "adam", lr = 1e-3 },
  train = { epochs = 30, batch_size = 8, log_every = 1000, max_time = 600 },
}
