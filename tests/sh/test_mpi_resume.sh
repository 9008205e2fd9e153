#!/usr/bin/env bash
# Resume across sizes: the data position in a checkpoint is global (the
# epoch's plan of global batches and the position in it), so a run
# checkpointed by 2 ranks continues on 1 process and one checkpointed by 1
# process continues on 2 ranks, from the middle of an epoch, and both end
# on the loss curve of the uninterrupted run (up to float summation order).
. "$(dirname "$0")/mpi_lib.sh"
mpi_release_only
cd "$tmp"
make_data 240
write_config
# 192 samples in global batches of 15: 13 steps per epoch, step 20 is
# batch 7 of epoch 2; every checkpoint kept
args=(order.lua train.batch_size=15 train.log_every=1 train.epochs=3 train.checkpoint_every=5
      train.keep_checkpoints=0 --quiet)

"$LURN" train "${args[@]}" --out one >one.log 2>&1 || bad "one process" "$(tail -3 one.log)"
mpi 2 train "${args[@]}" --out two >two.log 2>&1 || bad "2 ranks" "$(tail -3 two.log)"
[ -f one/checkpoints/step-00000020.ckpt ] && [ -f two/checkpoints/step-00000020.ckpt ] \
  && ok "both wrote a checkpoint at step 20 (mid-epoch)" || bad "checkpoints at step 20" "$(ls one/checkpoints two/checkpoints)"

# 2 -> 1: the 2-rank run, resumed from step 20 on one process
cp -r two two2one && echo step-00000020.ckpt >two2one/checkpoints/latest
"$LURN" train --resume two2one >two2one.log 2>&1 && ok "2 ranks -> 1 process: resumed" \
  || bad "2 -> 1 resumed" "$(tail -3 two2one.log)"
expect "2 -> 1 says so" "1 rank(s) now, the checkpoint was written by 2" "$(cat two2one.log)"

# 1 -> 2: the 1-process run, resumed from step 20 on 2 ranks
cp -r one one2two && echo step-00000020.ckpt >one2two/checkpoints/latest
mpi 2 train --resume one2two --quiet >one2two.log 2>&1 && ok "1 process -> 2 ranks: resumed" \
  || bad "1 -> 2 resumed" "$(tail -3 one2two.log)"

losses one >one.txt; losses two >two.txt; losses two2one >two2one.txt; losses one2two >one2two.txt
out=$(close_losses one.txt two2one.txt 1e-5) && ok "2 -> 1 ends on the uninterrupted curve ($out)" \
  || bad "2 -> 1 on the curve" "$out"
out=$(close_losses one.txt one2two.txt 1e-5) && ok "1 -> 2 ends on the uninterrupted curve ($out)" \
  || bad "1 -> 2 on the curve" "$out"
[ "$(wc -l <one2two.txt)" -eq 39 ] && ok "39 steps each" || bad "39 steps" "$(wc -l <one2two.txt)"
# the same size resumes bit for bit: 2 -> 2 from step 20 equals the 2-rank run
cp -r two two2two && echo step-00000020.ckpt >two2two/checkpoints/latest
mpi 2 train --resume two2two --quiet >two2two.log 2>&1 || bad "2 -> 2" "$(tail -3 two2two.log)"
out=$("$LURN" "$SRC/tests/sh/resume_run.lua" compare="two/checkpoints/last.ckpt,two2two/checkpoints/last.ckpt" 2>&1) \
  && ok "2 -> 2 from step 20: bit-identical to the uninterrupted 2-rank run ($out)" \
  || bad "2 -> 2 bit-identical" "$out"
# and the tolerance is not vacuous: another run's curve is far from it
"$LURN" train "${args[@]}" optim.lr=0.03 --out other >/dev/null 2>&1
losses other >other.txt
out=$(close_losses one.txt other.txt 1e-5) && bad "a different run is not on the curve" "$out" \
  || ok "a different run (optim.lr=0.03) is off the curve ($out)"
finish
