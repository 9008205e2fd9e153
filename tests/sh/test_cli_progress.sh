#!/usr/bin/env bash
# The live progress line of lurn train, in a real terminal (a private tmux
# server: send the command, read the screen with capture-pane): one line
# redrawn in place with epoch, batch i/n, loss, validation metric, lr,
# tokens/s, ETA and best; evaluation lines above it; the summary table at
# the end with the live line gone. (Off a terminal: test_cli_train.sh.)
. "$(dirname "$0")/cli_lib.sh"
if ! command -v tmux >/dev/null; then echo "FAIL tmux is not installed (tools/setup.sh installs it)"; exit 1; fi
cd "$tmp"
make_data 320
cat > p.lua <<'LUA'
return {
  name = "progress",
  data = { train = "data/train.txt", format = "label_text", valid_split = 0.2 },
  model = { type = "lstm", embed = 8, hidden = 8 },
  optim = { lr = 0.02 },
  train = { epochs = 3, batch_size = 4, eval_every = 50, log_every = 1 },
}
LUA
sock="lurn-test-$$"
tm() { tmux -L "$sock" "$@"; }
trap 'tm kill-server 2>/dev/null; rm -rf "$tmp"' EXIT
# the shell records lurn's pid (exec keeps it), so the test can pause it mid-run
tm -f /dev/null new-session -d -s t -x 100 -y 30 \
  "cd '$tmp' && sh -c 'echo \$\$ > pid; exec \"$LURN\" train p.lua --out P'; echo EXIT=\$? > done.txt; sleep 60"

# Pause the run (SIGSTOP) at a few points after the first evaluation, read
# the screen, let it go on (SIGCONT): what a user sees at that moment.
live=0; worst=0; fields=""; screen=""
for at in 60 110 160; do
  for _ in $(seq 1 3000); do
    [ -e done.txt ] && break
    grep -q "\"step\":$at," P/metrics.jsonl 2>/dev/null && break
    sleep 0.01
  done
  [ -e done.txt ] && break
  pid=$(cat pid); kill -STOP "$pid"; sleep 0.3
  screen=$(tm capture-pane -p -t t 2>/dev/null)
  kill -CONT "$pid"
  n=$(printf '%s\n' "$screen" | grep -c -E '^epoch [0-9]+/3  batch [0-9]+/[0-9]+  loss ')
  [ "$n" -gt "$worst" ] && worst=$n
  line=$(printf '%s\n' "$screen" | grep -E '^epoch [0-9]+/3  batch [0-9]+/[0-9]+  loss [0-9.]+  valid acc [0-9.]+  lr [0-9.e-]+  [0-9.]+k? tok/s  ETA [0-9]+:[0-9]{2}  best [0-9.]+$')
  if [ -n "$line" ]; then live=$((live + 1)); fields=$line; else echo "     at step $at the screen was:"; printf "%s\n" "$screen" | grep -v "^$" | tail -3 | sed "s/^/       /"; fi
done
for _ in $(seq 1 1200); do [ -e done.txt ] && break; sleep 0.05; done
echo "     seen: $fields"
[ "$live" -ge 2 ] && ok "the live line shows epoch, batch, loss, valid metric, lr, tok/s, ETA, best" \
  || bad "the live line" "never saw all fields; last screen: $screen"
[ "$worst" -le 1 ] && ok "redrawn in place (never two progress lines on screen)" \
  || bad "redrawn in place" "$worst progress lines on one screen"
[ ${#fields} -lt 100 ] && ok "the live line fits the terminal (${#fields} < 100 columns)" \
  || bad "the live line fits the terminal" "$fields"
expect "the run ended well" "EXIT=0" "$(cat done.txt 2>/dev/null)"
screen=$(tm capture-pane -p -t t -S -100)
expect "evaluation lines scroll above it" "eval   epoch 1  step 50  valid loss" "$screen"
expect "the summary table at the end" "valid, best" "$screen"
printf '%s\n' "$screen" | grep -q -E '^epoch [0-9]+/3  batch ' && bad "the live line is cleared at the end" "$screen" \
  || ok "the live line is cleared at the end"
tm kill-server 2>/dev/null
finish
