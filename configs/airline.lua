-- Monthly airline passengers 1949-1960 (thousands; Box & Jenkins' series G):
-- train on 1949-1956, forecast 1957-1960. Get the data with
--   bash datasets/timeseries        (writes data/timeseries/airline-passengers.csv)
-- then: lurn train configs/airline.lua; lurn eval RUN_DIR; lurn forecast RUN_DIR --svg f.svg
-- The series grows and its seasonal swing grows with it: the log makes the
-- swing constant, the seasonal and first differences leave month-to-month
-- changes in the growth rate, which the network reads over the last 24 months.
return {
  name = "airline",
  seed = 1,
  threads = 1,
  task = "forecast",
  forecast = {
    file = "data/timeseries/airline-passengers.csv",
    time_column = "Month", columns = "Passengers",
    test_from = "1957-01",
    input_len = 24, output = "one",
    log = true, season = 12, seasonal_diff = true, diff = 1,
  },
  model = { type = "gru", hidden = 16 },
  optim = { name = "adam", lr = 3e-3 },
  train = { epochs = 100, batch_size = 8, log_every = 1000, max_time = 600 },
}
