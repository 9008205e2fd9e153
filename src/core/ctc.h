/*
 * ctc.h — connectionist temporal classification (Graves et al. 2006): the
 * loss and its gradient, and greedy and prefix-beam-search decoding.
 *
 * A sample's labels l_1..l_L (class ids, never the blank) extend to
 * l' = blank l_1 blank l_2 ... l_L blank (S' = 2L + 1 states). Over the
 * sample's first Tb steps, with y = log_softmax(logits):
 *   alpha_t(s) = y_t(l'_s) + log( alpha_{t-1}(s) + alpha_{t-1}(s-1)
 *                                [+ alpha_{t-1}(s-2) if l'_s != blank and l'_s != l'_{s-2}] )
 *   beta_t(s)  = y_t(l'_s) + log( beta_{t+1}(s) + beta_{t+1}(s+1)
 *                                [+ beta_{t+1}(s+2) if l'_s != blank and l'_s != l'_{s+2}] )
 * (both include step t's emission), all in log space; the loss is
 * -log p(l|x) = -log(alpha_{Tb-1}(S'-1) + alpha_{Tb-1}(S'-2)), and
 *   d loss / d logits_t(k) = softmax_t(k) - sum_{s: l'_s = k}
 *                            exp(alpha_t(s) + beta_t(s) - y_t(k) + loss).
 * A labelling that cannot fit in Tb steps (it needs L plus the number of
 * repeated neighbours) has loss +inf and a zero gradient. Steps t >= Tb get
 * a zero gradient. Sums run in double and in a fixed order.
 */
#ifndef LURN_CTC_H
#define LURN_CTC_H

#include <stdint.h>

#include "status.h"

/* logits (T, B, C) contiguous; targets (B, S) int32 (row b's first
 * tgt_len[b] entries are its labels); in_len, tgt_len (B).
 * loss (B): -log p(labels | x) per sample (+inf if impossible).
 * grad (T, B, C) or NULL: scale[b] * d loss_b / d logits (scale NULL: 1).
 * Every argument is checked first; labels must be in 0..C-1 and not blank. */
int lurn_ctc_loss(double *loss, float *grad, const float *logits, int64_t T, int64_t B,
                  int64_t C, const int32_t *targets, int64_t S, const int32_t *in_len,
                  const int32_t *tgt_len, int blank, const double *scale, lurn_status *st);

/* Greedy decoding of scores (T, C) (row t at scores + t * row_stride): the
 * best class per step, repeats merged, blanks dropped. out has room for T
 * labels; returns how many were written. */
int64_t lurn_ctc_greedy(int32_t *out, const float *scores, int64_t T, int64_t row_stride,
                        int64_t C, int blank);

/* Prefix beam search over logits (T, C) (rows as above; log_softmax is taken
 * here): keeps the `beam` most probable label prefixes, each with its
 * probability of ending in a blank and in a non-blank, merging the paths that
 * collapse to the same prefix. out has room for T labels; *out_len is set to
 * the best prefix's length and *logp to its log-probability. With a beam as
 * large as the number of prefixes it is exact (the most probable labelling). */
int lurn_ctc_beam(int32_t *out, int64_t *out_len, double *logp, const float *logits, int64_t T,
                  int64_t row_stride, int64_t C, int blank, int beam, lurn_status *st);

#endif
