/* Single-row latency of a TL2cgen-generated predictor (linked with its main.c): reads rows of little-endian f32
 * (NaN = missing), predicts them one call per row, repeats, and prints the median nanoseconds per row. */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

union Entry {
  int missing;
  float fvalue;
  int qvalue;
};
void predict(union Entry* data, int pred_margin, float* result);
int get_num_feature(void);

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  int nf = get_num_feature();
  int rows = atoi(argv[2]);
  FILE* f = fopen(argv[1], "rb");
  if (!f) return 2;
  float* x = malloc(sizeof(float) * (size_t)nf * rows);
  if (fread(x, sizeof(float), (size_t)nf * rows, f) != (size_t)nf * rows) return 2;
  fclose(f);
  union Entry* e = malloc(sizeof(union Entry) * (size_t)nf * rows);
  for (long i = 0; i < (long)nf * rows; i++) {
    if (isnan(x[i])) e[i].missing = -1; else e[i].fvalue = x[i];
  }
  float out = 0, sink = 0;
  double samples[15];
  for (int s = 0; s < 15; s++) {
    double t = now();
    for (int r = 0; r < rows; r++) {
      predict(e + (long)r * nf, 0, &out);
      sink += out;
    }
    samples[s] = (now() - t) / rows * 1e9;
  }
  qsort(samples, 15, sizeof(double), cmp);
  printf("%.2f %g\n", samples[7], sink);
  return 0;
}
