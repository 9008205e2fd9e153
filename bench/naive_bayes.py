#!/usr/bin/env python3
"""bench/naive_bayes.py — a binarized multinomial naive Bayes on fastText-format files.

    python3 bench/naive_bayes.py TRAIN.ft VALID.ft [--ngrams 2] [--alpha 1]

The baseline of issue 10 (and of ../shared/datasets/README.md): each document is the set of
its word n-grams up to --ngrams (every feature counted once per document), class-conditional
feature counts with add-alpha smoothing, class priors from the training counts. Prints the
accuracy on VALID. bench/fasttext.sh --nb runs it on the splits it writes.
"""
import math, sys, argparse
from collections import Counter

def docs(path, n):
    for line in open(path, encoding="utf-8"):
        parts = line.split()
        if not parts:
            continue
        label, toks = parts[0], parts[1:]
        feats = set(toks)
        for k in range(2, n + 1):
            feats.update(" ".join(toks[i:i + k]) for i in range(len(toks) - k + 1))
        yield label, feats

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train"); ap.add_argument("valid")
    ap.add_argument("--ngrams", type=int, default=2); ap.add_argument("--alpha", type=float, default=1.0)
    a = ap.parse_args()
    counts, totals, prior, vocab = {}, Counter(), Counter(), set()
    for label, feats in docs(a.train, a.ngrams):
        prior[label] += 1
        c = counts.setdefault(label, Counter())
        c.update(feats); totals[label] += len(feats); vocab.update(feats)
    V, N = len(vocab), sum(prior.values())
    right = total = 0
    for label, feats in docs(a.valid, a.ngrams):
        best, best_score = None, -math.inf
        for y in sorted(prior):
            denom = totals[y] + a.alpha * V
            s = math.log(prior[y] / N) + sum(math.log((counts[y][f] + a.alpha) / denom)
                                             for f in feats if f in vocab)
            if s > best_score:
                best, best_score = y, s
        right += best == label; total += 1
    print("accuracy %.4f" % (right / total))

if __name__ == "__main__":
    main()
