/*
 * ctc.c — CTC loss, gradient and decoding (definitions in ctc.h).
 *
 * Memory: the loss keeps log_softmax (Tb, C) and alpha, beta (Tb, S') in
 * doubles per sample, allocated once for the largest sample. The beam search
 * keeps two generations of at most beam * C + beam candidates, each with its
 * own prefix buffer of T labels, and a hash index of them that is cleared
 * every step, so merging equal prefixes costs O(1) per candidate.
 */
#include "ctc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double lse2(double a, double b) {
  if (a == -INFINITY) return b;
  if (b == -INFINITY) return a;
  return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

/* y[c] = log_softmax(x)[c] for one row. */
static void log_softmax_row(double *y, const float *x, int64_t C) {
  double m = x[0];
  for (int64_t c = 1; c < C; c++) m = x[c] > m ? x[c] : m;
  double s = 0;
  for (int64_t c = 0; c < C; c++) s += exp((double)x[c] - m);
  double lz = m + log(s);
  for (int64_t c = 0; c < C; c++) y[c] = (double)x[c] - lz;
}

int lurn_ctc_loss(double *loss, float *grad, const float *logits, int64_t T, int64_t B,
                  int64_t C, const int32_t *targets, int64_t S, const int32_t *in_len,
                  const int32_t *tgt_len, int blank, const double *scale, lurn_status *st) {
  if (T < 0 || B < 0 || C < 1 || S < 0)
    return lurn_fail(st, LURN_ESHAPE, "ctc_loss: logits [%lld,%lld,%lld] with %lld target columns",
                     (long long)T, (long long)B, (long long)C, (long long)S);
  if (blank < 0 || blank >= C)
    return lurn_fail(st, LURN_EARG, "ctc_loss: blank %d is not a class of %lld", blank,
                     (long long)C);
  int64_t maxT = 0, maxS = 0;
  for (int64_t b = 0; b < B; b++) {
    if (in_len[b] < 0 || in_len[b] > T)
      return lurn_fail(st, LURN_EARG, "ctc_loss: input length %d of sample %lld is outside "
                       "0..%lld", in_len[b], (long long)b + 1, (long long)T);
    if (tgt_len[b] < 0 || tgt_len[b] > S)
      return lurn_fail(st, LURN_EARG, "ctc_loss: target length %d of sample %lld is outside "
                       "0..%lld", tgt_len[b], (long long)b + 1, (long long)S);
    for (int32_t i = 0; i < tgt_len[b]; i++) {
      int32_t l = targets[b * S + i];
      if (l < 0 || l >= C || l == blank)
        return lurn_fail(st, LURN_EARG, "ctc_loss: label %d at position %d of sample %lld is "
                         "%s", l, i + 1, (long long)b + 1,
                         l == blank ? "the blank" : "not a class");
    }
    maxT = in_len[b] > maxT ? in_len[b] : maxT;
    maxS = tgt_len[b] > maxS ? tgt_len[b] : maxS;
  }
  if (grad) memset(grad, 0, sizeof(float) * (size_t)(T * B * C));
  int64_t Sp = 2 * maxS + 1;
  size_t nt = (size_t)(maxT ? maxT : 1);
  double *y = malloc(sizeof(double) * nt * (size_t)C);            /* (Tb, C) */
  double *alpha = malloc(sizeof(double) * nt * (size_t)Sp);       /* (Tb, S') */
  double *beta = malloc(sizeof(double) * nt * (size_t)Sp);        /* (Tb, S') */
  int32_t *lab = malloc(sizeof(int32_t) * (size_t)Sp);             /* l' */
  if (!y || !alpha || !beta || !lab) {
    free(y); free(alpha); free(beta); free(lab);
    return lurn_fail(st, LURN_ENOMEM, "ctc_loss: out of memory");
  }
  for (int64_t b = 0; b < B; b++) {
    int64_t Tb = in_len[b], L = tgt_len[b], Sb = 2 * L + 1;
    if (Tb == 0) {   /* nothing to emit: only the empty labelling has probability 1 */
      loss[b] = L == 0 ? 0.0 : INFINITY;
      continue;
    }
    for (int64_t s = 0; s < Sb; s++) lab[s] = (s & 1) ? targets[b * S + (s - 1) / 2] : blank;
    for (int64_t t = 0; t < Tb; t++) log_softmax_row(y + t * C, logits + (t * B + b) * C, C);
    for (int64_t s = 0; s < Sb; s++) alpha[s] = -INFINITY;
    alpha[0] = y[blank];
    if (Sb > 1) alpha[1] = y[lab[1]];
    for (int64_t t = 1; t < Tb; t++) {
      double *a = alpha + t * Sp, *ap = alpha + (t - 1) * Sp;
      for (int64_t s = 0; s < Sb; s++) {
        double v = ap[s];
        if (s >= 1) v = lse2(v, ap[s - 1]);
        if (s >= 2 && lab[s] != blank && lab[s] != lab[s - 2]) v = lse2(v, ap[s - 2]);
        a[s] = v == -INFINITY ? v : v + y[t * C + lab[s]];
      }
    }
    double *al = alpha + (Tb - 1) * Sp;
    double lz = Sb > 1 ? lse2(al[Sb - 1], al[Sb - 2]) : al[0];
    if (lz == -INFINITY) {
      loss[b] = INFINITY;
      continue;
    }
    loss[b] = -lz;
    if (!grad) continue;
    double *bl = beta + (Tb - 1) * Sp;
    for (int64_t s = 0; s < Sb; s++) bl[s] = -INFINITY;
    bl[Sb - 1] = y[(Tb - 1) * C + lab[Sb - 1]];
    if (Sb > 1) bl[Sb - 2] = y[(Tb - 1) * C + lab[Sb - 2]];
    for (int64_t t = Tb - 2; t >= 0; t--) {
      double *be = beta + t * Sp, *bn = beta + (t + 1) * Sp;
      for (int64_t s = 0; s < Sb; s++) {
        double v = bn[s];
        if (s + 1 < Sb) v = lse2(v, bn[s + 1]);
        if (s + 2 < Sb && lab[s] != blank && lab[s] != lab[s + 2]) v = lse2(v, bn[s + 2]);
        be[s] = v == -INFINITY ? v : v + y[t * C + lab[s]];
      }
    }
    double sc = scale ? scale[b] : 1.0;
    for (int64_t t = 0; t < Tb; t++) {
      float *g = grad + (t * B + b) * C;
      const double *yt = y + t * C, *a = alpha + t * Sp, *be = beta + t * Sp;
      /* softmax minus the occupancy of each class, summed over the states
       * that emit it */
      for (int64_t c = 0; c < C; c++) g[c] = (float)(sc * exp(yt[c]));
      for (int64_t s = 0; s < Sb; s++) {
        double v = a[s] + be[s];
        if (v == -INFINITY) continue;
        g[lab[s]] -= (float)(sc * exp(v - yt[lab[s]] - lz));
      }
    }
  }
  free(y); free(alpha); free(beta); free(lab);
  return LURN_OK;
}

int64_t lurn_ctc_greedy(int32_t *out, const float *scores, int64_t T, int64_t row_stride,
                        int64_t C, int blank) {
  int64_t n = 0;
  int32_t prev = -1;
  for (int64_t t = 0; t < T; t++) {
    const float *r = scores + t * row_stride;
    int32_t best = 0;
    for (int64_t c = 1; c < C; c++)
      if (r[c] > r[best]) best = (int32_t)c;
    if (best != blank && best != prev) out[n++] = best;
    prev = best;
  }
  return n;
}

/* ---- prefix beam search ------------------------------------------------------ */

typedef struct cand {
  int32_t *prefix;   /* (T) */
  int64_t len;
  uint64_t hash;
  double pb, pnb;    /* log P(prefix, ending in blank / in its last label) */
} cand;

static double total(const cand *c) { return lse2(c->pb, c->pnb); }

static uint64_t hash_ext(uint64_t h, int32_t c) {
  h ^= (uint64_t)(uint32_t)c + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdULL;
}

static int by_total(const void *a, const void *b) {
  const cand *x = a, *y = b;
  double tx = total(x), ty = total(y);
  if (tx != ty) return tx > ty ? -1 : 1;
  /* equal scores: shorter first, then by labels, so the order is fixed */
  if (x->len != y->len) return x->len < y->len ? -1 : 1;
  for (int64_t i = 0; i < x->len; i++)
    if (x->prefix[i] != y->prefix[i]) return x->prefix[i] < y->prefix[i] ? -1 : 1;
  return 0;
}

int lurn_ctc_beam(int32_t *out, int64_t *out_len, double *logp, const float *logits, int64_t T,
                  int64_t row_stride, int64_t C, int blank, int beam, lurn_status *st) {
  if (C < 1 || blank < 0 || blank >= C)
    return lurn_fail(st, LURN_EARG, "ctc_beam: blank %d is not a class of %lld", blank,
                     (long long)C);
  if (beam < 1 || beam > 4096)
    return lurn_fail(st, LURN_EARG, "ctc_beam: beam %d (1 to 4096 expected)", beam);
  if (T < 0) return lurn_fail(st, LURN_EARG, "ctc_beam: %lld steps", (long long)T);
  int64_t ncap = (int64_t)beam * C + beam;   /* candidates one step can make */
  size_t plen = (size_t)(T ? T : 1);
  int64_t hcap = 16;
  while (hcap < 2 * ncap) hcap *= 2;
  cand *cur = calloc((size_t)ncap, sizeof *cur), *next = calloc((size_t)ncap, sizeof *next);
  int32_t *pool = malloc(sizeof(int32_t) * plen * (size_t)ncap * 2);
  int64_t *index = malloc(sizeof(int64_t) * (size_t)hcap);
  double *y = malloc(sizeof(double) * (size_t)C);
  if (!cur || !next || !pool || !index || !y) {
    free(cur); free(next); free(pool); free(index); free(y);
    return lurn_fail(st, LURN_ENOMEM, "ctc_beam: out of memory");
  }
  for (int64_t i = 0; i < ncap; i++) {
    cur[i].prefix = pool + (size_t)i * plen;
    next[i].prefix = pool + (size_t)(ncap + i) * plen;
  }
  int64_t ncur = 1;
  cur[0].len = 0;
  cur[0].hash = 0x243f6a8885a308d3ULL;
  cur[0].pb = 0;
  cur[0].pnb = -INFINITY;
  for (int64_t t = 0; t < T; t++) {
    log_softmax_row(y, logits + t * row_stride, C);
    int64_t nn = 0;
    for (int64_t h = 0; h < hcap; h++) index[h] = -1;
    /* the candidate with `len` labels (src's prefix plus c if c >= 0), found
     * or added */
    #define FIND(src, c, out_ptr) do {                                              \
        uint64_t hh = (c) >= 0 ? hash_ext((src)->hash, (c)) : (src)->hash;           \
        int64_t ln = (src)->len + ((c) >= 0);                                       \
        int64_t slot = (int64_t)(hh & (uint64_t)(hcap - 1));                        \
        cand *found = NULL;                                                         \
        while (index[slot] >= 0) {                                                  \
          cand *q = next + index[slot];                                             \
          if (q->hash == hh && q->len == ln &&                                      \
              memcmp(q->prefix, (src)->prefix, sizeof(int32_t) * (size_t)(src)->len) == 0 && \
              ((c) < 0 || q->prefix[ln - 1] == (c))) { found = q; break; }          \
          slot = (slot + 1) & (hcap - 1);                                           \
        }                                                                           \
        if (!found) {                                                               \
          found = next + nn;                                                        \
          index[slot] = nn++;                                                       \
          memcpy(found->prefix, (src)->prefix, sizeof(int32_t) * (size_t)(src)->len); \
          if ((c) >= 0) found->prefix[ln - 1] = (c);                                \
          found->len = ln; found->hash = hh;                                        \
          found->pb = -INFINITY; found->pnb = -INFINITY;                            \
        }                                                                           \
        (out_ptr) = found;                                                          \
      } while (0)
    for (int64_t i = 0; i < ncur; i++) {
      const cand *p = cur + i;
      double tot = total(p);
      cand *q;
      /* the same prefix: a blank, or the last label repeated (merged) */
      FIND(p, -1, q);
      q->pb = lse2(q->pb, tot + y[blank]);
      if (p->len > 0) {
        int32_t last = p->prefix[p->len - 1];
        q->pnb = lse2(q->pnb, p->pnb + y[last]);
      }
      for (int64_t c = 0; c < C; c++) {
        if (c == blank) continue;
        FIND(p, (int32_t)c, q);
        /* after the same label, a new copy needs a blank in between */
        int same = p->len > 0 && p->prefix[p->len - 1] == c;
        q->pnb = lse2(q->pnb, (same ? p->pb : tot) + y[c]);
      }
    }
    #undef FIND
    qsort(next, (size_t)nn, sizeof *next, by_total);
    ncur = nn < beam ? nn : beam;
    cand *tmp = cur;
    cur = next;
    next = tmp;
  }
  /* cur is sorted (or the single empty prefix when T = 0) */
  memcpy(out, cur[0].prefix, sizeof(int32_t) * (size_t)cur[0].len);
  *out_len = cur[0].len;
  *logp = total(&cur[0]);
  free(cur); free(next); free(pool); free(index); free(y);
  return LURN_OK;
}
