#!/usr/bin/env bash
# One prepared check of mer-live's CUDA paths on a lent GPU machine, within a fixed wall-clock budget.
#
#   OUT=/path/to/results bash scripts/gpu_check.sh          # from the repository root
#
# Steps (each under `timeout`, each runs even when an earlier one failed; never more than the budget left):
#   install   wheels from .gpuw/ and onnxruntime-gpu from .ort1..4/ into $GPU_CHECK_SITE (default /tmp/site)
#   env       nvidia-smi, Python / torch / CUDA versions, onnxruntime's providers
#   ort-cuda  a tiny ONNX graph on CUDAExecutionProvider via onnxruntime.preload_dlls() (what mer-live does);
#             if that fails, again with LD_LIBRARY_PATH set to the nvidia-* wheels' lib folders (kept after)
#   bench-flow    benchmarks/bench_flow.py --cuda on (OpenCV vs torch flow per 16-pair window, CPU and CUDA, with
#             each torch run's end-point error against OpenCV), before anything else loads the CPUs
#   export-paper  (in the background, beside the tests) the paper's model (ch3_1_fusion_cnn_like base,
#             16 x 224 px, GRAY_OF, random weights) through mer-export to ONNX
#   tests     the suite without the Qt tests (PySide6 is not installed), tests/test_gpu.py included
#   bench-onnx    benchmarks/bench_onnx.py --cases live live112 --cuda on (PyTorch vs ORT, CUDA fp32/fp16)
#   bench-learn   benchmarks/bench_learning.py --gpu-speed (fp32 vs --amp seconds per epoch, 224 px, 16 frames)
#   bench-live    benchmarks/bench_live.py on the paper model's export with --provider cuda
# Results: $OUT/gpu_check.log (everything), $OUT/summary.txt (step / status / seconds), $OUT/env.json,
# $OUT/ort_cuda.json (+ ort_cuda_ldpath.json when the retry ran), $OUT/junit.xml. The benchmarks print their figures (no files of their own).
#
# Getting the pieces there (seen on the device tool, 2026-11): a carried folder that a later call does not name
# is REMOVED there, so each call copies its piece out of the tree while the machine is warm:
#   call 1 carry [.gpuw, .ort1], calls 2-3 carry [.ort2] / [.ort3]: `mkdir -p /tmp/parts; cp .ort*/part.* /tmp/parts/`
#   call 4 carry [.gpuw, .ort4]: `for x in aa:1 ab:2 ac:3; do mkdir -p .ort${x#*:}; cp /tmp/parts/part.${x%:*} .ort${x#*:}/;
#   done; bash scripts/gpu_check.sh` (timeout_s 480). The calls must follow within the machine's 30 s warm time.
#
# GPU_CHECK_DRY=1: no install, smaller runs (a few test files, nano models): for trying the script on a CPU machine,
# where the CUDA steps must fail or skip with a clear message. GPU_CHECK_BUDGET: total seconds (default 500).
set -u

OUT=${OUT:?set OUT to the folder for the results}
mkdir -p "$OUT"
DRY=${GPU_CHECK_DRY:-0}
SITE=${GPU_CHECK_SITE:-/tmp/site}
WORK=${GPU_CHECK_WORK:-/tmp/gpu_check}
PY=${PYTHON:-python3}
BUDGET=${GPU_CHECK_BUDGET:-500}
LOG="$OUT/gpu_check.log"
SUMMARY="$OUT/summary.txt"
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 MPLBACKEND=Agg QT_QPA_PLATFORM=offscreen
export OUT DRY SITE WORK PY
rm -rf "$WORK" && mkdir -p "$WORK"
: >"$LOG"
START=$SECONDS
ROWS=()

now() { date +%s.%N; }

# step NAME LIMIT FUNCTION: run FUNCTION in a child bash under `timeout`, logged with a header and its status.
step() {
    local name=$1 limit=$2 fn=$3
    local left=$((BUDGET - (SECONDS - START) - 5))
    if ((left < 10)); then
        printf '\n===== %s: SKIPPED (budget of %ss spent)\n' "$name" "$BUDGET" | tee -a "$LOG"
        ROWS+=("$name|SKIPPED (no time left)|0")
        return
    fi
    ((limit > left)) && limit=$left
    printf '\n===== %s (timeout %ss) started %s\n' "$name" "$limit" "$(date -u +%H:%M:%S)" | tee -a "$LOG"
    local t0 t1 rc status
    t0=$(now)
    timeout -k 10 "$limit" bash -c "$(declare -f "$fn"); set -u; $fn" >>"$LOG" 2>&1
    rc=$?
    t1=$(now)
    status=$(status_of $rc "$limit")
    local secs
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    printf '===== %s: %s in %ss\n' "$name" "$status" "$secs" | tee -a "$LOG"
    ROWS+=("$name|$status|$secs")
    LAST_RC=$rc
}

status_of() {  # exit status -> the summary's word
    case $1 in 0) echo ok ;; 124 | 137) echo "TIMEOUT after ${2}s" ;; *) echo "FAILED (exit $1)" ;; esac
}

# step_bg NAME LIMIT FUNCTION: like step, but in the background (its log is kept apart until step_wait).
step_bg() {
    local name=$1 limit=$2 fn=$3
    local left=$((BUDGET - (SECONDS - START) - 5))
    ((limit > left)) && limit=$left
    BG_NAME=$name BG_LIMIT=$limit BG_T0=$(now)
    printf '\n===== %s (background, timeout %ss) started %s\n' "$name" "$limit" "$(date -u +%H:%M:%S)" | tee -a "$LOG"
    timeout -k 10 "$limit" bash -c "$(declare -f "$fn"); set -u; $fn" >"$WORK/$name.log" 2>&1 &
    BG_PID=$!
}

step_wait() {
    wait "$BG_PID"
    local rc=$? secs status
    secs=$(awk -v a="$BG_T0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
    status=$(status_of $rc "$BG_LIMIT")
    printf '\n===== %s (background) output:\n' "$BG_NAME" >>"$LOG"
    cat "$WORK/$BG_NAME.log" >>"$LOG"
    printf '===== %s: %s in %ss (overlapping the steps before)\n' "$BG_NAME" "$status" "$secs" | tee -a "$LOG"
    ROWS+=("$BG_NAME (bg)|$status|$secs")
}

# ------------------------------------------------------------------------------------------- the steps
install() {
    if [ "$DRY" = 1 ]; then echo "GPU_CHECK_DRY=1: no install"; return 0; fi
    shopt -s nullglob
    rm -rf "$SITE" && mkdir -p "$SITE"
    local rc=0
    # pytest-qt is left out on purpose: without PySide6 its plugin stops every pytest run at start-up.
    local wheels=()
    for w in .gpuw/*.whl; do case $w in *pytest_qt*) ;; *) wheels+=("$w") ;; esac; done
    if ((${#wheels[@]})); then
        "$PY" -m pip install -q --no-index --no-deps --no-compile --disable-pip-version-check --target "$SITE" \
            "${wheels[@]}" || rc=1
    else
        echo "no wheels in .gpuw/ (facenet-pytorch, openpyxl, et-xmlfile): MTCNN and .xlsx tests will fail"; rc=1
    fi
    local parts=(.ort1/part.* .ort2/part.* .ort3/part.* .ort4/part.*)
    local missing=0
    for d in .ort1 .ort2 .ort3 .ort4; do
        [ -n "$(ls "$d"/part.* 2>/dev/null)" ] || { echo "missing ONNX Runtime piece: $d/part.*"; missing=1; }
    done
    if [ $missing = 0 ]; then
        ls -l "${parts[@]}"
        cat "${parts[@]}" | xz -d -T0 | tar x -C "$SITE" || { echo "unpacking onnxruntime-gpu failed"; rc=1; }
    else
        echo "onnxruntime-gpu not unpacked: the CUDA provider cannot be checked"; rc=1
    fi
    # onnxruntime.preload_dlls() looks for nvidia/* beside the onnxruntime package: point it at torch's wheels.
    local nv
    nv=$("$PY" -c "import os, torch; print(os.path.join(os.path.dirname(os.path.dirname(torch.__file__)), 'nvidia'))")
    if [ -d "$nv" ]; then ln -sfn "$nv" "$SITE/nvidia" && echo "linked $SITE/nvidia -> $nv"; else echo "no $nv"; fi
    ls "$SITE"
    return $rc
}

env_report() {
    if command -v nvidia-smi >/dev/null; then
        nvidia-smi -L
        nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    else
        echo "nvidia-smi not found: no NVIDIA driver on this machine"
    fi
    echo "CPU cores: $(nproc)"
    "$PY" - <<'EOF'
import json, os, platform, sys
import torch
info = {"python": sys.version.split()[0], "platform": platform.platform(), "torch": torch.__version__,
        "torch_cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
        "cuda_available": torch.cuda.is_available(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None}
for name in ("torchvision", "timm", "onnx", "onnxruntime", "cv2", "facenet_pytorch", "openpyxl", "numpy"):
    try:
        module = __import__(name)
        info[name] = f"{getattr(module, '__version__', '?')} ({os.path.dirname(module.__file__)})"
    except Exception as exc:  # noqa: BLE001
        info[name] = f"NOT IMPORTABLE: {exc}"
try:
    import onnxruntime as ort
    info["ort_providers"] = ort.get_available_providers()
    info["ort_device"] = ort.get_device()
except Exception as exc:  # noqa: BLE001
    info["ort_providers"] = f"NOT IMPORTABLE: {exc}"
from mer_live.runtime import cuda_device_count, tensorrt_loadable
info["mer_live_cuda_device_count"] = cuda_device_count()
info["tensorrt_loadable"] = tensorrt_loadable()
info["note"] = "TensorRT EP cannot be checked here: TensorRT (libnvinfer) is not installed" \
    if not info["tensorrt_loadable"] else "libnvinfer found"
print(json.dumps(info, indent=1))
open(os.path.join(os.environ["OUT"], "env.json"), "w").write(json.dumps(info, indent=1))
EOF
}

ort_cuda() {
    # A one-node graph on the CUDA provider, onnxruntime imported WITHOUT torch (the live app's order).
    "$PY" - <<'EOF'
import json, os, sys, time
import numpy as np
import onnx
from onnx import TensorProto, helper
import onnxruntime as ort

result = {"onnxruntime": ort.__version__, "file": ort.__file__, "available": ort.get_available_providers(),
          "LD_LIBRARY_PATH": os.environ.get("LD_LIBRARY_PATH", "")}
if hasattr(ort, "preload_dlls"):
    try:
        ort.preload_dlls()
        result["preload_dlls"] = "ok"
    except Exception as exc:  # noqa: BLE001
        result["preload_dlls"] = f"failed: {exc}"
else:
    result["preload_dlls"] = "absent in this onnxruntime"
node = helper.make_node("MatMul", ["x", "w"], ["y"])
w = helper.make_tensor("w", TensorProto.FLOAT, [64, 64], np.eye(64, dtype=np.float32).ravel().tolist())
graph = helper.make_graph([node], "probe", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])], [w])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
model.ir_version = 9
path = os.path.join(os.environ["WORK"], "probe.onnx")
onnx.save(model, path)
ok = False
try:
    t0 = time.perf_counter()
    sess = ort.InferenceSession(path, providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    result["session_providers"] = sess.get_providers()
    x = np.arange(64, dtype=np.float32)[None]
    y = sess.run(["y"], {"x": x})[0]
    result["output_matches"] = bool(np.allclose(x, y))
    result["seconds"] = round(time.perf_counter() - t0, 2)
    ok = sess.get_providers()[0] == "CUDAExecutionProvider" and result["output_matches"]
except Exception as exc:  # noqa: BLE001
    result["error"] = f"{type(exc).__name__}: {exc}"
result["cuda_session_runs"] = ok
print(json.dumps(result, indent=1))
name = "ort_cuda_ldpath.json" if os.environ.get("LD_LIBRARY_PATH") else "ort_cuda.json"
open(os.path.join(os.environ["OUT"], name), "w").write(json.dumps(result, indent=1))
if not ok:
    print("CUDAExecutionProvider did NOT run the probe session", file=sys.stderr)
    sys.exit(3)
print("CUDAExecutionProvider runs")
EOF
}

tests() {
    # Qt tests need PySide6 (not installed); test_reliability's window test asks for pytest-qt's qtbot.
    "$PY" -c "import torch; print('torch.cuda.is_available():', torch.cuda.is_available())"
    local extra=()
    [ "$DRY" = 1 ] && extra=(tests/test_gpu.py tests/test_runtime.py)
    "$PY" -m pytest -q -p no:cacheprovider -p no:pytest-qt --tb=short --durations=15 --junitxml="$OUT/junit.xml" \
        --ignore=tests/test_gui.py --ignore=tests/test_gui_run_state.py \
        --deselect tests/test_reliability.py::test_window_blames_the_model_not_the_video \
        "${extra[@]}"
    local rc=$?
    echo "--- tests/test_gpu.py (the CUDA paths) in detail:"
    "$PY" - <<'EOF'
import os, xml.etree.ElementTree as ET
path = os.path.join(os.environ["OUT"], "junit.xml")
if os.path.exists(path):
    for case in ET.parse(path).iter("testcase"):
        if "test_gpu" in case.get("classname", ""):
            verdict = next((c.tag + ": " + (c.get("message") or "")[:200] for c in case), "passed")
            print(f"  {case.get('name')}: {verdict} ({float(case.get('time', 0)):.1f} s)")
EOF
    return $rc
}

bench_flow() {
    if [ "$DRY" = 1 ]; then
        "$PY" benchmarks/bench_flow.py --sizes 64 --repeats 2 --cuda auto
    else
        "$PY" benchmarks/bench_flow.py --sizes 112 224 --repeats 5 --cuda on
    fi
}

bench_onnx() {
    if [ "$DRY" = 1 ]; then
        "$PY" benchmarks/bench_onnx.py --cases demo --cuda auto
    else
        "$PY" benchmarks/bench_onnx.py --cases live live112 --cuda on
    fi
}

bench_learn() {
    if [ "$DRY" = 1 ]; then
        "$PY" benchmarks/bench_learning.py --gpu-speed --gpu-variant nano
    else
        "$PY" benchmarks/bench_learning.py --gpu-speed --clips-per-class 2 --gpu-epochs 2
    fi
}

export_paper() {
    local variant=base size=224 frames=16
    [ "$DRY" = 1 ] && { variant=nano; size=64; frames=8; }
    "$PY" - "$WORK/paper.pt" "$variant" "$size" "$frames" <<'EOF'
import sys
import torch
from mer_live.checkpoint import Checkpoint, save_checkpoint
from mer_live.models import create_model
from mer_live.spec import ModelSpec

path, variant, size, frames = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
spec = ModelSpec(model="ch3_1_fusion_cnn_like", class_names=("negative", "positive", "surprise"), num_frames=frames,
                 image_size=(size, size), feature="GRAY_OF", variant=variant, dataset="SMIC")
torch.manual_seed(0)
net = create_model(spec.model, spec.num_classes, num_frames=frames, image_size=spec.image_size, variant=variant).eval()
save_checkpoint(path, Checkpoint(spec, net.state_dict(), {}))
print(f"random-weight checkpoint {path}: {spec.model} {variant} {frames}x{size}px "
      f"({sum(p.numel() for p in net.parameters()) / 1e6:.1f} M params)")
EOF
    "$PY" -m export.cli "$WORK/paper.pt" -o "$WORK/paper.onnx" --static-batch
}

bench_live() {
    if [ ! -f "$WORK/paper.onnx" ]; then echo "no $WORK/paper.onnx: export-paper did not finish"; return 2; fi
    "$PY" benchmarks/bench_live.py --model "$WORK/paper.onnx" --provider cuda --seconds 11
}

# ------------------------------------------------------------------------------------------- the run
echo "gpu_check: budget ${BUDGET}s, dry=$DRY, out=$OUT, site=$SITE" | tee -a "$LOG"
step install 90 install
if [ "$DRY" = 1 ]; then
    export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
else
    export PYTHONPATH=$SITE:$PWD
fi
step env 60 env_report
LAST_RC=1
step ort-cuda 60 ort_cuda
if [ "$LAST_RC" != 0 ]; then
    NV=$(readlink -f "$SITE/nvidia" 2>/dev/null || true)
    if [ -n "$NV" ] && [ -d "$NV" ]; then
        LD=$(find "$NV" -maxdepth 3 -type d -name lib | sort | tr '\n' ':')
        export LD_LIBRARY_PATH=${LD%:}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
        echo "preload_dlls alone did not start CUDA: LD_LIBRARY_PATH=$LD_LIBRARY_PATH from now on" | tee -a "$LOG"
        step ort-cuda-ldpath 45 ort_cuda
    fi
fi
step bench-flow 60 bench_flow
# The paper model's export is CPU work: it runs beside the tests, and ends before any timing starts.
step_bg export-paper 170 export_paper
step tests 250 tests
step_wait
step bench-onnx 70 bench_onnx
step bench-learn 70 bench_learn
step bench-live 120 bench_live

# What matters of the log, on stdout too (in case the files do not come back).
echo
echo "----- digest of $LOG"
grep -aE '^=====|cuda_session_runs|"session_providers"|"error"|"ort_providers"|"gpu"|"torch"|"onnxruntime"|LD_LIBRARY_PATH=|passed|failed|^(FAILED|ERROR) |test_gpu|CUDA|fp32:|speed-up|goals:|fps |predictions/s|latency|ms/window|opencv, |torch c|OVER THE TOLERANCE|model alone|export \(|^model |^wrote |verification \(|Error|error:' "$LOG" \
    | grep -v '^\s*$' | cut -c1-240 | tail -c 9000
{
    printf '\n%-18s %-26s %8s\n' step status seconds
    for row in "${ROWS[@]}"; do
        IFS='|' read -r name status secs <<<"$row"
        printf '%-18s %-26s %8s\n' "$name" "$status" "$secs"
    done
    printf '%-18s %-26s %8s\n' total "" "$((SECONDS - START))"
} | tee "$SUMMARY" | tee -a "$LOG"
exit 0
