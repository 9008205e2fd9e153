#!/usr/bin/python3
"""bench/seq2seq_torch.py — PyTorch's side of bench/seq2seq.sh: the same model and step as
bench/seq2seq.lua (lurn's nn.Seq2Seq, configs/multi30k.lua's architecture).

    /usr/bin/python3 bench/seq2seq_torch.py B S T SRC_VOCAB TGT_VOCAB EMBED HIDDEN STEPS WARMUP THREADS

Encoder: embedding, bidirectional GRU; bridge h0 = tanh(W [h_fwd; h_bwd] + b). Decoder per
step: x = [embedding; previous attentional output], GRUCell, additive attention
v . tanh(W_q h + W_m m + b) over the encoder outputs, o = tanh(W_c [context; h] + b), dropout
0.3 on the embeddings and o, logits = W_o o + b. Label-smoothed (0.1) cross-entropy, Adam,
gradient clipping at 1. Prints "torch <target tokens per second> <seconds per step>".
"""
import sys
import time

import torch
import torch.nn as tnn
import torch.nn.functional as F

B, S, T, VS, VT, E, H, STEPS, WARM, THREADS = (int(a) for a in sys.argv[1:11])
torch.set_num_threads(THREADS)
torch.manual_seed(1)


class Seq2Seq(tnn.Module):
    def __init__(self):
        super().__init__()
        self.src_embed = tnn.Embedding(VS, E, padding_idx=0)
        self.encoder = tnn.GRU(E, H, bidirectional=True)
        self.bridge = tnn.Linear(2 * H, H)
        self.tgt_embed = tnn.Embedding(VT, E, padding_idx=0)
        self.cell = tnn.GRUCell(E + H, H)
        self.att_q = tnn.Linear(H, H, bias=False)
        self.att_m = tnn.Linear(2 * H, H)
        self.att_v = tnn.Linear(H, 1, bias=False)
        self.combine = tnn.Linear(2 * H + H, H)
        self.generator = tnn.Linear(H, VT)
        self.drop = tnn.Dropout(0.3)

    def forward(self, src, tgt_in):
        mem, h_n = self.encoder(self.drop(self.src_embed(src)))          # [S, B, 2H]
        h = torch.tanh(self.bridge(torch.cat([h_n[0], h_n[1]], 1)))
        kp = self.att_m(mem)                                              # [S, B, A]
        emb = self.drop(self.tgt_embed(tgt_in))
        feed = torch.zeros(src.size(1), H)
        outs = []
        for t in range(tgt_in.size(0)):
            h = self.cell(torch.cat([emb[t], feed], 1), h)
            s = self.att_v(torch.tanh(kp + self.att_q(h).unsqueeze(0))).squeeze(2)   # [S, B]
            a = F.softmax(s, 0)
            ctx = (a.unsqueeze(2) * mem).sum(0)
            feed = self.drop(torch.tanh(self.combine(torch.cat([ctx, h], 1))))
            outs.append(feed)
        return self.generator(torch.stack(outs))                          # [T, B, V]


m = Seq2Seq()
opt = torch.optim.Adam(m.parameters(), lr=1e-3)
src = torch.randint(4, VS, (S, B))
tgt_in = torch.randint(4, VT, (T, B))
targets = torch.randint(4, VT, (T, B))


def step():
    logits = m(src, tgt_in)
    loss = F.cross_entropy(logits.view(-1, VT), targets.view(-1), label_smoothing=0.1)
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    opt.step()


for _ in range(WARM):
    step()
t0 = time.perf_counter()
for _ in range(STEPS):
    step()
dt = (time.perf_counter() - t0) / STEPS
print("torch %.1f %.4f" % (B * T / dt, dt))
