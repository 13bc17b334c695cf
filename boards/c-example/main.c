/* The emkern C API on a Cortex-M4F or Cortex-M55: validates the demo XGBoost model in place from flash (the
 * generated demo_model.c: one definition, declared with its shape macros by demo_model.h), predicts its 171
 * held-out rows one by one and as a batch, compares every probability with XGBoost's own (the tolerance of the
 * Rust self-test: 1e-6 + 1e-5 |p|), and checks that misuse returns its status. Exit status 0 when all pass. */
#include <stddef.h>
#include <stdint.h>

#include "board.h"
#include "demo_model.h"
#include "emkern.h"

#define MAX_ROWS 256

static int failures = 0;
static float batch_out[MAX_ROWS];

/* Writes an unsigned number in decimal. */
static void write_uint(uint32_t v) {
    char buf[11];
    int i = 10;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0 && i > 0);
    board_write(buf + i);
}

static void expect(emk_status got, emk_status want, const char *what) {
    board_write(got == want ? "ok " : "FAIL ");
    board_write(what);
    board_write(": ");
    board_write(emk_status_str((int)got));
    board_write("\n");
    if (got != want) {
        failures++;
    }
}

int main(void) {
    static emk_forest forest; /* zero-initialized, like every static */
    static emk_forest zeroed;
    static uint8_t copy[DEMO_MODEL_LEN];
    size_t nf, n_rows, r, i, passed = 0, correct = 0, same = 0;
    float p, worst = 0.0f;
    float out[DEMO_MODEL_OUTPUT_LEN];

    expect(emk_forest_predict(&forest, rows_bin, DEMO_MODEL_N_FEATURES, &p, 1), EMK_NOT_INITIALIZED, "predict before init");
    expect(emk_forest_init(&forest, demo_model, DEMO_MODEL_LEN), EMK_OK, "init from flash");
    nf = emk_forest_n_features(&forest);
    if (nf != DEMO_MODEL_N_FEATURES || emk_forest_output_len(&forest) != DEMO_MODEL_OUTPUT_LEN ||
        DEMO_MODEL_OUTPUT_LEN != 1) {
        board_write("FAIL the model's shape differs from demo_model.h's or is not one probability per row\n");
        return 1;
    }
    if (((uintptr_t)demo_model & 7u) != 0) {
        board_write("FAIL demo_model is not aligned to 8 bytes\n");
        failures++;
    }
    n_rows = rows_bin_len / (4 * nf);
    if (n_rows > MAX_ROWS || n_rows * 8 != expected_bin_len) {
        board_write("FAIL rows and expected values do not match\n");
        return 1;
    }

    for (r = 0; r < n_rows; r++) {
        float want = expected_bin[2 * r], label = expected_bin[2 * r + 1];
        float diff, tol = 1.0e-6f + 1.0e-5f * (want < 0 ? -want : want);
        if (emk_forest_predict(&forest, rows_bin + r * nf, nf, out, DEMO_MODEL_OUTPUT_LEN) != EMK_OK) {
            failures++;
            continue;
        }
        p = out[0];
        diff = p > want ? p - want : want - p;
        worst = diff > worst ? diff : worst;
        if (diff <= tol) {
            passed++;
        } else {
            failures++;
            board_write("FAIL row ");
            write_uint((uint32_t)r);
            board_write("\n");
        }
        if ((p > 0.5f) == (label > 0.5f)) {
            correct++;
        }
    }
    expect(emk_forest_predict_batch(&forest, rows_bin, nf, n_rows, batch_out, MAX_ROWS, 0), EMK_OK, "batch");
    for (r = 0; r < n_rows; r++) {
        emk_forest_predict(&forest, rows_bin + r * nf, nf, &p, 1);
        same += batch_out[r] == p;
    }
    if (same != n_rows) {
        failures++;
        board_write("FAIL batch and single-row predictions differ\n");
    }

    expect(emk_forest_predict(&forest, NULL, nf, &p, 1), EMK_NULL_POINTER, "null row");
    expect(emk_forest_predict(&forest, rows_bin, nf - 1, &p, 1), EMK_ROW_TOO_SHORT, "short row");
    expect(emk_forest_predict(&forest, rows_bin, nf, &p, 0), EMK_OUTPUT_TOO_SHORT, "no room for the output");
    expect(emk_forest_predict(&zeroed, rows_bin, nf, &p, 1), EMK_NOT_INITIALIZED, "zeroed forest");
    for (i = 0; i < DEMO_MODEL_LEN; i++) {
        copy[i] = demo_model[i];
    }
    copy[DEMO_MODEL_LEN / 2] ^= 0x40;
    expect(emk_forest_init(&zeroed, copy, DEMO_MODEL_LEN), EMK_CHECKSUM_MISMATCH, "a flipped byte");
    expect(emk_forest_init(&zeroed, demo_model, DEMO_MODEL_LEN - 1), EMK_TRUNCATED, "one byte short");

    board_write("c-example: ");
    write_uint((uint32_t)n_rows);
    board_write(" rows, ");
    write_uint((uint32_t)passed);
    board_write(" within tolerance of XGBoost, max |p - p_xgboost| = ");
    write_uint((uint32_t)(worst * 1.0e9f));
    board_write("e-9, accuracy ");
    write_uint((uint32_t)correct);
    board_write("/");
    write_uint((uint32_t)n_rows);
    board_write(", worst case ");
    write_uint((uint32_t)emk_forest_worst_case_visits(&forest));
    board_write(" node visits/row\n");
    board_write(failures == 0 ? "PASS\n" : "FAIL\n");
    return failures == 0 ? 0 : 1;
}
