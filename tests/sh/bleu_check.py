"""Corpus BLEU of hyp.txt against ref.txt, computed independently of lurn (tests/sh/test_bleu_python.sh).

    python3 bleu_check.py HYP REF [--lowercase]

prints two numbers: sacreBLEU's algorithm written again here (its 13a tokeniser's regular
expressions, exp smoothing, brevity penalty), then NLTK's corpus_bleu on the same 13a tokens
(weights 1/4 each, no smoothing; "nltk-missing" when NLTK is not installed).
"""
import math
import re
import sys
from collections import Counter

# sacrebleu/tokenizers/tokenizer_re.py and tokenizer_13a.py (sacreBLEU 2.x)
RULES = [
    (re.compile(r'([\{-\~\[-\` -\&\(-\+\:-\@\/])'), r' \1 '),
    (re.compile(r'([^0-9])([\.,])'), r'\1 \2 '),
    (re.compile(r'([\.,])([^0-9])'), r' \1 \2'),
    (re.compile(r'([0-9])(-)'), r'\1 \2 '),
]


def tok13a(line):
    line = line.replace('<skipped>', '').replace('-\n', '').replace('\n', ' ')
    if '&' in line:
        line = (line.replace('&quot;', '"').replace('&amp;', '&')
                .replace('&lt;', '<').replace('&gt;', '>'))
    line = ' ' + line + ' '
    for rx, repl in RULES:
        line = rx.sub(repl, line)
    return line.split()


def sacre_bleu(hyps, refs):
    correct, total = [0] * 4, [0] * 4
    sys_len = ref_len = 0
    for h, r in zip(hyps, refs):
        sys_len += len(h)
        ref_len += len(r)
        for n in range(1, 5):
            hc = Counter(tuple(h[i:i + n]) for i in range(len(h) - n + 1))
            rc = Counter(tuple(r[i:i + n]) for i in range(len(r) - n + 1))
            correct[n - 1] += sum(min(c, rc[g]) for g, c in hc.items())
            total[n - 1] += max(0, len(h) - n + 1)
    precisions = [0.0] * 4
    smooth = 1.0
    for n in range(4):
        if total[n] == 0:
            break
        if correct[n] == 0:
            smooth *= 2
            precisions[n] = 100.0 / (smooth * total[n])
        else:
            precisions[n] = 100.0 * correct[n] / total[n]
    bp = 1.0 if sys_len >= ref_len else (math.exp(1 - ref_len / sys_len) if sys_len else 0.0)
    if min(precisions) <= 0:
        return 0.0
    return bp * math.exp(sum(math.log(p) for p in precisions) / 4)


def main():
    hyp_path, ref_path = sys.argv[1], sys.argv[2]
    lower = '--lowercase' in sys.argv[3:]
    with open(hyp_path, encoding='utf-8') as f:
        hyps = f.read().split('\n')[:-1]
    with open(ref_path, encoding='utf-8') as f:
        refs = f.read().split('\n')[:-1]
    assert len(hyps) == len(refs), (len(hyps), len(refs))
    if lower:
        hyps, refs = [h.lower() for h in hyps], [r.lower() for r in refs]
    th, tr = [tok13a(h) for h in hyps], [tok13a(r) for r in refs]
    out = ['%.6f' % sacre_bleu(th, tr)]
    try:
        from nltk.translate.bleu_score import corpus_bleu
        out.append('%.6f' % (100 * corpus_bleu([[r] for r in tr], th, weights=(0.25,) * 4)))
    except ImportError:
        out.append('nltk-missing')
    print(' '.join(out))


main()
