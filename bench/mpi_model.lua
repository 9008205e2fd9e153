--- bench/mpi_model.lua — the scaling model of docs/distributed.md, as a table.
--
--   lurn bench/mpi_model.lua [c_ms=13.8] [params=395778] [batch=64] [global=0] [overlap=0]
--
-- One synchronous data-parallel step on N nodes (one rank per node) takes
--   t(N) = c * b + (1 - overlap) * t_ar(N)
--   t_ar(N) = 2 (N-1)/N * S / BW + 2 (N-1) * alpha        (ring allreduce)
-- with c the measured compute time per sample (forward + backward + the
-- optimizer's share, one rank), b the per-rank batch (batch=, or global/N
-- when global= is given: a fixed global batch), S = 4 * params bytes, BW
-- the link's bandwidth and alpha its per-message latency; overlap is the
-- fraction of the allreduce backward hides (measured: bench/mpi.sh).
-- Efficiency = (c * b) / t(N): the share of the step spent computing;
-- throughput = N * b / t(N) samples/s. Two networks: 10 Gbit/s Ethernet
-- (alpha 20 us, TCP) and 100 Gbit/s (alpha 2 us, RDMA).
local a = { c_ms = 13.8, params = 395778, batch = 64, global = 0, overlap = 0 }
for _, s in ipairs(arg) do
  local k, v = s:match("^([%w_]+)=([%d.e+-]+)$")
  if not k or a[k] == nil then error("bad argument '" .. s .. "'") end
  a[k] = tonumber(v)
end
local c, S = a.c_ms / 1000, 4 * a.params
local nets = { { "10 Gbit/s", 10e9 / 8, 20e-6 }, { "100 Gbit/s", 100e9 / 8, 2e-6 } }
print(("compute %.2f ms/sample, %d parameters (%.2f MB), %s, overlap %.0f%%"):format(a.c_ms,
  a.params, S / 1e6, a.global > 0 and ("global batch %d"):format(a.global)
    or ("%d samples per rank"):format(a.batch), 100 * a.overlap))
print(("%6s %8s | %-36s | %-36s"):format("nodes", "batch", nets[1][1] .. ": allreduce ms, eff, samples/s",
  nets[2][1] .. ": allreduce ms, eff, samples/s"))
for _, n in ipairs { 1, 2, 8, 16, 32, 64, 128, 256 } do
  local b = a.global > 0 and a.global / n or a.batch
  local cols = {}
  for _, net in ipairs(nets) do
    local t_ar = n > 1 and (2 * (n - 1) / n * S / net[2] + 2 * (n - 1) * net[3]) or 0
    local t = c * b + (1 - a.overlap) * t_ar
    cols[#cols + 1] = ("%8.2f %5.1f%% %12.0f"):format(1e3 * t_ar, 100 * c * b / t, n * b / t)
  end
  print(("%6d %8s | %-36s | %-36s"):format(n, ("%g"):format(b * n), cols[1], cols[2]))
end
