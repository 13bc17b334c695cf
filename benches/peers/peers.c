/*
 * One process, one timer, the same rows: a tree ensemble's prediction time through the framework's own C API
 * (XGBoost or LightGBM, loaded with dlopen from the Python wheel, one thread), TL2cgen's generated C (compiled
 * into this program), and emkern's C API (single row and batch), in ns per row·tree.
 *
 *   peers KIND FRAMEWORK_LIB MODEL_FILE MODEL_EMK ROWS_BIN N_ROWS N_FEATURES N_TREES REPS
 *
 * KIND is xgboost or lightgbm; ROWS_BIN holds N_ROWS × N_FEATURES little-endian floats. Prints one line per
 * engine: `engine NAME ns_per_row_tree X max_abs_diff D` (D: the largest difference from the framework's batch
 * output, as probabilities). Built by run.py with -O3 -march=native.
 */
#define _POSIX_C_SOURCE 199309L
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emkern.h"
#include "header.h" /* TL2cgen's generated model: predict(union Entry *, int, float/double *) */

#ifndef TL2CGEN_RESULT
#define TL2CGEN_RESULT float
#endif

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "peers: %s\n", what);
    exit(1);
}

static void *sym(void *lib, const char *name) {
    void *p = dlsym(lib, name);
    if (!p) {
        fprintf(stderr, "peers: %s not found: %s\n", name, dlerror());
        exit(1);
    }
    return p;
}

static int n_rows, n_features, n_trees, reps;
static float *rows;

/* The best of `reps` timings of `run` over all rows, in ns per row·tree. */
#define TIME(best, body)                                                                                        \
    do {                                                                                                        \
        best = 1e30;                                                                                            \
        for (int rep_ = 0; rep_ < reps; rep_++) {                                                               \
            double t0_ = now();                                                                                 \
            body;                                                                                               \
            double ns_ = (now() - t0_) * 1e9 / ((double)n_rows * (double)n_trees);                              \
            if (ns_ < best) best = ns_;                                                                         \
        }                                                                                                       \
    } while (0)

static double max_diff(const float *a, const float *b, int n) {
    double w = 0.0;
    for (int i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > w) w = d;
    }
    return w;
}

/* ---- XGBoost ------------------------------------------------------------------------------------------- */
typedef uint64_t bst_ulong;
typedef int (*xgb_create_t)(const void *const *, bst_ulong, void **);
typedef int (*xgb_load_t)(void *, const char *);
typedef int (*xgb_set_param_t)(void *, const char *, const char *);
typedef int (*xgb_predict_dense_t)(void *, const char *, const char *, void *, const bst_ulong **, bst_ulong *,
                                   const float **);
typedef const char *(*xgb_error_t)(void);

static void xgboost(const char *libpath, const char *model, float *reference) {
    void *lib = dlopen(libpath, RTLD_NOW);
    if (!lib) die(dlerror());
    xgb_create_t create = (xgb_create_t)sym(lib, "XGBoosterCreate");
    xgb_load_t load = (xgb_load_t)sym(lib, "XGBoosterLoadModel");
    xgb_set_param_t set = (xgb_set_param_t)sym(lib, "XGBoosterSetParam");
    xgb_predict_dense_t predict = (xgb_predict_dense_t)sym(lib, "XGBoosterPredictFromDense");
    xgb_error_t error = (xgb_error_t)sym(lib, "XGBGetLastError");
    void *booster = NULL;
    if (create(NULL, 0, &booster) || load(booster, model) || set(booster, "nthread", "1")) die(error());
    const char *config = "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, "
                         "\"strict_shape\": false, \"cache_id\": 0, \"missing\": NaN}";
    char batch[256], one[256];
    const bst_ulong *shape;
    bst_ulong dim;
    const float *result;
    snprintf(batch, sizeof batch,
             "{\"data\": [%lu, true], \"shape\": [%d, %d], \"typestr\": \"<f4\", \"version\": 3}",
             (unsigned long)(uintptr_t)rows, n_rows, n_features);
    if (predict(booster, batch, config, NULL, &shape, &dim, &result)) die(error());
    memcpy(reference, result, sizeof(float) * (size_t)n_rows);
    double t;
    TIME(t, if (predict(booster, batch, config, NULL, &shape, &dim, &result)) die(error()));
    printf("engine xgboost-batch ns_per_row_tree %.3f max_abs_diff 0\n", t);
    static float single[1 << 20];
    TIME(t, for (int r = 0; r < n_rows; r++) {
        snprintf(one, sizeof one,
                 "{\"data\": [%lu, true], \"shape\": [1, %d], \"typestr\": \"<f4\", \"version\": 3}",
                 (unsigned long)(uintptr_t)(rows + (size_t)r * (size_t)n_features), n_features);
        if (predict(booster, one, config, NULL, &shape, &dim, &result)) die(error());
        single[r] = result[0];
    });
    printf("engine xgboost-single ns_per_row_tree %.3f max_abs_diff %.3g\n", t, max_diff(single, reference, n_rows));
}

/* ---- LightGBM ------------------------------------------------------------------------------------------ */
typedef int (*lgb_create_t)(const char *, int *, void **);
typedef int (*lgb_predict_mat_t)(void *, const void *, int, int32_t, int32_t, int, int, int, int, const char *,
                                 int64_t *, double *);
typedef int (*lgb_fast_init_t)(void *, int, int, int, int, int32_t, const char *, void **);
typedef int (*lgb_fast_t)(void *, const void *, int64_t *, double *);
typedef const char *(*lgb_error_t)(void);

static void lightgbm(const char *libpath, const char *model, float *reference) {
    void *lib = dlopen(libpath, RTLD_NOW);
    if (!lib) die(dlerror());
    lgb_create_t create = (lgb_create_t)sym(lib, "LGBM_BoosterCreateFromModelfile");
    lgb_predict_mat_t predict = (lgb_predict_mat_t)sym(lib, "LGBM_BoosterPredictForMat");
    lgb_fast_init_t fast_init = (lgb_fast_init_t)sym(lib, "LGBM_BoosterPredictForMatSingleRowFastInit");
    lgb_fast_t fast = (lgb_fast_t)sym(lib, "LGBM_BoosterPredictForMatSingleRowFast");
    lgb_error_t error = (lgb_error_t)sym(lib, "LGBM_GetLastError");
    void *booster = NULL, *config = NULL;
    int iterations = 0;
    if (create(model, &iterations, &booster)) die(error());
    double *out = malloc(sizeof(double) * (size_t)n_rows);
    if (!out) die("out of memory");
    int64_t len = 0;
    /* C_API_DTYPE_FLOAT32 = 0, row-major, C_API_PREDICT_NORMAL = 0, all iterations. */
    if (predict(booster, rows, 0, n_rows, n_features, 1, 0, 0, -1, "num_threads=1", &len, out)) die(error());
    for (int r = 0; r < n_rows; r++) reference[r] = (float)out[r];
    double t;
    TIME(t, if (predict(booster, rows, 0, n_rows, n_features, 1, 0, 0, -1, "num_threads=1", &len, out))
                die(error()));
    printf("engine lightgbm-batch ns_per_row_tree %.3f max_abs_diff 0\n", t);
    if (fast_init(booster, 0, 0, -1, 0, n_features, "num_threads=1", &config)) die(error());
    static float single[1 << 20];
    TIME(t, for (int r = 0; r < n_rows; r++) {
        double o;
        if (fast(config, rows + (size_t)r * (size_t)n_features, &len, &o)) die(error());
        single[r] = (float)o;
    });
    printf("engine lightgbm-single ns_per_row_tree %.3f max_abs_diff %.3g\n", t, max_diff(single, reference, n_rows));
    free(out);
}

/* ---- TL2cgen --------------------------------------------------------------------------------------------- */
static void tl2cgen(const float *reference) {
    static union Entry data[1 << 12];
    static float out[1 << 20];
    TL2CGEN_RESULT result[16];
    if (n_features > (1 << 12)) die("too many features for the TL2cgen adapter");
    double t;
    TIME(t, for (int r = 0; r < n_rows; r++) {
        const float *row = rows + (size_t)r * (size_t)n_features;
        for (int i = 0; i < n_features; i++) {
            if (isnan(row[i])) data[i].missing = -1; else data[i].fvalue = row[i];
        }
        result[0] = 0;
        predict(data, 0, result);
        out[r] = (float)result[0];
    });
    printf("engine tl2cgen-single ns_per_row_tree %.3f max_abs_diff %.3g\n", t, max_diff(out, reference, n_rows));
}

/* ---- emkern ---------------------------------------------------------------------------------------------- */
static void emkern(const char *blob_path, const float *reference) {
    FILE *f = fopen(blob_path, "rb");
    if (!f) die("cannot open the .emk blob");
    static uint8_t blob[64 << 20];
    size_t len = fread(blob, 1, sizeof blob, f);
    fclose(f);
    static emk_forest forest;
    if (emk_forest_init(&forest, blob, len) != EMK_OK) die("the .emk blob was rejected");
    static float out[1 << 20];
    size_t nf = (size_t)n_features;
    double t;
    TIME(t, for (int r = 0; r < n_rows; r++) {
        emk_forest_predict(&forest, rows + (size_t)r * nf, nf, out + r, 1);
    });
    printf("engine emkern-single ns_per_row_tree %.3f max_abs_diff %.3g\n", t, max_diff(out, reference, n_rows));
    TIME(t, emk_forest_predict_batch(&forest, rows, nf, (size_t)n_rows, out, (size_t)n_rows, 0));
    printf("engine emkern-batch ns_per_row_tree %.3f max_abs_diff %.3g\n", t, max_diff(out, reference, n_rows));
}

int main(int argc, char **argv) {
    if (argc != 10) die("usage: peers KIND LIB MODEL EMK ROWS N_ROWS N_FEATURES N_TREES REPS");
    n_rows = atoi(argv[6]);
    n_features = atoi(argv[7]);
    n_trees = atoi(argv[8]);
    reps = atoi(argv[9]);
    if (n_rows <= 0 || n_rows > (1 << 20) || n_features <= 0 || n_trees <= 0 || reps <= 0) die("bad sizes");
    rows = malloc(sizeof(float) * (size_t)n_rows * (size_t)n_features);
    float *reference = malloc(sizeof(float) * (size_t)n_rows);
    if (!rows || !reference) die("out of memory");
    FILE *f = fopen(argv[5], "rb");
    if (!f || fread(rows, sizeof(float), (size_t)n_rows * (size_t)n_features, f) !=
                  (size_t)n_rows * (size_t)n_features)
        die("cannot read the rows");
    fclose(f);
    if (strcmp(argv[1], "xgboost") == 0) {
        xgboost(argv[2], argv[3], reference);
    } else if (strcmp(argv[1], "lightgbm") == 0) {
        lightgbm(argv[2], argv[3], reference);
    } else {
        die("KIND must be xgboost or lightgbm");
    }
    tl2cgen(reference);
    emkern(argv[4], reference);
    return 0;
}
