/*
 * emkern's attention, RoPE and Medusa calls from C, each checked against a plain double-precision computation
 * written here (or, for Medusa's greedy rule, against the argmax the logits were built to have), plus the
 * statuses of misuse. Prints one line per check and exits 0 only if every check passed.
 *
 * Build (after `cargo build -p emkern-ffi --release`):
 *   cc -std=c99 -Wall -Wextra -I core/ffi/include core/ffi/examples/kernels.c \
 *      target/release/libemkern_ffi.a -lm -lpthread -ldl -o kernels
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "emkern.h"

static const double PI = 3.14159265358979323846;

static int failures = 0;
static int checks = 0;

static void check(int ok, const char *what) {
    checks++;
    if (!ok) {
        failures++;
    }
    printf("%s: %s\n", ok ? "ok" : "FAILED", what);
}

static void check_status(emk_status got, emk_status want, const char *what) {
    char line[200];
    snprintf(line, sizeof line, "%s -> %s", what, emk_status_str((int)got));
    check(got == want, line);
}

/* Deterministic values in [-1, 1). */
static float next_value(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return (float)(*s >> 8) / 8388608.0f - 1.0f;
}

/* bfloat16 bits of x, rounded to nearest even (x finite), and their value. */
static uint16_t to_bf16(float x) {
    uint32_t b;
    memcpy(&b, &x, 4);
    b += 0x7FFFu + ((b >> 16) & 1u);
    return (uint16_t)(b >> 16);
}
static double from_bf16(uint16_t h) {
    uint32_t b = (uint32_t)h << 16;
    float x;
    memcpy(&x, &b, 4);
    return x;
}

enum { HQ = 4, HKV = 2, LQ = 5, LKV = 9, DK = 8, DV = 6 };

/* Causal, bottom-right aligned attention with sinks in double: the definition, one row at a time. */
static void reference(const float *q, const double *k, const double *v, const float *sinks, double scale,
                      double *out) {
    int group = HQ / HKV;
    for (int h = 0; h < HQ; h++) {
        int g = h / group;
        for (int i = 0; i < LQ; i++) {
            int pos = i + (LKV - LQ);
            double s[LKV], m = sinks[h], l = 0.0;
            for (int j = 0; j <= pos; j++) {
                double dot = 0.0;
                for (int c = 0; c < DK; c++) {
                    dot += (double)q[(h * LQ + i) * DK + c] * k[(g * LKV + j) * DK + c];
                }
                s[j] = scale * dot;
                if (s[j] > m) {
                    m = s[j];
                }
            }
            l = exp(sinks[h] - m);
            for (int j = 0; j <= pos; j++) {
                l += exp(s[j] - m);
            }
            for (int c = 0; c < DV; c++) {
                double acc = 0.0;
                for (int j = 0; j <= pos; j++) {
                    acc += exp(s[j] - m) * v[(g * LKV + j) * DV + c];
                }
                out[(h * LQ + i) * DV + c] = acc / l;
            }
        }
    }
}

static void attention_checks(void) {
    uint32_t seed = 12345;
    float q[HQ * LQ * DK], k[HKV * LKV * DK], v[HKV * LKV * DV], sinks[HQ];
    uint16_t kb[HKV * LKV * DK], vb[HKV * LKV * DV];
    double kd[HKV * LKV * DK], vd[HKV * LKV * DV], kbd[HKV * LKV * DK], vbd[HKV * LKV * DV];
    for (int i = 0; i < HQ * LQ * DK; i++) q[i] = 2.0f * next_value(&seed);
    for (int i = 0; i < HKV * LKV * DK; i++) {
        k[i] = 2.0f * next_value(&seed);
        kd[i] = k[i];
        kb[i] = to_bf16(k[i]);
        kbd[i] = from_bf16(kb[i]);
    }
    for (int i = 0; i < HKV * LKV * DV; i++) {
        v[i] = next_value(&seed);
        vd[i] = v[i];
        vb[i] = to_bf16(v[i]);
        vbd[i] = from_bf16(vb[i]);
    }
    for (int h = 0; h < HQ; h++) sinks[h] = 0.5f * next_value(&seed);

    emk_attention_dims dims = {HQ, HKV, LQ, LKV, DK, DV};
    emk_attention_params params = emk_attention_params_default();
    params.causal = 1;
    params.sinks = sinks;
    size_t need = 0;
    static float scratch[1 << 14];

    double want[HQ * LQ * DV];
    float out[HQ * LQ * DV], lse[HQ * LQ];
    double scale = 1.0 / sqrt((double)DK);
    for (int dtype = 0; dtype < 2; dtype++) {
        const void *kp = dtype == 0 ? (const void *)k : (const void *)kb;
        const void *vp = dtype == 0 ? (const void *)v : (const void *)vb;
        int dt = dtype == 0 ? EMK_F32 : EMK_BF16;
        /* The scratch depends on the storage type (bf16 keys and values are widened into it). */
        check_status(emk_attention_scratch_len(&dims, dt, &params, &need), EMK_OK, "attention scratch length");
        check(need > 0 && need <= sizeof scratch / sizeof scratch[0], "attention scratch fits the example's buffer");
        reference(q, dtype == 0 ? kd : kbd, dtype == 0 ? vd : vbd, sinks, scale, want);
        emk_status s = emk_attention(&dims, &params, q, kp, vp, dt, out, lse, scratch, need);
        check_status(s, EMK_OK, dtype == 0 ? "attention, f32 K/V" : "attention, bf16 K/V");
        /* Scale-aware bound: the output is a convex combination of values of magnitude <= 1 (f32 rounding of
         * the scores, exponentials and sums). */
        double worst = 0.0;
        for (int i = 0; i < HQ * LQ * DV; i++) {
            double d = fabs((double)out[i] - want[i]);
            if (d > worst) worst = d;
        }
        char line[120];
        snprintf(line, sizeof line, "attention (%s K/V) vs double reference: max |diff| %.2e <= 1e-5",
                 dtype == 0 ? "f32" : "bf16", worst);
        check(worst <= 1e-5, line);
    }

    /* Misuse: every one gets its status and writes nothing (`need` is the f32 K/V scratch here). */
    check_status(emk_attention_scratch_len(&dims, EMK_F32, &params, &need), EMK_OK, "attention scratch length");
    emk_attention_dims bad = dims;
    bad.heads_kv = 3;
    check_status(emk_attention(&bad, &params, q, k, v, EMK_F32, out, NULL, scratch, need), EMK_BAD_SHAPE,
                 "attention with 4 query heads over 3 key/value heads");
    check_status(emk_attention(&dims, &params, q, k, v, EMK_F32, out, NULL, scratch, need - 1),
                 EMK_SCRATCH_TOO_SHORT, "attention with scratch one float short");
    check_status(emk_attention(&dims, &params, q, k, v, 7, out, NULL, scratch, need), EMK_BAD_PARAM,
                 "attention with an unknown dtype");
    check_status(emk_attention(&dims, &params, NULL, k, v, EMK_F32, out, NULL, scratch, need), EMK_NULL_POINTER,
                 "attention with a NULL q");
    emk_attention_params nan_scale = params;
    nan_scale.scale = NAN;
    check_status(emk_attention(&dims, &nan_scale, q, k, v, EMK_F32, out, NULL, scratch, need), EMK_BAD_PARAM,
                 "attention with a NaN scale");
}

static void rope_checks(void) {
    enum { HEADS = 2, ROWS = 3, HEAD_DIM = 8, HALF = 4 };
    const double theta = 10000.0;
    const uint64_t first = 1000000; /* long positions: the exact angle matters */
    float cos_t[ROWS * HALF], sin_t[ROWS * HALF];
    check_status(emk_rope_tables(theta, HEAD_DIM, 1.0, 1.0, first, ROWS, cos_t, sin_t, ROWS * HALF), EMK_OK,
                 "RoPE tables");
    double worst = 0.0;
    for (int r = 0; r < ROWS; r++) {
        for (int i = 0; i < HALF; i++) {
            double w = pow(theta, -(2.0 * i) / HEAD_DIM);
            /* The angle (first + r)·w reduced with fmod in double: exact enough for this check at 1e6. */
            double a = fmod((double)(first + (uint64_t)r) * w, 2.0 * PI);
            double dc = fabs(cos_t[r * HALF + i] - cos(a)), ds = fabs(sin_t[r * HALF + i] - sin(a));
            if (dc > worst) worst = dc;
            if (ds > worst) worst = ds;
        }
    }
    char line[120];
    snprintf(line, sizeof line, "RoPE tables at positions 1e6.. vs cos/sin in double: max |diff| %.2e <= 1e-6",
             worst);
    check(worst <= 1e-6, line);

    float x[HEADS * ROWS * HEAD_DIM], y[HEADS * ROWS * HEAD_DIM];
    uint32_t seed = 99;
    for (int i = 0; i < HEADS * ROWS * HEAD_DIM; i++) x[i] = y[i] = next_value(&seed);
    check_status(emk_rope_apply(y, HEADS, ROWS, HEAD_DIM, cos_t, sin_t, HALF, ROWS, 0, 1, 0), EMK_OK,
                 "RoPE rotation, half-split");
    worst = 0.0;
    for (int h = 0; h < HEADS; h++) {
        for (int r = 0; r < ROWS; r++) {
            const float *a = x + (h * ROWS + r) * HEAD_DIM;
            const float *b = y + (h * ROWS + r) * HEAD_DIM;
            for (int i = 0; i < HALF; i++) {
                double c = cos_t[r * HALF + i], s = sin_t[r * HALF + i];
                double e0 = fabs(b[i] - (a[i] * c - a[i + HALF] * s));
                double e1 = fabs(b[i + HALF] - (a[i] * s + a[i + HALF] * c));
                if (e0 > worst) worst = e0;
                if (e1 > worst) worst = e1;
            }
        }
    }
    snprintf(line, sizeof line, "RoPE rotation vs the rotation in double: max |diff| %.2e <= 1e-6", worst);
    check(worst <= 1e-6, line);
    check_status(emk_rope_apply(y, HEADS, ROWS, HEAD_DIM, cos_t, sin_t, HALF, ROWS, 0, 1, 1), EMK_OK,
                 "RoPE inverse rotation");
    worst = 0.0;
    for (int i = 0; i < HEADS * ROWS * HEAD_DIM; i++) {
        double d = fabs(y[i] - x[i]);
        if (d > worst) worst = d;
    }
    snprintf(line, sizeof line, "RoPE forward then inverse restores the rows: max |diff| %.2e <= 1e-6", worst);
    check(worst <= 1e-6, line);

    check_status(emk_rope_apply(y, HEADS, ROWS, HEAD_DIM, cos_t, sin_t, HALF, ROWS, 1, 1, 0),
                 EMK_INPUT_TOO_SHORT, "RoPE rotation past the table's last row");
    check_status(emk_rope_tables(theta, HEAD_DIM, 1.0, 1.0, first, ROWS, cos_t, sin_t, ROWS * HALF - 1),
                 EMK_OUTPUT_TOO_SHORT, "RoPE tables one float short");
    check_status(emk_rope_tables(-1.0, HEAD_DIM, 1.0, 1.0, first, ROWS, cos_t, sin_t, ROWS * HALF), EMK_BAD_PARAM,
                 "RoPE tables with a negative base");
}

static void medusa_checks(void) {
    enum { C = 3, L = 4, V = 10 };
    /* Greedy rule: candidate c's token p + 1 is accepted iff it is the argmax of logits row c·L + p. */
    uint32_t tokens[C * L] = {
        5, 9, 9, 9,
        5, 2, 3, 0,
        5, 2, 0, 0,
    };
    float logits[C * L * V];
    for (int r = 0; r < C * L; r++) {
        int c = r / L, p = r % L;
        for (int t = 0; t < V; t++) logits[r * V + t] = -1.0f - 0.01f * (float)t;
        logits[r * V + (c + p + 1) % V] = 3.0f;
    }
    /* Argmax of row c·L + p is c + p + 1: candidate 1 (rows 4, 5, 6: argmax 2, 3, 4) accepts tokens 2, 3 and
     * rejects 0; candidate 2 (rows 8, 9: argmax 3, 4) rejects 2 at once; candidate 0 (row 0: argmax 1) rejects
     * 9. So the winner is candidate 1 with 2 accepted drafts. */
    emk_medusa_rule greedy = emk_medusa_rule_default(0.0f);
    size_t best = 99, accepted = 99;
    check_status(emk_medusa_accept(&greedy, tokens, C, L, logits, C * L * V, V, &best, &accepted), EMK_OK,
                 "Medusa acceptance, greedy");
    check(best == 1 && accepted == 2, "Medusa greedy: candidate 1 with 2 accepted drafts");
    check_status(emk_medusa_accept(&greedy, tokens, C, L, logits, (C * L - 2) * V, V, &best, &accepted),
                 EMK_INPUT_TOO_SHORT, "Medusa acceptance with too few logits rows");
    tokens[5] = V;
    check_status(emk_medusa_accept(&greedy, tokens, C, L, logits, C * L * V, V, &best, &accepted), EMK_BAD_INPUT,
                 "Medusa acceptance with a token outside the vocabulary");
    tokens[5] = 2;
    emk_medusa_rule bad = emk_medusa_rule_default(-1.0f);
    check_status(emk_medusa_accept(&bad, tokens, C, L, logits, C * L * V, V, &best, &accepted), EMK_BAD_PARAM,
                 "Medusa acceptance with a negative temperature");
}

int main(void) {
    attention_checks();
    rope_checks();
    medusa_checks();
    printf("%d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
