#!/usr/bin/python3
"""bench/sst2_epoch_torch.py — one SST-2 training epoch in PyTorch (the peer of sst2_epoch.lua).

    BLIS_NUM_THREADS=2 /usr/bin/python3 bench/sst2_epoch_torch.py \
        --data-dir ../shared/datasets/sst2 [--threads 2] [--batch 32] [--max-batches 0]

Model: Embedding(V, 128, padding 0) -> LSTM(128, 256) -> max-pool over each
sentence's valid steps -> Linear(256, 2), cross-entropy (mean), Adam(lr=1e-3)
(--optim sgd: plain SGD lr=0.1).

Data, identical on both sides (so the two scripts run the same batches):
  - train.tsv: a header line, then "sentence<TAB>label"; tokens are runs of
    non-whitespace bytes (ASCII whitespace, as Lua's %S+); empty sentences
    are skipped;
  - vocabulary: every training token, ids 2.. by descending count then by
    byte order; 0 is padding, 1 unknown;
  - length bucketing: sentences sorted by (length, line order), cut into
    batches of --batch; batch order shuffled by a Fisher-Yates driven by the
    LCG s = (s * 1103515245 + 12345) mod 2^31 from seed 1; inside a batch,
    longest first; ids [T, B] time-major, T = the batch's longest sentence.
Batches are built before the clock starts (data loading is not timed); the
timed epoch is, per batch: forward, loss, zero_grad, backward, optimizer step.

--packed runs the LSTM over a PackedSequence (no work on padded steps, like
lurn's lengths); the default runs it over the padded batch and masks the
padded steps out of the max-pool, which gives identical outputs (padding
only follows the valid steps of a forward LSTM) and is faster on this CPU.
--profile 1 adds the time split (forward, loss, zero_grad, backward, step).
Prints one JSON line.
"""
import argparse
import json
import os
import time

import torch


def load(path):
    sents, labels = [], []
    with open(path, "rb") as f:
        f.readline()                                # header
        for line in f:
            line = line.rstrip(b"\r\n")
            if not line:
                continue
            text, _, lab = line.rpartition(b"\t")
            toks = text.split()                     # bytes.split: ASCII whitespace
            if not toks:
                continue
            sents.append(toks)
            labels.append(int(lab))
    return sents, labels


def build_vocab(sents):
    count = {}
    for s in sents:
        for w in s:
            count[w] = count.get(w, 0) + 1
    words = sorted(count, key=lambda w: (-count[w], w))
    return {w: i + 2 for i, w in enumerate(words)}


def batches(sents, labels, vocab, bsz):
    order = sorted(range(len(sents)), key=lambda i: (len(sents[i]), i))
    groups = [order[k:k + bsz] for k in range(0, len(order), bsz)]
    s = 1
    for i in range(len(groups) - 1, 0, -1):        # Fisher-Yates, LCG (same as the Lua side)
        s = (s * 1103515245 + 12345) % 2147483648
        j = s % (i + 1)
        groups[i], groups[j] = groups[j], groups[i]
    out = []
    for g in groups:
        g = sorted(g, key=lambda i: (-len(sents[i]), i))
        T = len(sents[g[0]])
        ids = torch.zeros(T, len(g), dtype=torch.long)
        for b, i in enumerate(g):
            ids[:len(sents[i]), b] = torch.tensor([vocab.get(w, 1) for w in sents[i]])
        lengths = torch.tensor([len(sents[i]) for i in g], dtype=torch.long)
        y = torch.tensor([labels[i] for i in g], dtype=torch.long)
        out.append((ids, lengths, y))
    return out


class Classifier(torch.nn.Module):
    def __init__(self, vocab, emb, hidden, classes, packed):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab, emb, padding_idx=0)
        self.lstm = torch.nn.LSTM(emb, hidden)
        self.fc = torch.nn.Linear(hidden, classes)
        self.packed = packed

    def forward(self, ids, lengths):
        T = ids.shape[0]
        x = self.emb(ids)                                           # [T, B, E]
        if self.packed:
            p = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, enforce_sorted=True)
            y, _ = self.lstm(p)
            y, _ = torch.nn.utils.rnn.pad_packed_sequence(y, total_length=T)
        else:
            y, _ = self.lstm(x)                                     # [T, B, H]
        pad = torch.arange(T).unsqueeze(1) >= lengths.unsqueeze(0)  # [T, B]
        y = y.masked_fill(pad.unsqueeze(2), float("-inf"))
        return self.fc(y.max(0).values)                             # [B, C]


def vm_hwm_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default=os.path.join(os.path.dirname(__file__), "..", "..",
                                                       "shared", "datasets", "sst2"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--emb", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--optim", choices=("adam", "sgd"), default="adam")
    ap.add_argument("--max-batches", type=int, default=0, help="0: the whole epoch")
    ap.add_argument("--packed", action="store_true")
    ap.add_argument("--profile", type=int, default=0,
                    help="1: also time forward, loss, zero_grad, backward and step")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    t0 = time.perf_counter()
    sents, labels = load(os.path.join(a.data_dir, "train.tsv"))
    vocab = build_vocab(sents)
    data = batches(sents, labels, vocab, a.batch)
    if a.max_batches > 0:
        data = data[:a.max_batches]
    prep_s = time.perf_counter() - t0

    model = Classifier(len(vocab) + 2, a.emb, a.hidden, 2, a.packed)
    if a.optim == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()

    total, n_sent, tokens = 0.0, 0, 0
    prof = {"forward": 0.0, "loss": 0.0, "zero_grad": 0.0, "backward": 0.0, "step": 0.0}
    clock = time.perf_counter
    c0 = time.process_time()
    t0 = clock()
    for ids, lengths, y in data:
        if a.profile:
            s0 = clock(); logits = model(ids, lengths)
            s1 = clock(); loss = loss_fn(logits, y)
            s2 = clock(); opt.zero_grad()
            s3 = clock(); loss.backward()
            s4 = clock(); opt.step()
            s5 = clock()
            for k, d in zip(prof, (s1 - s0, s2 - s1, s3 - s2, s4 - s3, s5 - s4)):
                prof[k] += d
        else:
            logits = model(ids, lengths)
            loss = loss_fn(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        total += loss.item()
        n_sent += y.shape[0]
        tokens += int(lengths.sum())
    epoch_s = clock() - t0
    cpu_s = time.process_time() - c0

    out = {
        "side": "sst2_torch", "epoch_s": epoch_s, "cpu_s": cpu_s, "prep_s": prep_s, "batches": len(data),
        "sentences": n_sent, "tokens": tokens, "vocab": len(vocab) + 2,
        "mean_loss": total / max(len(data), 1), "rss_mb": vm_hwm_mb(),
        "threads": torch.get_num_threads(), "torch_version": torch.__version__,
        "config": "batch %d, emb %d, hidden %d, %s, %s" % (
            a.batch, a.emb, a.hidden, "Adam lr=1e-3" if a.optim == "adam" else "SGD lr=0.1",
            "packed" if a.packed else "padded+masked pool"),
    }
    if a.profile:
        out["profile_s"] = prof
    print(json.dumps(out))


if __name__ == "__main__":
    main()
