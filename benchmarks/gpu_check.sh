#!/usr/bin/env bash
# The GPU check: one command for a lent GPU machine, every figure into one file.
#
#   bash benchmarks/gpu_check.sh [--device cuda] [--out DIR] [--dry-run]
#
# 1. the stack (`bench env`, nvidia-smi);
# 2. the CUDA tests (tests/test_cuda.py and the CUDA placements of tests/test_devicedata.py);
# 3. training throughput on the device: audiocnn, and efficientnet as tf_efficientnetv2_m at 384 px
#    with bf16 autocast (images/s), each against the seed-style DataLoader path;
# 4. feature extraction with the log-mel batched on the device;
# 5. cgan's training throughput (paper size, bf16) against a seed-style loop, and one round of
#    `bench run task=esc50_gan solution=cgan preset=paper epochs=20` on the embedded data;
# 6. one timed `bench run task=urbansound solution=audiocnn` on the embedded data.
# Figures go to DIR/gpu_check.txt (DIR: $OUT on the device machine, else ./gpu-check), each step's
# whole output to DIR/<step>.log. A failing step is recorded and the others still run; the exit
# status is the number of failed steps.
#
# The device machine has no soundfile, optuna, plotly or librosa: carry their wheels in .whl/
# (see /work/.library/device/README.md: pip download --no-deps --only-binary=:all: --python-version
# 3.12 ... -d .whl soundfile plotly narwhals optuna alembic sqlalchemy colorlog mako librosa
# audioread lazy_loader numba llvmlite pooch soxr msgpack decorator); they are installed into
# /tmp/site. bench itself runs from the working tree (PYTHONPATH), nothing is downloaded.
#
# --dry-run shrinks every step (tiny models, a few clips, one fold) so the whole script runs in a
# minute on a CPU with --device cpu; tests/test_gpu_check.py runs it that way.
set -uo pipefail
cd "$(dirname "$0")/.."

device=cuda
dry=0
out="${OUT:-$PWD/gpu-check}"
while [ $# -gt 0 ]; do
    case "$1" in
        --device) device="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --dry-run) dry=1; shift ;;
        -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "gpu_check.sh: unknown argument $1 (--device, --out, --dry-run)" >&2; exit 2 ;;
    esac
done
mkdir -p "$out"
report="$out/gpu_check.txt"
: > "$report"
python=${PYTHON:-python3}

if compgen -G ".whl/*.whl" > /dev/null; then
    "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export BENCH_CACHE_DIR="${BENCH_CACHE_DIR:-/tmp/bench-gpu-check-cache}"
work=$(mktemp -d)

failed=0
step() {  # step NAME COMMAND...: run it, keep its output, put its figures and time in the report
    local name=$1
    shift
    echo "== $name: $*" | tee -a "$report"
    local t0=$SECONDS
    "$@" > "$out/$name.log" 2>&1
    local rc=$?
    grep -v '^$' "$out/$name.log" | grep -Ev '^(embedded|extracting|writing|split|epoch)' | tail -n 25 >> "$report"
    echo "   ($name: exit $rc, $((SECONDS - t0)) s)" | tee -a "$report"
    [ $rc -eq 0 ] || failed=$((failed + 1))
}

if [ $dry -eq 1 ]; then
    train=(--clips 8 --repeats 1 --batch-size 8 --img-size 32 --model test_efficientnet --workers 1)
    features=(--files 8)
    run=(preset=tiny folds=1)
    gan=(--clips 16 --repeats 1 --frames 32 --n-mels 16 --batch-size 8 --workers 1)
    gan_run=(preset=tiny)
else
    train=()
    features=(--files 800)
    run=()
    gan=(--preset paper --frames 431 --clips 1024 --batch-size 64)
    gan_run=(preset=paper epochs=20 folds=1)
fi

echo "gpu_check: $(date -u +%Y-%m-%dT%H:%M:%SZ), device $device$([ $dry -eq 1 ] && echo ', dry run')" | tee -a "$report"
step env "$python" -m bench env
if command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >> "$report" 2>&1
fi
step cuda_tests "$python" -m pytest -q -p no:cacheprovider tests/test_cuda.py tests/test_devicedata.py
step train_throughput "$python" benchmarks/train_throughput.py --device "$device" --amp "${train[@]}"
step feature_extraction "$python" benchmarks/feature_extraction.py --device "$device" --data-cache "$BENCH_CACHE_DIR" "${features[@]}"
step gan_throughput "$python" benchmarks/gan_throughput.py --device "$device" --amp "${gan[@]}"
step esc50_gan_cgan bash -c "cd '$work' && time '$python' -m bench run task=esc50_gan solution=cgan device=$device progress=false ${gan_run[*]}"
step urbansound_audiocnn bash -c "cd '$work' && time '$python' -m bench run task=urbansound solution=audiocnn device=$device progress=false ${run[*]}"
echo "gpu_check: $failed step(s) failed; figures in $report, logs beside it" | tee -a "$report"
exit $failed
