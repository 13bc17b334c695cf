/* emkern's attention, RoPE and Medusa calls in a C firmware (Cortex-M4F or Cortex-M55): each result checked
 * against what it must be by construction (attention over value rows that are all ones is all ones; RoPE forward
 * then inverse restores the rows, and cos² + sin² = 1; Medusa's greedy rule picks the candidate the logits were
 * built for), and the status of every misuse. Linked like main.c, so the link also proves that these calls leave
 * no panic path in the library. Exit status 0 when all pass. */
#include <stddef.h>
#include <stdint.h>

#include "board.h"
#include "emkern.h"

static int failures = 0;

static void check(int ok, const char *what) {
    board_write(ok ? "ok " : "FAIL ");
    board_write(what);
    board_write("\n");
    if (!ok) failures++;
}

static void expect(emk_status got, emk_status want, const char *what) {
    check(got == want, what);
}

static float fabsf_(float x) { return x < 0 ? -x : x; }

/* Deterministic values in [-1, 1). */
static float next_value(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return (float)(*s >> 8) / 8388608.0f - 1.0f;
}

enum { HQ = 4, HKV = 2, LQ = 5, LKV = 9, DK = 8, DV = 6 };

static void attention_checks(void) {
    static float q[HQ * LQ * DK], out[HQ * LQ * DV], lse[HQ * LQ], scratch[4096];
    static uint16_t k[HKV * LKV * DK], v[HKV * LKV * DV];
    uint32_t seed = 7;
    size_t need = 0, i;
    float worst = 0.0f;
    for (i = 0; i < HQ * LQ * DK; i++) q[i] = 2.0f * next_value(&seed);
    for (i = 0; i < HKV * LKV * DK; i++) k[i] = (uint16_t)(0x3F80u + (next_value(&seed) > 0 ? 0x10u : 0x8010u));
    for (i = 0; i < HKV * LKV * DV; i++) v[i] = 0x3F80u; /* bfloat16 1.0 */
    emk_attention_dims dims = {HQ, HKV, LQ, LKV, DK, DV};
    emk_attention_params params = emk_attention_params_default();
    params.causal = 1;
    params.softcap = 30.0f;
    expect(emk_attention_scratch_len(&dims, EMK_BF16, &params, &need), EMK_OK, "attention scratch length");
    check(need > 0 && need <= sizeof scratch / sizeof scratch[0], "attention scratch fits the buffer");
    expect(emk_attention(&dims, &params, q, k, v, EMK_BF16, out, lse, scratch, need), EMK_OK,
           "attention, grouped heads, causal, soft-capped, bf16 K/V");
    for (i = 0; i < HQ * LQ * DV; i++) {
        float d = fabsf_(out[i] - 1.0f);
        if (d > worst) worst = d;
    }
    check(worst <= 1e-6f, "attention over all-ones values is all ones (within 1e-6)");
    emk_attention_dims bad = dims;
    bad.heads_kv = 3;
    expect(emk_attention(&bad, &params, q, k, v, EMK_BF16, out, NULL, scratch, need), EMK_BAD_SHAPE,
           "attention with 4 query heads over 3 key/value heads");
    expect(emk_attention(&dims, &params, q, k, v, EMK_BF16, out, NULL, scratch, need - 1), EMK_SCRATCH_TOO_SHORT,
           "attention with scratch one float short");
    expect(emk_attention(&dims, &params, q, k, v, 9, out, NULL, scratch, need), EMK_BAD_PARAM,
           "attention with an unknown dtype");
    expect(emk_attention(&dims, &params, NULL, k, v, EMK_BF16, out, NULL, scratch, need), EMK_NULL_POINTER,
           "attention with a NULL q");
}

static void rope_checks(void) {
    enum { HEADS = 2, ROWS = 3, HEAD_DIM = 8, HALF = 4 };
    static float cos_t[ROWS * HALF], sin_t[ROWS * HALF], x[HEADS * ROWS * HEAD_DIM], y[HEADS * ROWS * HEAD_DIM];
    uint32_t seed = 99;
    float worst = 0.0f;
    size_t i;
    expect(emk_rope_tables(10000.0, HEAD_DIM, 1.0, 1.0, 1000000, ROWS, cos_t, sin_t, ROWS * HALF), EMK_OK,
           "RoPE tables at positions 1e6..");
    for (i = 0; i < ROWS * HALF; i++) {
        float d = fabsf_(cos_t[i] * cos_t[i] + sin_t[i] * sin_t[i] - 1.0f);
        if (d > worst) worst = d;
    }
    check(worst <= 1e-6f, "RoPE tables: cos^2 + sin^2 = 1 (within 1e-6)");
    for (i = 0; i < HEADS * ROWS * HEAD_DIM; i++) x[i] = y[i] = next_value(&seed);
    expect(emk_rope_apply(y, HEADS, ROWS, HEAD_DIM, cos_t, sin_t, HALF, ROWS, 0, 0, 0), EMK_OK,
           "RoPE rotation, interleaved");
    expect(emk_rope_apply(y, HEADS, ROWS, HEAD_DIM, cos_t, sin_t, HALF, ROWS, 0, 0, 1), EMK_OK,
           "RoPE inverse rotation");
    worst = 0.0f;
    for (i = 0; i < HEADS * ROWS * HEAD_DIM; i++) {
        float d = fabsf_(y[i] - x[i]);
        if (d > worst) worst = d;
    }
    check(worst <= 1e-6f, "RoPE forward then inverse restores the rows (within 1e-6)");
    expect(emk_rope_apply(y, HEADS, ROWS, HEAD_DIM, cos_t, sin_t, HALF, ROWS, 1, 0, 0), EMK_INPUT_TOO_SHORT,
           "RoPE rotation past the table's last row");
    expect(emk_rope_tables(-1.0, HEAD_DIM, 1.0, 1.0, 0, ROWS, cos_t, sin_t, ROWS * HALF), EMK_BAD_PARAM,
           "RoPE tables with a negative base");
}

static void medusa_checks(void) {
    enum { C = 3, L = 4, V = 10 };
    /* Greedy rule: token p + 1 of candidate c is accepted iff it is the argmax of logits row c·L + p, which is
     * (c + p + 1) mod V here: candidate 1 accepts its drafts 2 and 3 and rejects 0; the others reject at once. */
    static uint32_t tokens[C * L] = {5, 9, 9, 9, 5, 2, 3, 0, 5, 2, 0, 0};
    static float logits[C * L * V];
    size_t best = 99, accepted = 99;
    int r, t;
    for (r = 0; r < C * L; r++) {
        for (t = 0; t < V; t++) logits[r * V + t] = -1.0f - 0.01f * (float)t;
        logits[r * V + (r / L + r % L + 1) % V] = 3.0f;
    }
    emk_medusa_rule greedy = emk_medusa_rule_default(0.0f);
    expect(emk_medusa_accept(&greedy, tokens, C, L, logits, C * L * V, V, &best, &accepted), EMK_OK,
           "Medusa acceptance, greedy");
    check(best == 1 && accepted == 2, "Medusa greedy: candidate 1 with 2 accepted drafts");
    expect(emk_medusa_accept(&greedy, tokens, C, L, logits, (C * L - 2) * V, V, &best, &accepted),
           EMK_INPUT_TOO_SHORT, "Medusa acceptance with too few logits rows");
    emk_medusa_rule bad = emk_medusa_rule_default(-1.0f);
    expect(emk_medusa_accept(&bad, tokens, C, L, logits, C * L * V, V, &best, &accepted), EMK_BAD_PARAM,
           "Medusa acceptance with a negative temperature");
}

int main(void) {
    attention_checks();
    rope_checks();
    medusa_checks();
    board_write(failures == 0 ? "PASS kernels\n" : "FAIL kernels\n");
    return failures == 0 ? 0 : 1;
}
