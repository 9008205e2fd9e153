#!/usr/bin/python3
"""bench/char_lm_torch.py — training throughput of a character language model in PyTorch
(the peer of bench/char_lm.lua; bench/char_lm.sh runs both and prints the ratio).

    BLIS_NUM_THREADS=1 /usr/bin/python3 bench/char_lm_torch.py --text FILE --threads 1 \
        --embed 64 --hidden 512 --layers 2 --batch 64 --bptt 100 --warmup 2 --steps 10

The same model and loop as lurn's: Embedding(V, embed) -> LSTM(embed, hidden, layers) ->
Linear(hidden, V), mean cross-entropy over every step, Adam (lr 2e-3), clip_grad_norm_ 5,
chunks of bptt steps of `batch` parallel streams (the text's N-1 (input, next) pairs cut
into `batch` consecutive pieces, as lurn.text.stream does), the state carried across chunks
and detached (truncated BPTT). Characters: Unicode code points (Python's str), vocabulary
sorted. Characters per second = batch * bptt * steps / seconds after the warm-up steps.
Prints one JSON line.
"""
import argparse
import json
import time

import torch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--text", required=True)
    p.add_argument("--threads", type=int, default=1)
    for k, v in (("embed", 64), ("hidden", 512), ("layers", 2), ("batch", 64), ("bptt", 100),
                 ("warmup", 2), ("steps", 10), ("seed", 1)):
        p.add_argument("--" + k, type=int, default=v)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    with open(a.text, encoding="utf-8", errors="surrogateescape") as f:
        text = f.read()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    B, T = a.batch, a.bptt
    L = (len(ids) - 1) // B
    x = ids[:B * L].view(B, L)
    y = ids[1:B * L + 1].view(B, L)
    V = len(chars)
    emb = torch.nn.Embedding(V, a.embed)
    rnn = torch.nn.LSTM(a.embed, a.hidden, a.layers)
    out = torch.nn.Linear(a.hidden, V)
    params = list(emb.parameters()) + list(rnn.parameters()) + list(out.parameters())
    opt = torch.optim.Adam(params, lr=2e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    state = None
    losses = []
    t0 = None
    for step in range(a.warmup + a.steps):
        xs = x[:, step * T:(step + 1) * T].t().contiguous()
        ys = y[:, step * T:(step + 1) * T].t().contiguous()
        h, state = rnn(emb(xs), state)
        state = tuple(s.detach() for s in state)
        logits = out(h)
        loss = loss_fn(logits.view(-1, V), ys.view(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        losses.append(loss.item())
        if step + 1 == a.warmup:
            t0 = time.perf_counter()
    seconds = time.perf_counter() - t0
    print(json.dumps({"side": "torch", "chars_per_s": B * T * a.steps / seconds,
                      "seconds": seconds, "steps": a.steps, "threads": torch.get_num_threads(),
                      "vocab": V, "torch": torch.__version__, "first_loss": losses[0],
                      "last_loss": losses[-1]}))


if __name__ == "__main__":
    main()
