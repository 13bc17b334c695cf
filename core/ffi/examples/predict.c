/*
 * Loads a model blob and test rows, predicts every row through the emkern C API, compares each prediction with
 * the reference probability stored beside the rows, and checks that misuse returns the documented status.
 *
 *   predict MODEL.emk ROWS.bin EXPECTED.bin
 *
 * ROWS.bin: little-endian f32, row-major, emk_forest_n_features values per row. EXPECTED.bin: per row the
 * reference probability and the label, little-endian f32. Exit status 0 when every check passes.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emkern.h"

static int failures = 0;

static void check(int ok, const char *what) {
    if (!ok) {
        printf("FAIL %s\n", what);
        failures++;
    }
}

static void expect(emk_status got, emk_status want, const char *what) {
    if (got != want) {
        printf("FAIL %s: %s, expected %s\n", what, emk_status_str((int)got), emk_status_str((int)want));
        failures++;
    } else {
        printf("ok %s: %s\n", what, emk_status_str((int)got));
    }
}

/* Reads a whole file into a malloc'd buffer; NULL on failure. */
static uint8_t *read_file(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;
    if (fp == NULL) {
        return NULL;
    }
    if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf != NULL && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(fp);
    return buf;
}

/* Little-endian f32 at index i. */
static float f32_at(const uint8_t *b, size_t i) {
    uint32_t u = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 |
                 (uint32_t)b[4 * i + 3] << 24;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

int main(int argc, char **argv) {
    size_t model_len = 0, rows_len = 0, expected_len = 0;
    uint8_t *model, *rows_bytes, *expected;
    emk_forest forest, zeroed, bad;
    size_t nf, n_rows, r, i, correct = 0, passed = 0;
    float *rows, *batch, p, worst = 0.0f;
    emk_status s;

    if (argc != 4) {
        fprintf(stderr, "usage: %s MODEL.emk ROWS.bin EXPECTED.bin\n", argv[0]);
        return 2;
    }
    model = read_file(argv[1], &model_len);
    rows_bytes = read_file(argv[2], &rows_len);
    expected = read_file(argv[3], &expected_len);
    if (model == NULL || rows_bytes == NULL || expected == NULL) {
        fprintf(stderr, "cannot read the input files\n");
        return 2;
    }
    printf("sizeof(emk_forest) = %u (EMK_FOREST_SIZE %u)\n", (unsigned)sizeof(emk_forest),
           (unsigned)EMK_FOREST_SIZE);
    check(sizeof(emk_forest) == EMK_FOREST_SIZE, "sizeof(emk_forest) == EMK_FOREST_SIZE");

    s = emk_forest_init(&forest, model, model_len);
    expect(s, EMK_OK, "init with the model");
    if (s != EMK_OK) {
        return 1;
    }
    nf = emk_forest_n_features(&forest);
    n_rows = rows_len / (4 * nf);
    printf("model: %u features, %u outputs, output_len %u, worst case %llu node visits/row\n", (unsigned)nf,
           (unsigned)emk_forest_n_outputs(&forest), (unsigned)emk_forest_output_len(&forest),
           (unsigned long long)emk_forest_worst_case_visits(&forest));
    check(emk_forest_output_len(&forest) == 1, "a binary classifier writes one value per row");
    check(n_rows * 8 == expected_len, "one expected pair per row");

    rows = malloc(rows_len);
    batch = malloc(n_rows * sizeof(float));
    if (rows == NULL || batch == NULL) {
        return 2;
    }
    for (i = 0; i < n_rows * nf; i++) {
        rows[i] = f32_at(rows_bytes, i);
    }

    /* One row at a time, against the reference probability. */
    for (r = 0; r < n_rows; r++) {
        float want = f32_at(expected, 2 * r), label = f32_at(expected, 2 * r + 1);
        float diff, tol = 1.0e-6f + 1.0e-5f * (want < 0 ? -want : want);
        s = emk_forest_predict(&forest, rows + r * nf, nf, &p, 1);
        if (s != EMK_OK) {
            printf("FAIL row %u: %s\n", (unsigned)r, emk_status_str((int)s));
            failures++;
            continue;
        }
        diff = p > want ? p - want : want - p;
        worst = diff > worst ? diff : worst;
        if (diff <= tol) {
            passed++;
        } else {
            printf("FAIL row %u: %.9g vs reference %.9g\n", (unsigned)r, (double)p, (double)want);
            failures++;
        }
        if ((p > 0.5f) == (label > 0.5f)) {
            correct++;
        }
    }
    printf("rows: %u, within tolerance %u, max |p - p_ref| = %.3g, accuracy %u/%u\n", (unsigned)n_rows,
           (unsigned)passed, (double)worst, (unsigned)correct, (unsigned)n_rows);

    /* The batch call gives the same values as the single-row call. */
    s = emk_forest_predict_batch(&forest, rows, nf, n_rows, batch, n_rows, 0);
    expect(s, EMK_OK, "batch of every row");
    for (r = 0; r < n_rows && s == EMK_OK; r++) {
        emk_forest_predict(&forest, rows + r * nf, nf, &p, 1);
        if (batch[r] != p) {
            printf("FAIL batch row %u: %.9g vs single-row %.9g\n", (unsigned)r, (double)batch[r], (double)p);
            failures++;
            break;
        }
    }
    /* Margins: the probability is the logistic of the margin. */
    s = emk_forest_predict_margin(&forest, rows, nf, &p, 1);
    expect(s, EMK_OK, "margin of row 0");
    {
        float prob;
        emk_forest_predict(&forest, rows, nf, &prob, 1);
        check(fabs(1.0 / (1.0 + exp(-(double)p)) - (double)prob) <= 1.0e-6, "logistic(margin) = probability");
    }

    /* Misuse. */
    expect(emk_forest_predict(NULL, rows, nf, &p, 1), EMK_NULL_POINTER, "null forest");
    expect(emk_forest_predict(&forest, NULL, nf, &p, 1), EMK_NULL_POINTER, "null row");
    expect(emk_forest_predict(&forest, rows, nf, NULL, 1), EMK_NULL_POINTER, "null output");
    expect(emk_forest_init(&bad, NULL, model_len), EMK_NULL_POINTER, "init with a null blob");
    expect(emk_forest_init(NULL, model, model_len), EMK_NULL_POINTER, "init of a null forest");
    expect(emk_forest_predict(&forest, rows, nf - 1, &p, 1), EMK_ROW_TOO_SHORT, "row one value short");
    expect(emk_forest_predict(&forest, rows, nf, &p, 0), EMK_OUTPUT_TOO_SHORT, "no room for the output");
    expect(emk_forest_predict_batch(&forest, rows, nf - 1, 2, batch, 2, 0), EMK_BAD_STRIDE,
           "batch stride below the features");
    expect(emk_forest_predict_batch(&forest, rows, nf, 3, batch, 2, 0), EMK_OUTPUT_TOO_SHORT,
           "batch output for 2 of 3 rows");

    memset(&zeroed, 0, sizeof zeroed);
    expect(emk_forest_predict(&zeroed, rows, nf, &p, 1), EMK_NOT_INITIALIZED, "zeroed forest");
    check(emk_forest_n_features(&zeroed) == 0, "a zeroed forest has no features");

    model[model_len / 2] ^= 0x40;
    expect(emk_forest_init(&bad, model, model_len), EMK_CHECKSUM_MISMATCH, "a flipped byte");
    expect(emk_forest_predict(&bad, rows, nf, &p, 1), EMK_NOT_INITIALIZED, "forest after a failed init");
    model[model_len / 2] ^= 0x40;
    expect(emk_forest_init(&bad, model, model_len - 1), EMK_TRUNCATED, "one byte short");
    model[0] = 'X';
    expect(emk_forest_init(&bad, model, model_len), EMK_BAD_MAGIC, "not a model");
    check(strcmp(emk_status_str(1000), "unknown status") == 0, "text of an unknown status");

    free(rows);
    free(batch);
    free(model);
    free(rows_bytes);
    free(expected);
    printf("%s: %d failures\n", failures == 0 ? "PASS" : "FAIL", failures);
    return failures == 0 ? 0 : 1;
}
