#!/usr/bin/env bash
# Builds emkern's cargo-fuzz targets (host-tests/fuzz, nightly) and runs each one in turn for a time budget, then
# prints per-target executions, time, new corpus units and crashes from libFuzzer's final stats.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     # default: 300 s, every target
#   FUZZ_RUNS=N bash scripts/fuzz.sh [TARGET...]               # N executions per target instead (smoke runs)
#   FUZZ_RUNS=N bash scripts/fuzz.sh SECONDS [TARGET...]       # N executions or SECONDS, whichever comes first
#
# Targets (host-tests/fuzz/src/<target>.rs says what each exercises): forest, compact_forest, int_forest,
# import_xgboost_json, import_xgboost_ubjson, import_xgboost_binary, import_lightgbm, import_sklearn, read_csv, read_parquet, read_npy,
# attention, rope, speculative.
#
# Each target runs alone, single-process (one libFuzzer job; the machine may be shared), with -rss_limit_mb=2048
# and -timeout=10. Its corpus is host-tests/fuzz/corpus/<target> (not committed), seeded on every run from the
# committed seeds (host-tests/fuzz/seeds/<target>) and from the fixtures (models, CSVs, .npy files); new inputs
# accumulate there across runs. A crash leaves its input in host-tests/fuzz/artifacts/<target>/; once fixed, copy
# it to host-tests/fuzz/regressions/<target>/ so that `cargo test -p emkern-host --test fuzz_regressions` replays
# it on stable Rust. Exit status: 0 when no target crashed, 1 otherwise, 2 when nightly or cargo-fuzz is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
fuzz="$root/host-tests/fuzz"
all_targets=(forest compact_forest int_forest import_xgboost_json import_xgboost_ubjson import_xgboost_binary import_lightgbm import_sklearn read_csv read_parquet
    read_npy attention rope speculative)

seconds=300
seconds_given=0
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
    seconds=$1
    seconds_given=1
    shift
fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
    [[ " ${all_targets[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target $t (one of: ${all_targets[*]})" >&2; exit 2; }
done

if ! cargo +nightly --version >/dev/null 2>&1 || ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: needs the nightly toolchain and cargo-fuzz (rustup toolchain install nightly; cargo install cargo-fuzz --locked)" >&2
    exit 2
fi

# Copies `src` into corpus `dir` under a name made from its path (idempotent).
put() {
    local dir=$1 src=$2 name
    name=${src#"$root"/}
    name=${name//\//_}
    [ -e "$dir/$name" ] || cp "$src" "$dir/$name"
}

# Seeds a target's corpus from the fixtures (the committed seeds are read from their own directory).
seed() {
    local t=$1 dir=$2 f
    local fx="$root/host-tests/fixtures"
    mkdir -p "$dir"
    shopt -s nullglob
    case $t in
        forest) put "$dir" "$root/boards/selftest/data/model.emk" ;;
        compact_forest) put "$dir" "$root/boards/compact/data/model.emkc" ;;
        import_xgboost_json) for f in "$fx"/xgboost/*/model.json "$root/data/breast_cancer_xgboost.json" "$fx/train/hist_xgboost.json"; do put "$dir" "$f"; done ;;
        import_xgboost_ubjson) for f in "$fx"/xgboost/*/model.ubj "$fx"/train/*.ubj; do put "$dir" "$f"; done ;;
        import_xgboost_binary) for f in "$fx"/spark/xgboost4j/*/model/data/XGBoost*Model; do put "$dir" "$f"; done ;;
        import_lightgbm) for f in "$fx"/lightgbm/*/model.txt; do put "$dir" "$f"; done ;;
        import_sklearn) for f in "$fx"/sklearn/*/model.json; do put "$dir" "$f"; done ;;
        read_csv)
            # The first 40 lines of each table: the readers' paths, at a size the fuzzer mutates quickly.
            for f in "$root"/data/*.csv "$fx"/train/*.csv "$fx"/lightgbm/v4.7.0-categorical/input.csv "$fx"/xgboost/v3.4.1-categorical-pandas/input.csv; do
                name=${f#"$root"/}
                [ -e "$dir/${name//\//_}" ] || head -n 40 "$f" >"$dir/${name//\//_}"
            done
            ;;
        read_npy) for f in "$fx"/attention/*/*.npy; do put "$dir" "$f"; done ;;
        *) ;; # read_parquet: the committed seeds; attention, rope, speculative: structure from scratch
    esac
    shopt -u nullglob
}

echo "building the fuzz targets (cargo +nightly fuzz build, address sanitizer, debug assertions)"
(cd "$root/host-tests" && cargo +nightly fuzz build) >"$fuzz/build.log" 2>&1 || {
    tail -n 40 "$fuzz/build.log" >&2
    echo "fuzz.sh: the fuzz targets do not build (log: host-tests/fuzz/build.log)" >&2
    exit 1
}

budget=(-max_total_time="$seconds")
wall=$((seconds + 300))
if [ -n "${FUZZ_RUNS:-}" ]; then
    if [ "$seconds_given" = 1 ]; then
        budget+=(-runs="$FUZZ_RUNS")
    else
        budget=(-runs="$FUZZ_RUNS")
        wall=600
    fi
fi
mkdir -p "$fuzz/logs"
declare -a rows=()
crashed=0
for t in "${targets[@]}"; do
    corpus="$fuzz/corpus/$t"
    seed "$t" "$corpus"
    mkdir -p "$fuzz/seeds/$t" "$fuzz/artifacts/$t"
    log="$fuzz/logs/$t.log"
    echo "== $t: ${budget[*]}"
    start=$(date +%s)
    status=0
    # The wall-clock limit only catches a hung process; libFuzzer stops itself at the budget.
    (cd "$root/host-tests" && timeout "$wall" \
        cargo +nightly fuzz run "$t" "$corpus" "$fuzz/seeds/$t" -- \
        "${budget[@]}" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$fuzz/artifacts/$t/") >"$log" 2>&1 || status=$?
    elapsed=$(($(date +%s) - start))
    stat() { grep -Eo "stat::$1: *[0-9]+" "$log" | tail -n 1 | grep -Eo '[0-9]+$' || echo "?"; }
    runs=$(stat number_of_executed_units)
    rate=$(stat average_exec_per_sec)
    new=$(stat new_units_added)
    rss=$(stat peak_rss_mb)
    units=$(find "$corpus" -type f | wc -l)
    if [ "$status" -eq 0 ]; then
        result="ok"
    else
        crashed=1
        artifact=$(grep -Eo "Test unit written to [^ ]+" "$log" | tail -n 1 | sed 's/Test unit written to //' || true)
        result="CRASH (exit $status) ${artifact#"$root"/}"
        grep -E "panicked at|ERROR: (AddressSanitizer|libFuzzer)|SUMMARY" "$log" | head -n 5 || true
    fi
    rows+=("$(printf '%-22s %12s %6s %8s %6s %7s %6s  %s' "$t" "$runs" "$elapsed" "$rate" "$new" "$units" "$rss" "$result")")
done

echo
printf '%-22s %12s %6s %8s %6s %7s %6s  %s\n' target executions s exec/s new corpus rss_mb result
for r in "${rows[@]}"; do echo "$r"; done
echo "(logs: host-tests/fuzz/logs/<target>.log)"
exit "$crashed"
