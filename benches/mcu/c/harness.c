/* The peer harness: calibrates SysTick against blocks of known instruction counts, then for every row times
 * three predictions, measures the stack one prediction uses, and prints one line per row:
 *
 *   cal <empty-call ticks> <1000-block ticks> <1000-block again> <3000-block ticks>
 *   row <index> <ticks run 1> <ticks run 2> <ticks run 3> <stack bytes> <output bits as hex>...
 *   done
 *
 * The host (run.py) turns ticks into instructions: (ticks - empty) * 2000 / (t3000 - t1000). */
#include <stdint.h>

#include "harness.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

static void empty_job(void) {}

static char line[64 + 64 * 9]; /* a row line: up to 64 outputs */
static unsigned pos;

static void put_char(char c) {
  if (pos + 1 < sizeof line) line[pos++] = c;
}

static void put_dec(uint32_t v) {
  char digits[10];
  int n = 0;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) put_char(digits[--n]);
}

static void put_hex(uint32_t v) {
  for (int shift = 28; shift >= 0; shift -= 4) put_char("0123456789abcdef"[(v >> shift) & 0xF]);
}

static void put_text(const char *s) {
  while (*s) put_char(*s++);
}

static void flush(void) {
  put_char('\n');
  line[pos] = 0;
  hs_write(line);
  pos = 0;
}

static uint32_t bits(float f) {
  union {
    float f;
    uint32_t u;
  } b = {f};
  return b.u;
}

int main(void) {
  /* SysTick: free-running 24-bit down-counter on the core clock, no interrupt. */
  SYST_RVR = 0x00FFFFFFu;
  SYST_CVR = 0;
  SYST_CSR = 5;

  /* Warm up once (QEMU translates a block the first time it runs it), then calibrate. */
  (void)time_call(empty_job);
  (void)alu_block_1000();
  (void)alu_block_3000();
  uint32_t empty = time_call(empty_job);
  uint32_t t1000 = alu_block_1000();
  uint32_t t3000 = alu_block_3000();
  uint32_t again = alu_block_1000();
  put_text("cal ");
  put_dec(empty);
  put_char(' ');
  put_dec(t1000);
  put_char(' ');
  put_dec(again);
  put_char(' ');
  put_dec(t3000);
  flush();

  for (int r = 0; r < bench_n_rows; r++) {
    const float *row = bench_rows + (long)r * bench_n_features;
    uint32_t ticks[3];
    for (int k = 0; k < 3; k++) {
      engine_prepare(row);
      ticks[k] = time_call(engine_predict);
    }
    engine_prepare(row);
    uint32_t stack = stack_call(engine_predict);
    put_text("row ");
    put_dec((uint32_t)r);
    for (int k = 0; k < 3; k++) {
      put_char(' ');
      put_dec(ticks[k]);
    }
    put_char(' ');
    put_dec(stack);
    for (int i = 0; i < engine_n_out; i++) {
      put_char(' ');
      put_hex(bits(engine_out[i]));
    }
    flush();
  }
  put_text("done");
  flush();
  return 0;
}
