#!/usr/bin/python3
"""bench/peer_torch.py — the PyTorch side of the recurrent benchmark.

One configuration per process (so its peak RSS is its own):

    BLIS_NUM_THREADS=2 /usr/bin/python3 bench/peer_torch.py \
        --cell lstm --B 64 --T 100 --I 128 --H 256 --threads 2 --warmup 2 --repeats 7

prints one JSON line with the per-repeat times (ms) of

  infer  one inference forward of a one-layer nn.RNN/LSTM/GRU under
         torch.no_grad() in eval mode;
  train  one full training step: zero the gradients, forward, BPTT backward
         from a fixed upstream gradient dy over all outputs (x requires grad,
         so dX is computed, as it is under an embedding), plain SGD update
         (torch.optim.SGD, lr=1e-3, no momentum, no weight decay);

and the peak RSS (VmHWM) after the inference runs and after the training runs.
Inference runs first, so its peak is not masked by training's.

It also reports which BLAS library the process actually mapped (the file
behind libblas.so.3 after Debian's alternatives), the torch version and the
thread counts: PyTorch's speed here depends on all three.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch


def vm_hwm_mb():
    """Peak resident set size of this process so far, in MB (VmHWM)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def mapped_blas():
    """The BLAS/BLIS/OpenBLAS shared objects this process has mapped.

    /proc/self/maps names the file after symlinks (and so after the
    alternatives link) are resolved, so this is the library in use."""
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 6:
                continue
            path = parts[5]
            base = os.path.basename(path)
            if any(k in base for k in ("blas", "blis", "openblas", "mkl")):
                libs.add(path)
    return sorted(libs)


def make_model(cell, I, H):
    if cell == "rnn":
        return torch.nn.RNN(I, H, num_layers=1, nonlinearity="tanh")
    if cell == "lstm":
        return torch.nn.LSTM(I, H, num_layers=1)
    if cell == "gru":
        return torch.nn.GRU(I, H, num_layers=1)
    raise SystemExit("peer_torch: unknown cell %r (rnn, lstm, gru)" % cell)


def time_it(fn, warmup, repeats):
    """Wall ms and process CPU ms of each repeat (CPU time is robust to other
    processes on a 1-thread run; with more threads it includes spinning)."""
    for _ in range(warmup):
        fn()
    times, cpu = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    return times, cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cell", default="lstm")
    ap.add_argument("--B", type=int, default=64)
    ap.add_argument("--T", type=int, default=100)
    ap.add_argument("--I", type=int, default=128)
    ap.add_argument("--H", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--no-infer", action="store_true")
    ap.add_argument("--no-train", action="store_true")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    blis_env = os.environ.get("BLIS_NUM_THREADS")
    if blis_env is not None and int(blis_env) != a.threads:
        print("peer_torch: warning: BLIS_NUM_THREADS=%s but --threads %d" % (blis_env, a.threads),
              file=sys.stderr)

    model = make_model(a.cell, a.I, a.H)
    x = torch.randn(a.T, a.B, a.I)
    dy = torch.randn(a.T, a.B, a.H) * 0.01
    out = {
        "side": "torch", "cell": a.cell, "B": a.B, "T": a.T, "I": a.I, "H": a.H,
        "threads": a.threads, "warmup": a.warmup, "repeats": a.repeats,
        "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "blis_num_threads": blis_env,
        "mkldnn_enabled": bool(torch.backends.mkldnn.enabled),
        "optimizer": "torch.optim.SGD(lr=%g), no momentum" % a.lr,
    }

    if not a.no_infer:
        model.eval()

        def infer():
            with torch.no_grad():
                model(x)

        out["infer_ms"], out["infer_cpu_ms"] = time_it(infer, a.warmup, a.repeats)
        out["infer_rss_mb"] = vm_hwm_mb()

    if not a.no_train:
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=a.lr)
        xg = x.clone().requires_grad_(True)

        def train():
            opt.zero_grad(set_to_none=False)
            xg.grad = None
            y, _ = model(xg)
            y.backward(dy)
            opt.step()

        out["train_ms"], out["train_cpu_ms"] = time_it(train, a.warmup, a.repeats)
        out["train_rss_mb"] = vm_hwm_mb()

    out["blas_libs"] = mapped_blas()
    for k in ("infer_ms", "train_ms"):
        if k in out:
            out[k.replace("_ms", "_median_ms")] = statistics.median(out[k])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
