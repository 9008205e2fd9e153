# Shared by tests/sh/test_mpi_*.sh: cli_lib.sh's checks and generated task,
# plus `mpi N args...` = mpirun -np N lurn args... (2 cores: --oversubscribe;
# as root: --allow-run-as-root). Skips (77) without mpirun or MPI support.
# mpi_release_only: a test that runs in the release pass only.
. "$(dirname "${BASH_SOURCE[0]}")/cli_lib.sh"
if ! command -v mpirun >/dev/null 2>&1; then
  echo "skipped: no mpirun (apt-get install openmpi-bin libopenmpi-dev)"; exit 77
fi
if "$LURN" info | grep -q "^mpi  *no"; then
  echo "skipped: this lurn was built without MPI"; exit 77
fi
# Under ASan/UBSan: memory errors and undefined behaviour are checked in the
# ranks, leaks are not. Open MPI unloads its components (mca_*.so) at
# MPI_Finalize, so LeakSanitizer sees their at-exit allocations in an
# "<unknown module>" that no suppression can name; the slow unwinder that
# would reach libmpi.so costs ~10 s a run. Leaks of lurn's own code are
# checked by the rest of the suite (tests/lua/test_dist.lua for lurn.dist).
if [ "${LURN_SANITIZE:-0}" = 1 ]; then
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fi
# one thread per rank (and for the single process the ranks are compared with)
export LURN_THREADS=1
# Open MPI's shared-memory transport and no network probing: fast start-up
export OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1
MPI_FLAGS=(--oversubscribe)
[ "$(id -u)" = 0 ] && MPI_FLAGS+=(--allow-run-as-root)
mpi() { local n=$1; shift; mpirun "${MPI_FLAGS[@]}" -np "$n" "$LURN" "$@"; }
# The train losses of a run, one per line ("step loss"), from metrics.jsonl.
losses() {
  "$LURN" -e '
    local dec = require("lurn.core").json_decode
    for line in io.lines(arg[1]) do
      local r = dec(line)
      if r.split == "train" then print(("%d %.17g"):format(r.step, r.loss)) end
    end' "$1/metrics.jsonl"
}
# Compare two runs' loss lists: same steps, each loss within rel tolerance $3.
# Prints "N steps, max relative difference D"; fails when any exceeds it.
close_losses() {
  "$LURN" -e '
    local function read(p) local t = {} for l in io.lines(p) do
      local s, v = l:match("^(%d+) (%S+)$"); t[#t + 1] = { tonumber(s), tonumber(v) } end return t end
    local a, b, tol = read(arg[1]), read(arg[2]), tonumber(arg[3])
    if #a ~= #b or #a == 0 then print(("%d vs %d steps"):format(#a, #b)); os.exit(1) end
    local worst = 0
    for i = 1, #a do
      if a[i][1] ~= b[i][1] then print("step " .. a[i][1] .. " vs " .. b[i][1]); os.exit(1) end
      local d = math.abs(a[i][2] - b[i][2]) / math.max(math.abs(a[i][2]), 1e-12)
      if d > worst then worst = d end
    end
    print(("%d steps, max relative difference %.2e"):format(#a, worst))
    if worst > tol then os.exit(1) end' "$1" "$2" "$3"
}
# Process-level behaviour (kills, timeouts, queues) is the same code in both
# builds: those tests run in the release pass only (test_kill.sh does so too).
mpi_release_only() {
  if [ "${LURN_SANITIZE:-0}" = 1 ]; then
    echo "skipped in the sanitizer pass (process-level behaviour; test_mpi_train.sh runs there)"; exit 77
  fi
}
