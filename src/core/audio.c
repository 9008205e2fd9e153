/*
 * audio.c — WAV reading and writing, resampling, log-mel and MFCC features
 * (see audio.h for the definitions every function follows).
 *
 * The reader trusts nothing in the file: every chunk size is checked against
 * the bytes that are left before anything is read through it, and every
 * field of the fmt chunk is checked before a sample is converted, so a
 * hostile header ends in an error that names the file and the field
 * (tests/fuzz/fuzz_wav.c drives it with ASan/UBSan).
 *
 * Features are computed in double precision and stored as float: the
 * reference in tests/lua/test_audio.lua (a naive DFT, explicit sums) agrees
 * to 1e-4 only if rounding here stays far below that.
 */
#define _POSIX_C_SOURCE 200809L
#include "audio.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* A WAV file lurn reads whole; larger is refused rather than half-read. */
#define WAV_MAX_BYTES ((size_t)1 << 31)
#define MAX_RATE 1000000
#define MIN_WAV_RATE 1000

void lurn_audio_free(lurn_audio *a) {
  if (!a) return;
  free(a->samples);
  memset(a, 0, sizeof *a);
}

static uint32_t u32le(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static unsigned u16le(const unsigned char *p) { return (unsigned)p[0] | (unsigned)p[1] << 8; }

/* A chunk id for messages: printable ASCII as is, anything else as '?'. */
static void id_str(char out[5], const unsigned char *p) {
  for (int i = 0; i < 4; i++) out[i] = (p[i] >= 32 && p[i] < 127) ? (char)p[i] : '?';
  out[4] = 0;
}

int lurn_wav_parse(lurn_audio *out, const unsigned char *buf, size_t n, const char *name,
                   lurn_status *st) {
  memset(out, 0, sizeof *out);
  if (!name) name = "(wav)";
  if (n < 12) return lurn_fail(st, LURN_EFORMAT, "%s: not a WAV file (%zu bytes, shorter than "
                               "a RIFF header)", name, n);
  if (memcmp(buf, "RIFX", 4) == 0)
    return lurn_fail(st, LURN_EFORMAT, "%s: big-endian RIFX file (lurn reads little-endian "
                     "RIFF/WAVE)", name);
  if (memcmp(buf, "RIFF", 4) != 0)
    return lurn_fail(st, LURN_EFORMAT, "%s: not a WAV file (no RIFF header)", name);
  if (memcmp(buf + 8, "WAVE", 4) != 0) {
    char id[5];
    id_str(id, buf + 8);
    return lurn_fail(st, LURN_EFORMAT, "%s: a RIFF file of type '%s', not WAVE", name, id);
  }
  const unsigned char *fmt = NULL, *data = NULL;
  size_t fmt_size = 0, data_size = 0;
  size_t pos = 12;
  while (pos + 8 <= n) {
    const unsigned char *c = buf + pos;
    size_t size = u32le(c + 4), left = n - pos - 8;
    char id[5];
    id_str(id, c);
    if (size > left) {
      /* A data chunk that runs past the end is what a cut download looks
       * like: say so rather than read garbage. */
      return lurn_fail(st, LURN_EFORMAT, "%s: '%s' chunk at byte %zu claims %zu bytes, only %zu "
                       "follow (truncated file?)", name, id, pos + 1, size, left);
    }
    if (memcmp(c, "fmt ", 4) == 0 && !fmt) {
      fmt = c + 8;
      fmt_size = size;
    } else if (memcmp(c, "data", 4) == 0 && !data) {
      data = c + 8;
      data_size = size;
    }
    pos += 8 + size + (size & 1);   /* chunks are padded to even sizes */
  }
  if (!fmt) return lurn_fail(st, LURN_EFORMAT, "%s: no fmt chunk", name);
  if (fmt_size < 16)
    return lurn_fail(st, LURN_EFORMAT, "%s: fmt chunk of %zu bytes (at least 16 expected)", name,
                     fmt_size);
  unsigned tag = u16le(fmt), channels = u16le(fmt + 2), bits = u16le(fmt + 14);
  unsigned align = u16le(fmt + 12);
  uint32_t rate = u32le(fmt + 4);
  if (tag == 0xFFFE) {   /* WAVE_FORMAT_EXTENSIBLE: the real tag opens the sub-format GUID */
    if (fmt_size < 40)
      return lurn_fail(st, LURN_EFORMAT, "%s: fmt chunk: extensible format in %zu bytes (40 "
                       "expected)", name, fmt_size);
    tag = u16le(fmt + 24);
  }
  if (tag == 3)
    return lurn_fail(st, LURN_EFORMAT, "%s: fmt chunk: IEEE float samples (lurn reads 8- and "
                     "16-bit PCM)", name);
  if (tag != 1)
    return lurn_fail(st, LURN_EFORMAT, "%s: fmt chunk: format tag 0x%04x, not PCM (1)", name, tag);
  if (channels < 1 || channels > 8)
    return lurn_fail(st, LURN_EFORMAT, "%s: fmt chunk: %u channels (1 to 8 expected)", name,
                     channels);
  /* Below 1 kHz no speech survives, and resampling such a file to a speech
   * rate would multiply its length (a hostile header could ask for
   * gigabytes): refused. */
  if (rate < MIN_WAV_RATE || rate > MAX_RATE)
    return lurn_fail(st, LURN_EFORMAT, "%s: fmt chunk: sample rate %u Hz (%d to %d expected)",
                     name, (unsigned)rate, MIN_WAV_RATE, MAX_RATE);
  if (bits != 8 && bits != 16)
    return lurn_fail(st, LURN_EFORMAT, "%s: fmt chunk: %u-bit samples (lurn reads 8- and 16-bit "
                     "PCM)", name, bits);
  unsigned frame_bytes = channels * bits / 8;
  if (align != frame_bytes)
    return lurn_fail(st, LURN_EFORMAT, "%s: fmt chunk: block align %u, but %u channel(s) of %u "
                     "bits take %u bytes", name, align, channels, bits, frame_bytes);
  if (!data) return lurn_fail(st, LURN_EFORMAT, "%s: no data chunk", name);
  if (data_size % frame_bytes != 0)
    return lurn_fail(st, LURN_EFORMAT, "%s: data chunk of %zu bytes is not a whole number of "
                     "%u-byte frames", name, data_size, frame_bytes);
  size_t frames = data_size / frame_bytes;
  if (frames == 0) return lurn_fail(st, LURN_EFORMAT, "%s: data chunk holds no samples", name);
  float *x = malloc(frames * sizeof *x);
  if (!x) return lurn_fail(st, LURN_ENOMEM, "%s: out of memory for %zu samples", name, frames);
  const unsigned char *p = data;
  for (size_t i = 0; i < frames; i++) {
    double sum = 0;
    for (unsigned ch = 0; ch < channels; ch++) {
      if (bits == 8) {
        sum += ((double)*p - 128.0) / 128.0;   /* 8-bit PCM is unsigned, 128 = silence */
        p += 1;
      } else {
        int v = (int)u16le(p);
        if (v >= 32768) v -= 65536;
        sum += v / 32768.0;
        p += 2;
      }
    }
    x[i] = (float)(sum / channels);
  }
  out->samples = x;
  out->frames = (int64_t)frames;
  out->rate = (int)rate;
  out->channels = (int)channels;
  out->bits = (int)bits;
  return LURN_OK;
}

int lurn_wav_read(lurn_audio *out, const char *path, lurn_status *st) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (!f) return lurn_fail(st, LURN_EIO, "%s: cannot open (%s)", path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  unsigned char *buf = malloc(cap);
  if (!buf) {
    fclose(f);
    return lurn_fail(st, LURN_ENOMEM, "%s: out of memory", path);
  }
  for (;;) {
    if (n == cap) {
      if (cap >= WAV_MAX_BYTES) {
        free(buf);
        fclose(f);
        return lurn_fail(st, LURN_EFORMAT, "%s: larger than %zu bytes (lurn reads WAV files "
                         "whole)", path, WAV_MAX_BYTES);
      }
      unsigned char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        fclose(f);
        return lurn_fail(st, LURN_ENOMEM, "%s: out of memory", path);
      }
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  int err = ferror(f);
  fclose(f);
  if (err) {
    free(buf);
    return lurn_fail(st, LURN_EIO, "%s: read error", path);
  }
  int rc = lurn_wav_parse(out, buf, n, path, st);
  free(buf);
  return rc;
}

static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put16(unsigned char *p, unsigned v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
}

int lurn_wav_write(const char *path, const float *x, int64_t n, int rate, lurn_status *st) {
  if (n < 0 || (uint64_t)n > (UINT32_MAX - 44) / 2)
    return lurn_fail(st, LURN_EARG, "wav_write: %lld samples do not fit a WAV file",
                     (long long)n);
  if (rate < 1 || rate > MAX_RATE)
    return lurn_fail(st, LURN_EARG, "wav_write: sample rate %d Hz (1 to %d expected)", rate,
                     MAX_RATE);
  size_t bytes = 44 + (size_t)n * 2;
  unsigned char *b = malloc(bytes);
  if (!b) return lurn_fail(st, LURN_ENOMEM, "wav_write: out of memory");
  memcpy(b, "RIFF", 4);
  put32(b + 4, (uint32_t)(bytes - 8));
  memcpy(b + 8, "WAVEfmt ", 8);
  put32(b + 16, 16);
  put16(b + 20, 1);
  put16(b + 22, 1);
  put32(b + 24, (uint32_t)rate);
  put32(b + 28, (uint32_t)rate * 2);
  put16(b + 32, 2);
  put16(b + 34, 16);
  memcpy(b + 36, "data", 4);
  put32(b + 40, (uint32_t)(n * 2));
  for (int64_t i = 0; i < n; i++) {
    double v = x[i];
    if (!(v == v)) v = 0;   /* NaN: silence rather than an undefined conversion */
    v = v * 32768.0;
    v = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    long s = lround(v);
    put16(b + 44 + 2 * i, (unsigned)(s & 0xFFFF));
  }
  size_t plen = strlen(path);
  char *tmp = malloc(plen + 32);
  if (!tmp) {
    free(b);
    return lurn_fail(st, LURN_ENOMEM, "wav_write: out of memory");
  }
  snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  int rc = LURN_OK;
  if (!f) {
    rc = lurn_fail(st, LURN_EIO, "%s: cannot write (%s)", path, strerror(errno));
  } else {
    size_t w = fwrite(b, 1, bytes, f);
    int bad = w != bytes;
    if (fclose(f) != 0) bad = 1;
    if (bad || rename(tmp, path) != 0) {
      rc = lurn_fail(st, LURN_EIO, "%s: cannot write (%s)", path, strerror(errno));
      remove(tmp);
    }
  }
  free(tmp);
  free(b);
  return rc;
}

/* ---- resampling ------------------------------------------------------------- */

int64_t lurn_resample_length(int64_t n, int from, int to) {
  if (n <= 0 || from <= 0 || to <= 0) return 0;
  return (int64_t)((double)n * to / from);
}

static double sinc(double x) {
  if (fabs(x) < 1e-12) return 1.0;
  return sin(M_PI * x) / (M_PI * x);
}

int lurn_resample(float *y, const float *x, int64_t n, int from, int to, lurn_status *st) {
  if (from < 1 || from > MAX_RATE || to < 1 || to > MAX_RATE)
    return lurn_fail(st, LURN_EARG, "resample: rates %d -> %d Hz (1 to %d expected)", from, to,
                     MAX_RATE);
  if (n < 0) return lurn_fail(st, LURN_EARG, "resample: %lld samples", (long long)n);
  int64_t m = lurn_resample_length(n, from, to);
  if (from == to) {
    if (m) memcpy(y, x, (size_t)m * sizeof *y);
    return LURN_OK;
  }
  /* Downsampling narrows the low pass to the new Nyquist frequency, and the
   * kernel widens by the same factor so it keeps 16 zero crossings. */
  double scale = to < from ? (double)to / from : 1.0;
  double half = 16.0 / scale;
  for (int64_t i = 0; i < m; i++) {
    double t = (double)i * from / to;
    int64_t k0 = (int64_t)ceil(t - half), k1 = (int64_t)floor(t + half);
    if (k0 < 0) k0 = 0;
    if (k1 > n - 1) k1 = n - 1;
    double acc = 0;
    for (int64_t k = k0; k <= k1; k++) {
      double d = t - (double)k;
      if (fabs(d) >= half) continue;
      double w = 0.5 * (1 + cos(M_PI * d / half));
      acc += x[k] * scale * sinc(scale * d) * w;
    }
    y[i] = (float)acc;
  }
  return LURN_OK;
}

/* ---- features --------------------------------------------------------------- */

static int is_pow2(int v) { return v > 0 && (v & (v - 1)) == 0; }

static int fft_size(const lurn_feat_opts *o) {
  if (o->n_fft > 0) return o->n_fft;
  int f = 1;
  while (f < o->win) f *= 2;
  return f;
}

static int64_t frame_count(const lurn_feat_opts *o, int64_t n) {
  return n <= o->win ? 1 : 1 + (n - o->win) / o->hop;
}

int lurn_audio_features_shape(const lurn_feat_opts *o, int64_t n, int64_t *steps, int64_t *dims,
                        lurn_status *st) {
  const char *f = "audio_features";
  if (o->rate < 1 || o->rate > MAX_RATE)
    return lurn_fail(st, LURN_EARG, "%s: rate %d Hz (1 to %d expected)", f, o->rate, MAX_RATE);
  if (o->win < 1 || o->win > 65536 || o->hop < 1 || o->hop > 65536)
    return lurn_fail(st, LURN_EARG, "%s: window %d and hop %d samples (1 to 65536 expected)", f,
                     o->win, o->hop);
  if (o->n_fft != 0 && (!is_pow2(o->n_fft) || o->n_fft < o->win || o->n_fft > 65536))
    return lurn_fail(st, LURN_EARG, "%s: n_fft %d must be a power of two from the window (%d) "
                     "to 65536", f, o->n_fft, o->win);
  if (!(o->preemph >= 0 && o->preemph <= 1))
    return lurn_fail(st, LURN_EARG, "%s: preemphasis %g (0 to 1 expected)", f, o->preemph);
  if (o->n_mels < 1 || o->n_mels > 256)
    return lurn_fail(st, LURN_EARG, "%s: %d mel filters (1 to 256 expected)", f, o->n_mels);
  double fmax = o->fmax > 0 ? o->fmax : o->rate / 2.0;
  if (!(o->fmin >= 0 && o->fmin < fmax && fmax <= o->rate / 2.0))
    return lurn_fail(st, LURN_EARG, "%s: mel range %g..%g Hz must lie in 0..%g Hz (half the "
                     "rate) with fmin < fmax", f, o->fmin, fmax, o->rate / 2.0);
  if (o->n_mfcc < 0 || o->n_mfcc > o->n_mels)
    return lurn_fail(st, LURN_EARG, "%s: %d cepstra from %d mel filters (0 to %d expected)", f,
                     o->n_mfcc, o->n_mels, o->n_mels);
  if (o->deltas < 0 || o->deltas > 2)
    return lurn_fail(st, LURN_EARG, "%s: deltas %d (0, 1 or 2 expected)", f, o->deltas);
  if (o->stack < 1 || o->stack > 64)
    return lurn_fail(st, LURN_EARG, "%s: stack %d (1 to 64 expected)", f, o->stack);
  if (n < 0 || n > ((int64_t)1 << 36))
    return lurn_fail(st, LURN_EARG, "%s: %lld samples", f, (long long)n);
  int64_t frames = frame_count(o, n);
  int64_t base = o->n_mfcc ? o->n_mfcc : o->n_mels;
  *dims = base * (1 + o->deltas) * o->stack;
  *steps = (frames + o->stack - 1) / o->stack;
  return LURN_OK;
}

/* In-place radix-2 FFT of re/im[0..n) (n a power of two); cs/sn hold
 * cos/sin(2 pi k / n) for k < n/2. */
static void fft(double *re, double *im, int n, const double *cs, const double *sn) {
  for (int i = 1, j = 0; i < n; i++) {
    int bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      double t = re[i]; re[i] = re[j]; re[j] = t;
      t = im[i]; im[i] = im[j]; im[j] = t;
    }
  }
  for (int len = 2; len <= n; len <<= 1) {
    int step = n / len;
    for (int i = 0; i < n; i += len) {
      for (int k = 0; k < len / 2; k++) {
        double wr = cs[k * step], wi = -sn[k * step];
        double *ar = re + i + k, *ai = im + i + k;
        double *br = re + i + k + len / 2, *bi = im + i + k + len / 2;
        double tr = *br * wr - *bi * wi, ti = *br * wi + *bi * wr;
        *br = *ar - tr; *bi = *ai - ti;
        *ar += tr; *ai += ti;
      }
    }
  }
}

static double hz_to_mel(double f) { return 2595.0 * log10(1.0 + f / 700.0); }
static double mel_to_hz(double m) { return 700.0 * (pow(10.0, m / 2595.0) - 1.0); }

/* d[t] = sum_{k=1,2} k (c[t+k] - c[t-k]) / 10 over columns [src, src+w) of
 * feat (F rows of `stride`), written to columns [dst, dst+w). */
static void deltas(double *feat, int64_t F, int stride, int src, int dst, int w) {
  for (int64_t t = 0; t < F; t++) {
    for (int j = 0; j < w; j++) {
      double acc = 0;
      for (int k = 1; k <= 2; k++) {
        int64_t a = t + k < F ? t + k : F - 1, b = t - k >= 0 ? t - k : 0;
        acc += k * (feat[a * stride + src + j] - feat[b * stride + src + j]);
      }
      feat[t * stride + dst + j] = acc / 10.0;
    }
  }
}

int lurn_audio_features(float *out, const float *x, int64_t n, const lurn_feat_opts *o,
                  lurn_status *st) {
  int64_t steps, dims;
  if (lurn_audio_features_shape(o, n, &steps, &dims, st)) return st ? st->code : LURN_EARG;
  int nfft = fft_size(o), nb = nfft / 2 + 1, M = o->n_mels, win = o->win;
  int base = o->n_mfcc ? o->n_mfcc : M, d0 = base * (1 + o->deltas);
  int64_t F = frame_count(o, n);
  double *re = malloc(sizeof(double) * (size_t)nfft), *im = malloc(sizeof(double) * (size_t)nfft);
  double *cs = malloc(sizeof(double) * (size_t)(nfft / 2 + 1));
  double *sn = malloc(sizeof(double) * (size_t)(nfft / 2 + 1));
  double *window = malloc(sizeof(double) * (size_t)win);
  double *melw = malloc(sizeof(double) * (size_t)M * (size_t)nb);   /* (M, nb) */
  double *logmel = malloc(sizeof(double) * (size_t)M);
  double *feat = malloc(sizeof(double) * (size_t)F * (size_t)d0);  /* (F, d0) */
  double *dct = malloc(sizeof(double) * (size_t)M * (size_t)(o->n_mfcc ? o->n_mfcc : 1));
  int rc = LURN_OK;
  if (!re || !im || !cs || !sn || !window || !melw || !logmel || !feat || !dct) {
    rc = lurn_fail(st, LURN_ENOMEM, "audio_features: out of memory for %lld frames",
                   (long long)F);
    goto done;
  }
  for (int k = 0; k <= nfft / 2; k++) {
    cs[k] = cos(2 * M_PI * k / nfft);
    sn[k] = sin(2 * M_PI * k / nfft);
  }
  /* the orthonormal DCT-II matrix (n_mfcc, M) */
  for (int c = 0; c < o->n_mfcc; c++)
    for (int m = 0; m < M; m++)
      dct[(size_t)c * M + m] = cos(M_PI * c * (2 * m + 1) / (2.0 * M)) *
                               (c == 0 ? sqrt(1.0 / M) : sqrt(2.0 / M));
  for (int i = 0; i < win; i++)
    window[i] = win > 1 ? 0.54 - 0.46 * cos(2 * M_PI * i / (win - 1)) : 1.0;
  /* The mel filters at each bin's frequency k * rate / nfft. */
  {
    double fmax = o->fmax > 0 ? o->fmax : o->rate / 2.0;
    double m0 = hz_to_mel(o->fmin), m1 = hz_to_mel(fmax);
    for (int m = 0; m < M; m++) {
      double lo = mel_to_hz(m0 + (m1 - m0) * m / (M + 1));
      double mid = mel_to_hz(m0 + (m1 - m0) * (m + 1) / (M + 1));
      double hi = mel_to_hz(m0 + (m1 - m0) * (m + 2) / (M + 1));
      for (int k = 0; k < nb; k++) {
        double fk = (double)k * o->rate / nfft, w = 0;
        if (fk > lo && fk < mid) w = (fk - lo) / (mid - lo);
        else if (fk >= mid && fk < hi) w = (hi - fk) / (hi - mid);
        melw[(size_t)m * nb + k] = w;
      }
    }
  }
  for (int64_t t = 0; t < F; t++) {
    int64_t start = t * o->hop;
    for (int i = 0; i < nfft; i++) {
      double v = 0;
      int64_t s = start + i;
      if (i < win && s < n) {
        v = x[s];
        if (o->preemph > 0 && s > 0) v -= o->preemph * x[s - 1];
        v *= window[i];
      }
      re[i] = v;
      im[i] = 0;
    }
    fft(re, im, nfft, cs, sn);
    for (int k = 0; k < nb; k++) re[k] = re[k] * re[k] + im[k] * im[k];   /* power */
    for (int m = 0; m < M; m++) {
      double e = 0;
      const double *w = melw + (size_t)m * nb;
      for (int k = 0; k < nb; k++) e += w[k] * re[k];
      logmel[m] = log(e > 1e-10 ? e : 1e-10);
    }
    double *row = feat + t * d0;
    if (o->n_mfcc) {
      for (int c = 0; c < o->n_mfcc; c++) {
        double acc = 0;
        for (int m = 0; m < M; m++) acc += logmel[m] * dct[(size_t)c * M + m];
        row[c] = acc;
      }
    } else {
      for (int m = 0; m < M; m++) row[m] = logmel[m];
    }
  }
  if (o->deltas >= 1) deltas(feat, F, d0, 0, base, base);
  if (o->deltas >= 2) deltas(feat, F, d0, base, 2 * base, base);
  if (o->normalize) {
    for (int j = 0; j < d0; j++) {
      double mean = 0, var = 0;
      for (int64_t t = 0; t < F; t++) mean += feat[t * d0 + j];
      mean /= (double)F;
      for (int64_t t = 0; t < F; t++) {
        double d = feat[t * d0 + j] - mean;
        var += d * d;
      }
      double sd = sqrt(var / (double)F);
      double inv = sd < 1e-5 ? 1.0 : 1.0 / sd;
      for (int64_t t = 0; t < F; t++) feat[t * d0 + j] = (feat[t * d0 + j] - mean) * inv;
    }
  }
  /* Step s holds frames s*stack .. s*stack+stack-1, zeros past the end. */
  for (int64_t s = 0; s < steps; s++) {
    for (int k = 0; k < o->stack; k++) {
      int64_t t = s * o->stack + k;
      float *dst = out + s * dims + (int64_t)k * d0;
      for (int j = 0; j < d0; j++) dst[j] = t < F ? (float)feat[t * d0 + j] : 0.0f;
    }
  }
done:
  free(re); free(im); free(cs); free(sn); free(window); free(melw); free(logmel); free(feat);
  free(dct);
  return rc;
}
