/*
 * audio.h — the speech front end: WAV files in, feature frames out.
 *
 *   lurn_wav_parse / lurn_wav_read   RIFF/WAVE, PCM 8-bit (unsigned) or 16-bit
 *                                    (signed little-endian), any channel count
 *                                    1..8 (mixed down to mono), any rate from
 *                                    1 kHz to 1 MHz
 *   lurn_wav_write                   16-bit mono PCM (for generated audio)
 *   lurn_resample                    windowed-sinc band-limited resampling
 *   lurn_audio_features              log-mel filterbank or MFCC frames, with
 *                                    deltas, per-utterance normalisation and
 *                                    frame stacking
 *
 * The pipeline of lurn_audio_features, frame by frame (HTK/Kaldi conventions):
 *   pre-emphasis y[n] = x[n] - p x[n-1]; frames of `win` samples every `hop`
 *   (a signal shorter than one window is one zero-padded frame, else
 *   1 + (n - win) / hop frames); Hamming window; |FFT|^2 over n_fft points
 *   (zero-padded, a power of two >= win); triangular mel filters on the HTK
 *   mel scale m = 2595 log10(1 + f / 700), n_mels of them between fmin and
 *   fmax, weights taken at each FFT bin's frequency; log(max(e, 1e-10));
 *   MFCC: orthonormal DCT-II of the log-mel vector, the first n_mfcc
 *   coefficients. Deltas: d_t = sum_{k=1..2} k (c_{t+k} - c_{t-k}) / 10, the
 *   edges repeated; delta-deltas are deltas of the deltas. Normalisation:
 *   each feature dimension of the utterance to mean 0, standard deviation 1
 *   (a dimension with sd < 1e-5 is only centred). Stacking k: frames
 *   t*k .. t*k+k-1 concatenated into one step (the last partial group
 *   zero-padded), so a recurrent layer sees k times fewer steps.
 *
 * Errors never print: they fill the status. A WAV error names the file (the
 * `name` passed in) and what is wrong with it, e.g.
 *   "speech.wav: fmt chunk: 24-bit samples (lurn reads 8- and 16-bit PCM)".
 */
#ifndef LURN_AUDIO_H
#define LURN_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* Mono samples in [-1, 1) and what the file said. */
typedef struct lurn_audio {
  float *samples;      /* (frames) the channels' mean; malloc'ed */
  int64_t frames;
  int rate;            /* samples per second */
  int channels;        /* in the file */
  int bits;            /* 8 or 16, in the file */
} lurn_audio;

/* Parse a WAV file held in buf[0..n). `name` is used in error messages.
 * On success out owns new samples; on failure out is left empty. */
int lurn_wav_parse(lurn_audio *out, const unsigned char *buf, size_t n, const char *name,
                   lurn_status *st);
/* Read and parse the file at path. */
int lurn_wav_read(lurn_audio *out, const char *path, lurn_status *st);
/* Free the samples (idempotent). */
void lurn_audio_free(lurn_audio *a);
/* Write x[0..n) as 16-bit mono PCM at `rate` (values clipped to [-1, 1]),
 * through a temporary file renamed into place: never a half-written file. */
int lurn_wav_write(const char *path, const float *x, int64_t n, int rate, lurn_status *st);

/* The length lurn_resample gives for n samples: floor(n * to / from). */
int64_t lurn_resample_length(int64_t n, int from, int to);
/* Resample x[0..n) from `from` Hz to `to` Hz into y (lurn_resample_length
 * elements): y[i] = sum_k x[k] h(i from/to - k), h a Hann-windowed sinc low
 * pass at min(from, to)/2 with 16 zero crossings each side (at the lower
 * rate). Rates in 1..10^6. from == to copies. */
int lurn_resample(float *y, const float *x, int64_t n, int from, int to, lurn_status *st);

typedef struct lurn_feat_opts {
  int rate;            /* of the samples, Hz */
  int win, hop;        /* frame length and shift, samples */
  int n_fft;           /* 0: the smallest power of two >= win */
  double preemph;      /* 0..1 (0: none) */
  int n_mels;          /* mel filters, 1..256 */
  double fmin, fmax;   /* Hz; fmax <= 0 means rate / 2 */
  int n_mfcc;          /* 0: log-mel features; else 1..n_mels cepstra */
  int deltas;          /* 0, 1 (+ deltas) or 2 (+ deltas and delta-deltas) */
  int normalize;       /* per-utterance mean / variance normalisation */
  int stack;           /* frames per step, >= 1 */
} lurn_feat_opts;

/* Check o and give the output shape for n samples: steps and dims per step. */
int lurn_audio_features_shape(const lurn_feat_opts *o, int64_t n, int64_t *steps, int64_t *dims,
                        lurn_status *st);
/* Features of x[0..n) into out (steps * dims floats, row-major [steps, dims]). */
int lurn_audio_features(float *out, const float *x, int64_t n, const lurn_feat_opts *o,
                  lurn_status *st);

#endif
