/*
 * fuzz_wav.c — libFuzzer harness for the WAV reader (lurn_wav_parse,
 * src/core/audio.c): the code `lurn transcribe` and the speech task run on
 * files people record or download. Run by tests/fuzz/run.sh.
 *
 * The input is the file, as is. Properties checked beyond "no crash, no
 * sanitizer report":
 *   - a refusal names the file first ("fuzz.wav: ...") and never leaves
 *     samples behind;
 *   - an accepted file has 1..8 channels, 8 or 16 bits, a rate in
 *     10^3..10^6 Hz, at least one sample, and every sample in [-1, 1);
 *   - what it accepts goes through the rest of the front end the way the
 *     task uses it: resampled to 8 kHz, then MFCC + deltas features with
 *     normalisation and stacking, every value finite. (Long inputs are cut
 *     to 2^15 samples, and to 2^16 once resampled, so an iteration stays fast.)
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audio.h"

#define NAME "fuzz.wav"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lurn_audio a;
  lurn_status st = { 0, "" };
  int rc = lurn_wav_parse(&a, data, size, NAME, &st);
  if (rc != LURN_OK) {
    if (strncmp(st.msg, NAME ": ", strlen(NAME) + 2) != 0) abort();
    if (a.samples || a.frames) abort();
    return 0;
  }
  if (a.channels < 1 || a.channels > 8 || (a.bits != 8 && a.bits != 16) || a.rate < 1000 ||
      a.rate > 1000000 || a.frames < 1)
    abort();
  for (int64_t i = 0; i < a.frames; i++)
    if (!(a.samples[i] >= -1.0f && a.samples[i] < 1.0f)) abort();

  int64_t n = a.frames < (1 << 15) ? a.frames : (1 << 15);
  if (lurn_resample_length(n, a.rate, 8000) > (1 << 16)) n = (int64_t)(1 << 16) * a.rate / 8000;
  int64_t m = lurn_resample_length(n, a.rate, 8000);
  float *y = malloc(sizeof(float) * (size_t)(m ? m : 1));
  if (!y) abort();
  if (lurn_resample(y, a.samples, n, a.rate, 8000, &st) != LURN_OK) abort();
  for (int64_t i = 0; i < m; i++)
    if (!isfinite(y[i])) abort();
  lurn_feat_opts o = { .rate = 8000, .win = 200, .hop = 80, .n_fft = 0, .preemph = 0.97,
                       .n_mels = 40, .fmin = 20, .fmax = 0, .n_mfcc = 13, .deltas = 2,
                       .normalize = 1, .stack = 3 };
  int64_t steps, dims;
  if (lurn_audio_features_shape(&o, m, &steps, &dims, &st) != LURN_OK) abort();
  float *f = malloc(sizeof(float) * (size_t)(steps * dims));
  if (!f) abort();
  if (lurn_audio_features(f, y, m, &o, &st) != LURN_OK) abort();
  for (int64_t i = 0; i < steps * dims; i++)
    if (!isfinite(f[i])) abort();
  free(f);
  free(y);
  lurn_audio_free(&a);
  return 0;
}
