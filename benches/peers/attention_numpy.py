"""NumPy's naive attention, single-threaded, as a peer for `emkern bench --attention`: softmax(Q·Kᵀ·scale)·V with
the score matrix materialized (float32, OpenBLAS sgemm), for the prefill and decode shapes the emkern benchmark
uses, reported in GFLOP/s over the visible (query, key) pairs and in GB/s of K/V streamed.

    python3 benches/peers/attention_numpy.py [--quick]

The script re-executes itself with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from the environment (some
machines set them so that old OpenBLAS builds run safely; they make a current OpenBLAS pick a slower kernel) and
with one BLAS thread. It then runs `emkern bench --attention` (through cargo, which rebuilds it if needed) in the
same run.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

if any(k in os.environ for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")) or os.environ.get(
        "OPENBLAS_NUM_THREADS") != "1":
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import numpy as np  # noqa: E402


def median_seconds(fn, min_time=0.2):
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < 5 or time.perf_counter() - start < min_time:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]


def naive(q, k, v, causal):
    # q [h, lq, d], k/v [hkv, lkv, d]
    h, lq, d = q.shape
    hkv, lkv, _ = k.shape
    group = h // hkv
    out = np.empty((h, lq, v.shape[2]), dtype=np.float32)
    scale = np.float32(1.0 / np.sqrt(d))
    mask = None
    if causal:
        mask = np.arange(lkv)[None, :] > (np.arange(lq)[:, None] + lkv - lq)
    for i in range(h):
        s = (q[i] @ k[i // group].T) * scale
        if mask is not None:
            s[mask] = -np.inf
        s -= s.max(axis=1, keepdims=True)
        np.exp(s, out=s)
        s /= s.sum(axis=1, keepdims=True)
        out[i] = s @ v[i // group]
    return out


def flops(h, lq, lkv, d, causal):
    pairs = sum(min(lkv, i + lkv - lq + 1) for i in range(lq)) if causal else lq * lkv
    return h * pairs * 4 * d


def main():
    quick = "--quick" in sys.argv
    rng = np.random.default_rng(1)
    print(f"NumPy {np.__version__} naive attention, one thread")
    print("prefill (heads 8, GQA 1:1)")
    for d in (64, 128):
        for n in ((256,) if quick else (256, 1024, 4096)):
            for causal in (False, True):
                q = rng.standard_normal((8, n, d), dtype=np.float32)
                k = rng.standard_normal((8, n, d), dtype=np.float32)
                v = rng.standard_normal((8, n, d), dtype=np.float32)
                t = median_seconds(lambda: naive(q, k, v, causal))
                print(f"  d {d:>3} len {n:>5} {'causal' if causal else 'full':<7} {flops(8, n, n, d, causal) / t / 1e9:>7.1f} GFLOP/s")
    print("decode (len_q 1, 8 query heads sharing 1 KV head, d 128): K/V streamed")
    for n in ((4096,) if quick else (1024, 8192, 32768)):
        q = rng.standard_normal((8, 1, 128), dtype=np.float32)
        k = rng.standard_normal((1, n, 128), dtype=np.float32)
        v = rng.standard_normal((1, n, 128), dtype=np.float32)
        t = median_seconds(lambda: naive(q, k, v, False))
        print(f"  len_kv {n:>6} f32 {2 * n * 128 * 4 / t / 1e9:>7.1f} GB/s")
    # The emkern table from the same run, built first if the release CLI is stale (cargo decides).
    root = Path(__file__).resolve().parents[2]
    args = ["cargo", "run", "--release", "-q", "-p", "emkern-host", "--", "bench", "--attention"]
    args += ["--quick"] if quick else []
    print()
    print(subprocess.run(args, cwd=root, check=True, capture_output=True, text=True).stdout, end="")


if __name__ == "__main__":
    main()
