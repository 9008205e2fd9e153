#!/usr/bin/env bash
# mpirun -np 2 lurn train: the same loss curve as one process with the same
# global batch (up to float summation order), bit-identical runs at the same
# rank count, rank 0 alone writing, the parameter check (LURN_DIST_CHECK)
# and its failure when the ranks start from different models, lurn info.
. "$(dirname "$0")/mpi_lib.sh"
cd "$tmp"
make_data 240
write_config
# batch 15: the 2 shards are uneven (8 + 7); every step logged
args=(order.lua train.batch_size=15 train.log_every=1 train.epochs=3 --quiet)

"$LURN" train "${args[@]}" --out one >one.log 2>&1 || bad "one process" "$(tail -3 one.log)"
mpi 2 train "${args[@]}" --out two >two.log 2>&1 && ok "mpirun -np 2 lurn train" \
  || bad "mpirun -np 2 lurn train" "$(tail -5 two.log)"
LURN_DIST_CHECK=1 LURN_DIST_BUCKET_MB=0.001 mpi 2 train "${args[@]}" --out two_b >two_b.log 2>&1 \
  && ok "again, parameters compared after every step, small buckets" \
  || bad "again, with LURN_DIST_CHECK=1" "$(tail -5 two_b.log)"
# (under ASan/UBSan the C paths are the same with overlap: one run fewer)
if [ "${LURN_SANITIZE:-0}" = 1 ]; then cp -r two_b two_c; else
  LURN_DIST_OVERLAP=0 mpi 2 train "${args[@]}" --out two_c >two_c.log 2>&1 \
    || bad "again, reduced after backward" "$(tail -5 two_c.log)"
fi

losses one >one.txt; losses two >two.txt; losses two_b >two_b.txt; losses two_c >two_c.txt
out=$(close_losses one.txt two.txt 1e-5) && ok "2 ranks = 1 process up to summation order ($out)" \
  || bad "2 ranks = 1 process" "$out"
[ "$(wc -l <one.txt)" -ge 39 ] && ok "compared $(wc -l <one.txt) steps" || bad "enough steps" "$(wc -l <one.txt)"
cmp -s two.txt two_b.txt && cmp -s two.txt two_c.txt && ok "2 ranks twice (any bucket size, overlap or not): identical losses" \
  || bad "2 ranks twice: identical losses" "$(diff two.txt two_b.txt | head -4)"
out=$("$LURN" "$SRC/tests/sh/resume_run.lua" compare="two/checkpoints/last.ckpt,two_b/checkpoints/last.ckpt" 2>&1) \
  && ok "2 ranks twice: bit-identical final checkpoints ($out)" || bad "bit-identical checkpoints" "$out"
out=$("$LURN" "$SRC/tests/sh/resume_run.lua" compare="one/checkpoints/last.ckpt,two/checkpoints/last.ckpt" 2>&1) \
  && bad "1 process vs 2 ranks: the comparison sees summation order" "$out" \
  || ok "1 process vs 2 ranks differ in the last bits (the comparison can fail: $out)"

# rank 0 alone writes: one run directory, its files whole
n=$(ls -d */ | wc -l)
[ "$n" -eq 5 ] && ok "data and four runs: five directories" || bad "one directory per run" "$(ls)"
jq_lurn 'local s = json.decode(io.open(arg[1]):read("a")); assert(s.status == "completed", s.status)' \
  two/summary.json && ok "summary.json completed" || bad "summary.json" "$(cat two/summary.json)"
grep -c '"split":"train"' two/metrics.jsonl | grep -qx "$(wc -l <two.txt)" \
  && ok "each step logged once" || bad "each step logged once" "$(wc -l two/metrics.jsonl)"

# ranks that build different models are stopped before the first step
mpirun "${MPI_FLAGS[@]}" -np 1 "$LURN" train "${args[@]}" --out mixed : \
  -np 1 "$LURN" train "${args[@]}" seed=3 >mixed.log 2>&1
rc=$?
expect_rc "different seeds on the two ranks" 2 "$rc" "$(tail -3 mixed.log)"
expect "the mismatch is named" "parameters differ at step 0: rank 1 holds other values" "$(cat mixed.log)"

# lurn info: built with MPI, and each rank knows which it is
out=$(mpi 2 info 2>&1)
expect "lurn info under mpirun" "rank 1 of 2" "$out"
expect "lurn info under mpirun (rank 0)" "rank 0 of 2" "$out"
finish
