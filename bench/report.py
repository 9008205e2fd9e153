#!/usr/bin/python3
"""bench/report.py — turn the benchmark's JSON lines into tables, JSON and CSV.

    report.py env                     print one JSON line describing the machine
    report.py report RAW.jsonl OUTDIR print the tables; write OUTDIR/results.json
                                      and OUTDIR/results.csv

RAW.jsonl holds one JSON object per line, written by bench/run.sh from
gemm_floor ("floor", "peak"), peer_torch.py ("torch"), lurn_bench.lua
("lurn"), the SST-2 epoch scripts ("sst2_torch", "sst2_lurn"), this script's
env mode ("env") and run.sh's failures ("error").

Derived numbers (per cell, size, threads, mode):
  flops     forward 2*G*H*(I+H)*B*T (G = 4 LSTM, 3 GRU, 1 RNN);
            a training step counts 3x forward
  GFLOP/s   flops / median time
  tokens/s  B*T / median time
  floor     floor_ms / side_ms: 1.0 means the side is as fast as its GEMMs alone
  peak      side GFLOP/s / BLIS square sgemm GFLOP/s (best of repeats) at the
            same thread count
  ratio     lurn_ms / torch_ms (below 1: lurn faster); speedup = torch / lurn
"""
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import time

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except Exception as e:  # noqa: BLE001 - environment facts are best effort
        return "unavailable (%s)" % e


def env_line():
    cpu = ""
    with open("/proc/cpuinfo") as f:
        info = {}
        for line in f:
            if ":" in line:
                k, v = line.split(":", 1)
                info.setdefault(k.strip(), v.strip())
    cpu = "%s (family %s, model %s, stepping %s)" % (
        info.get("model name", "?"), info.get("cpu family", "?"), info.get("model", "?"),
        info.get("stepping", "?"))
    flags = info.get("flags", "").split()
    return {
        "side": "env",
        "time": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "simd": " ".join(f for f in ("avx", "avx2", "fma", "avx512f") if f in flags),
        "hypervisor": "hypervisor" in flags,
        "kernel": platform.release(),
        "loadavg": open("/proc/loadavg").read().split()[:3],
        "libblas_alternative": os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3"),
        "torch_pkg": sh("dpkg-query -W -f='${Version}' python3-torch"),
        "blis_pkg": sh("dpkg-query -W -f='${Version}' libblis4-openmp"),
        "git_commit": sh("git -C '%s' rev-parse --short HEAD" %
                         os.path.dirname(os.path.abspath(__file__))),
    }


def flops(cell, B, T, I, H, mode):
    f = 2.0 * GATES[cell] * H * (I + H) * B * T
    return 3 * f if mode == "train" else f


def spread(xs):
    return min(xs), max(xs)


def fmt_ms(rec, mode):
    if not rec or (mode + "_ms") not in rec:
        return "n/a"
    xs = rec[mode + "_ms"]
    lo, hi = spread(xs)
    return "%.1f [%.1f-%.1f]" % (statistics.median(xs), lo, hi)


def f1(x, nd=1, pct=False):
    if x is None:
        return "-"
    return ("%.0f%%" % (100 * x)) if pct else ("%.*f" % (nd, x))


def report(raw, outdir):
    recs = []
    with open(raw) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                try:
                    recs.append(json.loads(line))
                except json.JSONDecodeError:
                    print("report: skipping a bad line: %s" % line[:80], file=sys.stderr)
    envs = [r for r in recs if r.get("side") == "env"]
    peaks = {}
    for r in recs:
        if r.get("side") == "peak":
            peaks.setdefault(r["threads"], []).append(r)
    peak_gf = {t: max(p["gflops_best"] for p in ps) for t, ps in peaks.items()}
    by = {}
    for r in recs:
        if r.get("side") in ("lurn", "torch", "floor"):
            key = (r["cell"], r["B"], r["T"], r["I"], r["H"], r["threads"])
            sides = by.setdefault(key, {})
            prev = sides.get(r["side"])
            if prev is None:
                sides[r["side"]] = dict(r)
            else:
                # another round of the same configuration (run.sh --rounds):
                # pool the repeats, keep the larger peak RSS
                for k, v in r.items():
                    if k.endswith("_ms") and isinstance(v, list):
                        prev[k] = prev.get(k, []) + v
                    elif k.endswith("_rss_mb") and isinstance(v, (int, float)):
                        prev[k] = max(prev.get(k, v), v)
    rows = []
    order = {"rnn": 0, "lstm": 1, "gru": 2}
    size_order = []
    for k in by:
        s = k[1:5]
        if s not in size_order:
            size_order.append(s)
    for key in sorted(by, key=lambda k: (size_order.index(k[1:5]), order.get(k[0], 9), k[5])):
        cell, B, T, I, H, thr = key
        sides = by[key]
        for mode in ("train", "infer"):
            fl = flops(cell, B, T, I, H, mode)
            row = {"cell": cell, "B": B, "T": T, "I": I, "H": H, "threads": thr, "mode": mode,
                   "gflop": fl / 1e9, "peak_gflops": peak_gf.get(thr)}
            for side in ("lurn", "torch", "floor"):
                r = sides.get(side)
                if r and (mode + "_ms") in r:
                    xs = r[mode + "_ms"]
                    med = statistics.median(xs)
                    row[side + "_ms"] = med
                    row[side + "_min_ms"], row[side + "_max_ms"] = spread(xs)
                    row[side + "_repeats"] = len(xs)
                    row[side + "_gflops"] = fl / med * 1e-6
                    row[side + "_tokens_s"] = B * T / med * 1e3
                    if r.get(mode + "_cpu_ms"):
                        row[side + "_cpu_ms"] = statistics.median(r[mode + "_cpu_ms"])
                    if (mode + "_rss_mb") in r:
                        row[side + "_rss_mb"] = r[mode + "_rss_mb"]
            for side in ("lurn", "torch"):
                if row.get(side + "_ms") and row.get("floor_ms"):
                    row[side + "_of_floor"] = row["floor_ms"] / row[side + "_ms"]
                if row.get(side + "_gflops") and row.get("peak_gflops"):
                    row[side + "_of_peak"] = row[side + "_gflops"] / row["peak_gflops"]
            if row.get("lurn_ms") and row.get("torch_ms"):
                row["ratio_lurn_torch"] = row["lurn_ms"] / row["torch_ms"]
                row["speedup"] = row["torch_ms"] / row["lurn_ms"]
            row["_recs"] = {s: by[key].get(s) for s in ("lurn", "torch")}
            rows.append(row)

    # ---- text report -------------------------------------------------------
    out = []
    if envs:
        e = envs[0]
        out.append("machine: %s, %s cores (%s)%s" % (e["cpu"], e["cores"], e["simd"],
                                                   ", virtualised" if e.get("hypervisor") else ""))
        out.append("load average at start: %s; at end: %s" % (
            " ".join(e["loadavg"]), " ".join(envs[-1]["loadavg"]) if len(envs) > 1 else "?"))
        out.append("python3-torch %s; libblas.so.3 -> %s" % (e["torch_pkg"],
                                                          e["libblas_alternative"]))
    loads = [r["loadavg"] for r in recs if r.get("side") == "load"]
    # The benchmark itself keeps up to `cores` threads busy, so a 1-minute
    # load above cores + 0.5 means other processes were competing.
    busy = (envs[0]["cores"] if envs and envs[0].get("cores") else 2) + 0.5
    if loads:
        out.append("1-min load average before each measurement: min %.2f, median %.2f, max %.2f"
                   "%s" % (min(loads), statistics.median(loads), max(loads),
                           "  (WARNING: other processes were competing for the cores)"
                           if statistics.median(loads) > busy else ""))
    lr = next((r for r in recs if r.get("side") == "lurn"), None)
    if lr:
        out.append("lurn: BLIS %s, kernels %s, OpenMP %s, build %s, api %s, optimizer %s" % (
            lr.get("blis"), lr.get("blis_arch"), lr.get("blis_openmp"), lr.get("build_type"),
            lr.get("api"), lr.get("optimizer")))
    kr = next((r for r in recs if r.get("side") == "kernels"), None)
    if kr:
        out.append("kernels: %s (BLIS_ARCH_TYPE=%s) for lurn, the GEMM floor and the peak: %s" % (
            kr.get("name"), kr.get("id"), kr.get("why")))
    for tb in (r for r in recs if r.get("side") == "torch_blas"):
        cal = tb.get("calibration_ms") or {}
        ch = tb.get("choice")
        if not cal or not isinstance(ch, dict):
            out.append("PyTorch BLAS at %s: %s (given with --torch-blas)" % (tb.get("size"), ch))
            continue
        out.append("PyTorch BLAS at %s (1-thread CPU ms, best of 2): %s" % (tb.get("size"), "; ".join(
            "%s %s (%s)" % (mode, ch.get(mode), ", ".join("%s %.1f" % (k, v) for k, v in sorted(
                cal.get(mode, {}).items(), key=lambda kv: kv[1]))) for mode in ("infer", "train"))))
    tr = next((r for r in recs if r.get("side") == "torch"), None)
    if tr:
        out.append("torch %s: BLAS mapped %s, BLIS_NUM_THREADS = torch threads, mkldnn %s, "
                   "optimizer %s" % (tr.get("torch_version"), ", ".join(tr.get("blas_libs", [])),
                                     tr.get("mkldnn_enabled"), tr.get("optimizer")))
    for t in sorted(peak_gf):
        out.append("BLIS square sgemm peak, %d thread%s: %.1f GFLOP/s (n=%s, best of repeats)" % (
            t, "s" if t > 1 else "", peak_gf[t], peaks[t][0]["n"]))
    out.append("")
    hdr = ("%-4s %-15s %1s %-5s | %-22s %-22s %8s | %5s | %6s %6s | %5s %5s | %5s %5s | "
           "%7s %7s | %6s %6s" % (
               "cell", "B,T,I,H", "t", "mode", "lurn ms med [min-max]",
               "torch ms med [min-max]", "floor ms", "speed", "GF/s l", "GF/s t",
               "flr l", "flr t", "pk l", "pk t", "ktok/s l", "ktok/s t", "RSS l", "RSS t"))
    out.append(hdr)
    out.append("-" * len(hdr))
    for r in rows:
        out.append("%-4s %-15s %1d %-5s | %-22s %-22s %8s | %5s | %6s %6s | %5s %5s | %5s %5s | "
                   "%7s %7s | %6s %6s" % (
                       r["cell"], "%d,%d,%d,%d" % (r["B"], r["T"], r["I"], r["H"]), r["threads"],
                       r["mode"], fmt_ms(r["_recs"]["lurn"], r["mode"]),
                       fmt_ms(r["_recs"]["torch"], r["mode"]), f1(r.get("floor_ms")),
                       (f1(r.get("speedup"), 2) + "x") if r.get("speedup") else "-",
                       f1(r.get("lurn_gflops")), f1(r.get("torch_gflops")),
                       f1(r.get("lurn_of_floor"), pct=True), f1(r.get("torch_of_floor"), pct=True),
                       f1(r.get("lurn_of_peak"), pct=True), f1(r.get("torch_of_peak"), pct=True),
                       f1(r["lurn_tokens_s"] / 1e3) if r.get("lurn_tokens_s") else "-",
                       f1(r["torch_tokens_s"] / 1e3) if r.get("torch_tokens_s") else "-",
                       f1(r.get("lurn_rss_mb"), 0), f1(r.get("torch_rss_mb"), 0)))
    out.append("")
    out.append("speed = torch ms / lurn ms (above 1: lurn faster); flr = floor ms / side ms "
               "(GEMMs alone); pk = GFLOP/s / square-sgemm peak at the same threads; "
               "RSS = peak resident MB of that side's process after its %s runs." % "infer/train")

    # ---- 1 thread by CPU time ---------------------------------------------------
    one = [r for r in rows if r["threads"] == 1 and r.get("lurn_cpu_ms")]
    if one:
        out.append("")
        out.append("1 thread, process CPU time (median ms; unlike wall time it does not grow "
                   "when other processes share the cores):")
        out.append("%-4s %-15s %-5s | %8s %8s %8s | %6s | %6s %6s" % (
            "cell", "B,T,I,H", "mode", "lurn", "torch", "floor", "speed", "flr l", "flr t"))
        for r in one:
            lc, tc, fc = r.get("lurn_cpu_ms"), r.get("torch_cpu_ms"), r.get("floor_cpu_ms")
            out.append("%-4s %-15s %-5s | %8s %8s %8s | %6s | %6s %6s" % (
                r["cell"], "%d,%d,%d,%d" % (r["B"], r["T"], r["I"], r["H"]), r["mode"],
                f1(lc), f1(tc), f1(fc), (f1(tc / lc, 2) + "x") if lc and tc else "-",
                f1(fc / lc, pct=True) if lc and fc else "-",
                f1(fc / tc, pct=True) if tc and fc else "-"))

    # ---- SST-2 ---------------------------------------------------------------
    sst = {}   # threads -> {"lurn": rec, "torch": rec}
    for r in recs:
        if r.get("side") in ("sst2_lurn", "sst2_torch"):
            sst.setdefault(r.get("threads"), {})[r["side"][5:]] = r
    if sst:
        out.append("")
        out.append("SST-2 training epoch (Embedding -> LSTM -> max-pool -> Linear, same batches):")
        for t in sorted(sst):
            for side in ("lurn", "torch"):
                r = sst[t].get(side)
                if r:
                    out.append("  t=%d %-5s %7.1f s wall %7.1f s cpu  %5d batches  %6.0f sent/s  "
                               "loss %.4f  RSS %4.0f MB  (%s)" % (
                                   t, side, r["epoch_s"], r.get("cpu_s", float("nan")),
                                   r["batches"], r["sentences"] / r["epoch_s"],
                                   r.get("mean_loss", float("nan")),
                                   r.get("rss_mb", float("nan")), r.get("config", "")))
                    if r.get("profile_s"):
                        out.append("        split (s): " + ", ".join(
                            "%s %.2f" % kv for kv in r["profile_s"].items()))
            if len(sst[t]) == 2:
                out.append("  t=%d speed (torch / lurn): %.2fx wall%s" % (
                    t, sst[t]["torch"]["epoch_s"] / sst[t]["lurn"]["epoch_s"],
                    (", %.2fx cpu" % (sst[t]["torch"]["cpu_s"] / sst[t]["lurn"]["cpu_s"]))
                    if t == 1 and sst[t]["lurn"].get("cpu_s") else ""))

    # ---- targets of issue 5 ------------------------------------------------
    out.append("")
    out.append("targets (issue 5, 2 threads):%s" % (
        "  -- UNRELIABLE: the median 1-minute load was %.1f on %s cores" % (
            statistics.median(loads), envs[0]["cores"] if envs else "?")
        if loads and statistics.median(loads) > busy else ""))
    targ = []

    def check(name, ok, detail):
        targ.append({"target": name, "met": ok, "detail": detail})
        out.append("  [%s] %s: %s" % ("n/a " if ok is None else ("met " if ok else "MISS"),
                                      name, detail))

    def sel(cell, mode, thr, H=None, I=None):
        return [r for r in rows if r["cell"] == cell and r["mode"] == mode and r["threads"] == thr
                and (H is None or r["H"] == H) and (I is None or r["I"] == I)]

    for cell in ("lstm", "gru"):
        rs = [r for r in sel(cell, "train", 2) if r.get("speedup")]
        check("%s train >= 1.25x torch at every size" % cell,
              all(r["speedup"] >= 1.25 for r in rs) if rs else None,
              ", ".join("H=%d %.2fx" % (r["H"], r["speedup"]) for r in rs) or "not measured")
        rs = [r for r in sel(cell, "infer", 2) if r.get("speedup")]
        check("%s inference >= 1.25x torch" % cell,
              all(r["speedup"] >= 1.25 for r in rs) if rs else None,
              ", ".join("H=%d %.2fx" % (r["H"], r["speedup"]) for r in rs) or "not measured")
    rs = [r for r in rows if r["threads"] == 2 and r["H"] == 512 and r.get("lurn_of_peak")
          and r["mode"] == "train"]
    check(">= 70% of square-sgemm peak at H=512 (training)",
          all(r["lurn_of_peak"] >= 0.7 for r in rs) if rs else None,
          ", ".join("%s %.0f%%" % (r["cell"], 100 * r["lurn_of_peak"]) for r in rs)
          or "not measured")
    rs = [r for r in rows if r["threads"] == 2 and r["H"] >= 256 and r.get("lurn_of_floor")
          and r["cell"] in ("lstm", "gru")]
    check("within 15% of the GEMM floor at the two larger sizes (lstm, gru)",
          all(r["lurn_ms"] <= 1.15 * r["floor_ms"] for r in rs) if rs else None,
          ", ".join("%s H=%d %s %+.0f%%" % (r["cell"], r["H"], r["mode"],
                                           100 * (r["lurn_ms"] / r["floor_ms"] - 1)) for r in rs)
          or "not measured")
    sc = []
    for r2 in [r for r in rows if r["threads"] == 2 and r["H"] == 512 and r.get("lurn_ms")]:
        r1 = [r for r in rows if r["threads"] == 1 and r["H"] == 512 and r["cell"] == r2["cell"]
              and r["mode"] == r2["mode"] and r.get("lurn_ms")]
        if r1:
            sc.append((r2, r1[0]["lurn_ms"] / r2["lurn_ms"]))
    check("2 threads >= 1.7x 1 thread at H=512", all(s >= 1.7 for _, s in sc) if sc else None,
          ", ".join("%s %s %.2fx" % (r["cell"], r["mode"], s) for r, s in sc) or "not measured")
    rs = [r for r in rows if r["threads"] == 2 and r["H"] == 512 and r.get("lurn_rss_mb")
          and r.get("torch_rss_mb")]
    check("peak RSS <= half of torch's at H=512",
          all(r["lurn_rss_mb"] <= 0.5 * r["torch_rss_mb"] for r in rs) if rs else None,
          ", ".join("%s %s %.0f/%.0f MB" % (r["cell"], r["mode"], r["lurn_rss_mb"],
                                           r["torch_rss_mb"]) for r in rs) or "not measured")
    s2 = sst.get(2, {})
    if len(s2) == 2:
        sp = s2["torch"]["epoch_s"] / s2["lurn"]["epoch_s"]
        check("SST-2 epoch >= 1.25x torch", sp >= 1.25, "%.2fx (%d batches)" % (
            sp, s2["lurn"]["batches"]))
    else:
        check("SST-2 epoch >= 1.25x torch", None, "not measured on both sides at 2 threads")
    # ---- targets of issue 13 -----------------------------------------------
    # At every size with B > 1, 2 threads: lurn >= 1.25x PyTorch and >= 95 % of the floor;
    # where the floor itself is under 1.25x PyTorch, lurn faster than the floor. Batch 1:
    # inference >= 1.25x at every thread count measured. Peak RSS <= half of PyTorch's.
    out.append("")
    out.append("targets (issue 13):")

    def check13(name, rs, ok_of, detail_of):
        if not rs:
            check(name, None, "not measured")
            return
        oks = [ok_of(r) for r in rs]
        check(name, all(oks), "%d of %d; %s" % (sum(oks), len(oks), ", ".join(
            ("" if ok else "MISS ") + detail_of(r) for r, ok in zip(rs, oks))))

    def size(r):
        return "%s %d,%d,%d,%d %s" % (r["cell"], r["B"], r["T"], r["I"], r["H"], r["mode"])

    def sized_ok(r):
        if r["torch_ms"] / r["floor_ms"] < 1.25:   # the floor under 1.25x PyTorch: beat it
            return r["lurn_ms"] <= r["floor_ms"]
        return r["speedup"] >= 1.25 and r["lurn_of_floor"] >= 0.95

    def sized_detail(r):
        rule = " (floor %.2fx torch: beat it)" % (r["torch_ms"] / r["floor_ms"]) \
            if r["torch_ms"] / r["floor_ms"] < 1.25 else ""
        return "%s %.2fx %.0f%%%s" % (size(r), r["speedup"], 100 * r["lurn_of_floor"], rule)

    check13("B > 1, 2 threads: >= 1.25x torch and >= 95% of the floor",
            [r for r in rows if r["threads"] == 2 and r["B"] > 1 and r.get("speedup")
             and r.get("floor_ms") and r.get("torch_ms")], sized_ok, sized_detail)
    check13("batch 1 inference >= 1.25x torch",
            [r for r in rows if r["B"] == 1 and r["mode"] == "infer" and r.get("speedup")],
            lambda r: r["speedup"] >= 1.25,
            lambda r: "%s t=%d %.2fx" % (size(r), r["threads"], r["speedup"]))
    check13("peak RSS <= half of torch's",
            [r for r in rows if r.get("lurn_rss_mb") and r.get("torch_rss_mb")],
            lambda r: r["lurn_rss_mb"] <= 0.5 * r["torch_rss_mb"],
            lambda r: "%s t=%d %.0f%%" % (size(r), r["threads"],
                                          100 * r["lurn_rss_mb"] / r["torch_rss_mb"]))
    if len(s2) == 2:
        sp = s2["torch"]["epoch_s"] / s2["lurn"]["epoch_s"]
        check("SST-2 epoch >= 1.5x torch (2 threads)", sp >= 1.5, "%.2fx" % sp)
    errs = [r for r in recs if r.get("side") == "error"]
    if errs:
        out.append("")
        out.append("failures during the run:")
        for r in errs:
            out.append("  %s: %s" % (r.get("what"), r.get("message", "")[:300]))
    text = "\n".join(out)
    print(text)

    os.makedirs(outdir, exist_ok=True)
    clean = [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump({"env": envs, "peak_gflops": peak_gf, "rows": clean,
                   "sst2": [r for d in sst.values() for r in d.values()], "targets": targ, "errors": errs,
                   "raw": recs}, f, indent=1)
    cols = ["cell", "B", "T", "I", "H", "threads", "mode", "gflop", "peak_gflops"]
    for side in ("lurn", "torch", "floor"):
        cols += [side + s for s in ("_ms", "_min_ms", "_max_ms", "_repeats", "_gflops",
                                    "_tokens_s", "_rss_mb")]
    cols += ["lurn_cpu_ms", "torch_cpu_ms", "floor_cpu_ms"]
    cols += ["lurn_of_floor", "torch_of_floor", "lurn_of_peak", "torch_of_peak",
             "ratio_lurn_torch", "speedup"]
    with open(os.path.join(outdir, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for r in clean:
            w.writerow(r)
    with open(os.path.join(outdir, "report.txt"), "w") as f:
        f.write(text + "\n")


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "env":
        print(json.dumps(env_line()))
    elif len(sys.argv) == 4 and sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
