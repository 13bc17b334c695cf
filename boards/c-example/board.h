/* The board support the example needs (startup.c) and the data it links in (data.S). */
#ifndef BOARD_H
#define BOARD_H

#include <stdint.h>

/* Writes NUL-terminated text to the host's standard output (semihosting). */
void board_write(const char *text);
/* Ends the run: QEMU exits with status 0 when `status` is 0, else 1. */
void board_exit(int status);

/* data.S: the demo model's held-out rows (f32, row-major) and per row XGBoost's probability and the label (f32
 * pairs), each with its size in bytes. The model is demo_model.h. */
extern const float rows_bin[];
extern const uint32_t rows_bin_len;
extern const float expected_bin[];
extern const uint32_t expected_bin_len;

#endif
