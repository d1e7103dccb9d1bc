"""PyTorch eager vs ONNX Runtime latency (batch 1, median of repeats), side by side in one run.

Models: the live app's small fusion model (ch3_1_fusion_cnn_like nano, 8 frames, 64 px) and the paper's
full model (ch3_1_fusion_cnn_like base, 16 frames, 224 px; few repeats). Each is exported through the
real mer-export path (verified against PyTorch before it is timed). Goal: ONNX Runtime >= 1.5x eager.

With a CUDA GPU (and --cuda, on by default when one is found) it also exports fp16 and measures PyTorch
CUDA fp32/fp16 against ONNX Runtime CUDA fp32/fp16, with their parity against PyTorch fp32.

    python benchmarks/bench_onnx.py                 # both models
    python benchmarks/bench_onnx.py --skip-base     # only the live model (seconds, not minutes)

Each case prints eager vs ONNX Runtime's default session vs ONNX Runtime with the batch axis fixed to 1 at
load (what mer-live runs), and the speed-up against the goal. Timings on a shared machine vary between runs:
compare rows of one run only.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from export.onnx_export import EXPORTERS, export_checkpoint
from mer_live.checkpoint import Checkpoint, save_checkpoint
from mer_live.models import create_model
from mer_live.runtime import CPU, CUDA, OnnxClassifier, cuda_device_count
from mer_live.spec import ModelSpec

CASES = {
    "live": dict(model="ch3_1_fusion_cnn_like", variant="nano", num_frames=8, image_size=(64, 64), repeats=30),
    "demo": dict(model="ch3_1_fusion_cnn", variant="nano", num_frames=8, image_size=(64, 64), repeats=30),
    "live112": dict(model="ch3_1_fusion_cnn_like", variant="nano", num_frames=8, image_size=(112, 112), repeats=20),
    "paper": dict(model="ch3_1_fusion_cnn_like", variant="base", num_frames=16, image_size=(224, 224), repeats=3),
}


def median_ms(fn, repeats: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def ort_session(path: Path, provider: str, threads: int = 0, level: str = "all"):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = {"basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
                                        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                                        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}[level]
    if threads:
        options.intra_op_num_threads = threads
    providers = [provider] if provider == CPU else [provider, CPU]
    return ort.InferenceSession(str(path), sess_options=options, providers=providers)


def bench_case(name: str, case: dict, folder: Path, exporter: str, use_cuda: bool, ort_variants: bool) -> None:
    spec = ModelSpec(model=case["model"], class_names=("negative", "positive", "surprise"),
                     num_frames=case["num_frames"], image_size=case["image_size"], feature="GRAY_OF",
                     variant=case["variant"], dataset="CDE")
    repeats = case["repeats"]
    warmup = 1 if case["variant"] == "base" else 3
    torch.manual_seed(0)
    net = create_model(spec.model, spec.num_classes, num_frames=spec.num_frames, image_size=spec.image_size,
                       variant=spec.variant).eval()
    params = sum(p.numel() for p in net.parameters()) / 1e6
    h, w = spec.image_size
    print(f"\n== {name}: {spec.model} {spec.variant} ({params:.1f} M params), {spec.num_frames} frames, {h}x{w}, "
          f"batch 1, median of {repeats} (after {warmup} warm-up)")
    save_checkpoint(folder / f"{name}.pt", Checkpoint(spec, net.state_dict(), {}))
    del net
    t0 = time.perf_counter()
    result = export_checkpoint(folder / f"{name}.pt", exporter=exporter, report=lambda m: print("  " + m.replace("\n", "\n  ")))
    print(f"  export ({result.exporter}) + verification: {time.perf_counter() - t0:.1f} s, "
          f"{result.size_bytes / 1e6:.0f} MB")
    net = create_model(spec.model, spec.num_classes, num_frames=spec.num_frames, image_size=spec.image_size,
                       variant=spec.variant).eval()
    net.load_state_dict(torch.load(folder / f"{name}.pt", weights_only=True)["state_dict"])

    x = np.random.default_rng(0).standard_normal((1, spec.num_frames, 4, h, w), dtype=np.float32)
    xt = torch.from_numpy(x)

    def eager():
        with torch.inference_mode():
            return net(xt)

    threads = torch.get_num_threads()
    eager_ms = median_ms(eager, repeats, warmup)
    rows = [(f"PyTorch eager CPU ({threads} threads)", eager_ms)]
    variants = [("ONNX Runtime CPU (ORT_ENABLE_ALL, default threads)", dict(threads=0, level="all"))]
    if ort_variants:
        variants += [("ONNX Runtime CPU (ORT_ENABLE_EXTENDED)", dict(threads=0, level="extended")),
                     ("ONNX Runtime CPU (ORT_ENABLE_ALL, 1 intra-op thread)", dict(threads=1, level="all"))]
    for label, kw in variants:
        session = ort_session(result.output, CPU, **kw)
        run = lambda: session.run(["logits"], {"clip": x})  # noqa: E731
        rows.append((label, median_ms(run, repeats, warmup)))
        del session
    # What mer-live runs: the wrapper with the batch axis fixed to 1 when the session is built.
    live = OnnxClassifier(result.output, "cpu", batch_size=1, warmup=False)
    run = lambda: live.session.run(["logits"], {"clip": x})  # noqa: E731
    rows.append(("ONNX Runtime CPU (batch fixed to 1 at load, as mer-live)", median_ms(run, repeats, warmup)))
    del live
    if ort_variants:  # same thread count on both sides: a machine shared with other work favours one thread
        torch.set_num_threads(1)
        rows.append(("PyTorch eager CPU (1 thread)", median_ms(eager, repeats, warmup)))
        torch.set_num_threads(threads)
    for label, ms in rows:
        print(f"  {label:<55} {ms:9.1f} ms   eager/this = {eager_ms / ms:4.2f}x")
    best = min(ms for label, ms in rows[1:] if label.startswith("ONNX"))
    print(f"  -> ONNX Runtime speed-up over eager: {eager_ms / rows[1][1]:.2f}x (default session), "
          f"best {eager_ms / best:.2f}x; goal >= 1.5x: {'met' if eager_ms / best >= 1.5 else 'NOT met'}")

    if not use_cuda:
        return
    fp16 = export_checkpoint(folder / f"{name}.pt", fp16=True, exporter=exporter, report=lambda m: None)
    device = torch.device("cuda")
    net_gpu = net.to(device)
    x_gpu = xt.to(device)
    with torch.inference_mode():
        ref = torch.softmax(net_gpu(x_gpu).float(), -1).cpu().numpy()

    def torch_cuda(dtype):
        model = net_gpu.to(dtype)
        xi = x_gpu.to(dtype)

        def run():
            with torch.inference_mode():
                model(xi)
            torch.cuda.synchronize()
        return run

    cuda_rows = [("PyTorch eager CUDA fp32", median_ms(torch_cuda(torch.float32), repeats * 3, warmup + 2))]
    cuda_rows.append(("PyTorch eager CUDA fp16", median_ms(torch_cuda(torch.float16), repeats * 3, warmup + 2)))
    for label, path, dtype in (("ONNX Runtime CUDA fp32", result.output, np.float32),
                               ("ONNX Runtime CUDA fp16", fp16.output, np.float16)):
        session = ort_session(path, CUDA)
        if session.get_providers()[0] != CUDA:
            print(f"  {label}: ONNX Runtime could not start CUDA (running {session.get_providers()[0]}); skipped")
            continue
        xi = x.astype(dtype)
        probs = session.run(["probs"], {"clip": xi})[0]
        print(f"  {label} parity vs PyTorch CUDA fp32: max |Δ probs| {np.abs(probs - ref).max():.2e}, "
              f"top-1 {'agrees' if probs.argmax() == ref.argmax() else 'DISAGREES'}")
        cuda_rows.append((label, median_ms(lambda: session.run(["logits"], {"clip": xi}), repeats * 3, warmup + 2)))
    base = cuda_rows[0][1]
    for label, ms in cuda_rows:
        print(f"  {label:<55} {ms:9.2f} ms   torch-fp32/this = {base / ms:4.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=["live", "paper"])
    parser.add_argument("--skip-base", action="store_true", help="leave out the paper's full model")
    parser.add_argument("--exporter", choices=EXPORTERS, default="auto")
    parser.add_argument("--cuda", choices=("auto", "on", "off"), default="auto",
                        help="GPU part (auto: when a CUDA GPU is found)")
    parser.add_argument("--ort-variants", action="store_true",
                        help="also time ORT_ENABLE_EXTENDED and a single intra-op thread")
    args = parser.parse_args()
    import onnxruntime as ort

    gpus = cuda_device_count()
    use_cuda = args.cuda == "on" or (args.cuda == "auto" and gpus > 0)
    print(f"torch {torch.__version__}, onnxruntime {ort.__version__}, CPU threads {torch.get_num_threads()}, "
          f"CUDA GPUs {gpus}")
    if not use_cuda:
        print("CUDA part (PyTorch vs ONNX Runtime CUDA, fp32/fp16 parity and latency): not run "
              + ("(no CUDA GPU found)" if gpus == 0 else "(--cuda off)"))
    cases = [c for c in args.cases if not (args.skip_base and CASES[c]["variant"] == "base")]
    with tempfile.TemporaryDirectory(prefix="bench_onnx_") as tmp:
        for name in cases:
            bench_case(name, CASES[name], Path(tmp), args.exporter, use_cuda, args.ort_variants)


if __name__ == "__main__":
    main()
