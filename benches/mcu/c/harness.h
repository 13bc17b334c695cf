/* Interface between the harness (harness.c) and one engine's adapter (generated per model and engine by run.py).
 *
 * The adapter turns a row of f32 features into the engine's input layout in engine_prepare (not timed: a
 * firmware would fill that layout directly from its sensors), and engine_predict runs one prediction from it
 * into engine_out (timed: everything the engine's API needs for one row, including zeroing an accumulator the
 * API asks the caller to clear). */
#ifndef EMKERN_MCU_HARNESS_H
#define EMKERN_MCU_HARNESS_H

#include <stdint.h>

extern const int engine_n_out;
extern float engine_out[];
void engine_prepare(const float *row);
void engine_predict(void);

/* Rows (rows.c, generated): bench_n_rows rows of bench_n_features f32 values, row-major. */
extern const float bench_rows[];
extern const int bench_n_rows;
extern const int bench_n_features;

/* startup.c */
void hs_write(const char *text);
void hs_exit(int status);

/* timing.S */
uint32_t time_call(void (*fn)(void));
uint32_t stack_call(void (*fn)(void));
uint32_t alu_block_1000(void);
uint32_t alu_block_3000(void);

#endif
