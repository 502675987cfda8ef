#!/usr/bin/env bash
# The GPU check: one command that, on a machine with a CUDA GPU, runs the `gpu` tests, the fine-tuning
# throughput benchmark against a plain PyTorch loop (resnet18 at 64 and 224 px, batch 128, bf16 and fp32)
# while sampling the GPU's utilisation, and a two-worker `tune` on a shipped task, writing everything
# under one folder. Each step has its own timeout; the whole check stays under 8 minutes.
#
#   benchmarks/gpu_check.sh [--dry-run] [OUT_DIR]      (default OUT_DIR: gpu_check_out)
#
# --dry-run runs the same steps on the CPU at tiny sizes (a minute or two on 2 cores; the gpu tests
# are collected and skip), to check the script itself on a machine without a GPU. Without --dry-run
# and without a GPU it stops at once with one line and exit status 2.
# Results: OUT_DIR/summary.md (what ran, exit status and seconds of each step, the throughput tables,
# the GPU's busy share, the tune time split), and each step's log and md/json files beside it.
# Python: $PYTHON if set, else the repository's .venv/bin/python, else python3.
set -u

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }

DRY=0
OUT=gpu_check_out
for arg in "$@"; do
    case "$arg" in
        --dry-run) DRY=1 ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "gpu_check.sh: unknown option '$arg'. Usage: benchmarks/gpu_check.sh [--dry-run] [OUT_DIR]" >&2; exit 2 ;;
        *) OUT=$arg ;;
    esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${PYTHON:-}" ]; then PY=$PYTHON
elif [ -x "$ROOT/.venv/bin/python" ]; then PY=$ROOT/.venv/bin/python
else PY=python3; fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$OUT" || { echo "gpu_check.sh: cannot create the output folder '$OUT'. Pass a writable folder." >&2; exit 2; }
OUT=$(cd "$OUT" && pwd)
cd "$ROOT" || exit 2

if [ "$DRY" = 0 ]; then
    if ! "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
        echo "gpu_check.sh: no CUDA GPU is visible to torch (torch.cuda.is_available() is False); run it on a machine with a GPU, or pass --dry-run for the CPU-safe parts." >&2
        exit 2
    fi
fi

STEPS="$OUT/steps.tsv"
printf 'step\texit\tseconds\n' > "$STEPS"
FAILED=0
step() {  # step NAME TIMEOUT_S COMMAND...
    local name=$1 limit=$2; shift 2
    local t0; t0=$(date +%s)
    echo "== $name (timeout ${limit}s)"
    timeout --kill-after=10 "$limit" "$@" > "$OUT/$name.log" 2>&1
    local rc=$?
    local dt=$(( $(date +%s) - t0 ))
    printf '%s\t%s\t%s\n' "$name" "$rc" "$dt" >> "$STEPS"
    if [ "$rc" != 0 ]; then
        FAILED=1
        [ "$rc" = 124 ] && echo "   timed out after ${limit}s (see $OUT/$name.log)" || echo "   failed with exit status $rc (see $OUT/$name.log)"
        tail -n 5 "$OUT/$name.log" | sed 's/^/   | /'
    else
        echo "   ok in ${dt}s"
    fi
}

if [ "$DRY" = 1 ]; then
    DEVICE=cpu; RESOLUTIONS="16"; BACKBONE=smallcnn_tiny; IMAGES_SMALL=200; IMAGES_LARGE=200
    REPEATS=1; EPOCHS=1; EXTRA="--threads 1"
    TUNE_ARGS="--task glyphs-symbols-mono-12c-5s --max-budget 3 --iterations 1 --backbone smallcnn_tiny"
    T_TESTS=120; T_BENCH=120; T_TUNE=240
else
    DEVICE=cuda; RESOLUTIONS="64 224"; BACKBONE=resnet18; IMAGES_SMALL=4000; IMAGES_LARGE=2000
    REPEATS=3; EPOCHS=2; EXTRA=""
    TUNE_ARGS="--task mnist-10c-120s --max-budget 9 --iterations 3 --backbone smallcnn"
    T_TESTS=60; T_BENCH=70; T_TUNE=120   # 60 + 4 x 70 + 120 = 460 s at most, with the set-up under 8 minutes
fi

{
    echo "mode: $([ "$DRY" = 1 ] && echo "dry run (CPU, tiny sizes)" || echo "GPU")"
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "git: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    "$PY" -c "import torch; print('torch', torch.__version__, '| cuda', torch.version.cuda, '|', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU')"
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
} > "$OUT/environment.txt" 2>&1

step gpu_tests "$T_TESTS" "$PY" -m pytest -q -m gpu -p no:cacheprovider tests/

SAMPLER=""
if [ "$DRY" = 0 ] && command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 200 \
        > "$OUT/gpu_utilization.csv" 2>/dev/null &
    SAMPLER=$!
fi
for res in $RESOLUTIONS; do
    images=$IMAGES_SMALL; [ "$res" -ge 128 ] && images=$IMAGES_LARGE
    for prec in bf16 fp32; do
        step "throughput_${res}px_${prec}" "$T_BENCH" "$PY" benchmarks/finetune_throughput.py --device "$DEVICE" \
            --backbones "$BACKBONE" --resolution "$res" --batch-size 128 --precision "$prec" --images "$images" \
            --epochs "$EPOCHS" --repeats "$REPEATS" --tag "${res}px_${prec}" --out "$OUT" $EXTRA
    done
done
[ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null

# shellcheck disable=SC2086
step tune_two_workers "$T_TUNE" "$PY" benchmarks/tune_split.py --workers 2 --device "$DEVICE" $TUNE_ARGS \
    --out "$OUT" --stem "tune_split_$DEVICE"

{
    echo "# GPU check ($(head -n 1 "$OUT/environment.txt"))"
    echo
    sed 's/^/    /' "$OUT/environment.txt"
    echo
    echo "| step | exit status | seconds |"
    echo "|---|---:|---:|"
    tail -n +2 "$STEPS" | awk -F '\t' '{printf "| %s | %s | %s |\n", $1, $2, $3}'
    echo
    if [ -s "$OUT/gpu_utilization.csv" ]; then
        awk -F ', *' '{n++; s+=$2; if ($2 > 90) b++} END {if (n) printf "GPU utilisation during the throughput steps (nvidia-smi every 200 ms, plain loop and hyperstar together): mean %.0f%%, samples above 90%%: %.0f%% of %d.\n\n", s/n, 100*b/n, n}' "$OUT/gpu_utilization.csv"
    fi
    echo "gpu tests: $(tail -n 1 "$OUT/gpu_tests.log" 2>/dev/null)"
    echo
    for f in "$OUT"/finetune_throughput_*.md "$OUT"/tune_split_*.md; do
        [ -f "$f" ] && { sed 's/^# /## /' "$f"; echo; }
    done
} > "$OUT/summary.md"
echo "wrote $OUT/summary.md"
exit "$FAILED"
