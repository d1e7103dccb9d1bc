#!/usr/bin/env bash
# A short check of the flow and the paper's model on a lent GPU, for when too little device time is left for
# scripts/gpu_check.sh (no installs, no ONNX Runtime CUDA, no tests, no live engine):
#
#   OUT=/path/to/results bash scripts/gpu_quick_check.sh     # from the repository root; ~2-4 min on one H200
#
#   env           nvidia-smi and torch's CUDA
#   bench-flow    benchmarks/bench_flow.py --cuda on (OpenCV vs torch flow per 16-pair window, CPU and CUDA, EPE)
#   paper-window  scripts/gpu_paper_window.py --device cuda (torch flow + features + the paper's model, 50 windows)
# Each step runs under `timeout`, even when an earlier one failed; a step whose Python modules are missing
# here is SKIPPED, not failed. Everything goes to $OUT/log.txt; the figures are also printed.
# GPU_CHECK_DRY=1: small sizes on the CPU, for trying the script where there is no GPU.
set -u
OUT=${OUT:?set OUT to the folder for the results}
mkdir -p "$OUT"
LOG=$OUT/log.txt
PY=${PYTHON:-python3}
DRY=${GPU_CHECK_DRY:-0}
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
: >"$LOG"
START=$SECONDS

# step NAME LIMIT MODULES COMMAND...: COMMAND under `timeout LIMIT`, skipped when MODULES (comma-separated) do not import.
step() {
    local name=$1 limit=$2 modules=$3
    shift 3
    echo "===== $name (timeout ${limit}s, at ${SECONDS}s): $*" | tee -a "$LOG"
    if ! "$PY" -c "import ${modules}" >>"$LOG" 2>&1; then
        echo "===== $name: SKIPPED (cannot import one of ${modules})" | tee -a "$LOG"
        return
    fi
    local t0=$SECONDS rc
    timeout -k 5 "$limit" "$@" >>"$LOG" 2>&1
    rc=$?
    case $rc in 0) s=ok ;; 124 | 137) s="TIMEOUT after ${limit}s" ;; *) s="FAILED (exit $rc)" ;; esac
    echo "===== $name: $s in $((SECONDS - t0))s" | tee -a "$LOG"
}

if [ "$DRY" = 1 ]; then
    FLOW_ARGS=(--sizes 32 --repeats 2 --cuda auto)
    PAPER_ARGS=(--device cpu --variant nano --frames 4 --size 32 --warmup 1 --iters 3)
else
    FLOW_ARGS=(--sizes 112 224 --repeats 20 --cuda on)
    PAPER_ARGS=(--device cuda --warmup 5 --iters 50)
fi
step env 45 sys bash -c "nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; \
echo cpu cores: \$(nproc); $PY -c 'import torch;print(torch.__version__, torch.version.cuda, torch.cuda.is_available())'"
step bench-flow 130 torch,cv2,scipy,mer_live.flow,mer_live.torch_flow,mer_live.synthetic.render \
    "$PY" benchmarks/bench_flow.py "${FLOW_ARGS[@]}"
step paper-window 100 torch,cv2,timm,mer_live.models,mer_live.features,mer_live.synthetic.render \
    "$PY" scripts/gpu_paper_window.py "${PAPER_ARGS[@]}"

echo "----- figures (all of it in $LOG), total ${SECONDS}s"
grep -aE '^=====|NVIDIA|name,|cpu cores|^[0-9]+\.[0-9]+.*(True|False)|px$|ms/window|opencv, |torch c|OVER|params|p50|windows/s|Error|error' "$LOG" \
    | cut -c1-200 | tail -c 8000
exit 0
