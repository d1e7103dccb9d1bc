"""What a run shows while it trains: TensorBoard scalars (-tb), per-subject curves (--subtb), and sample
held-out clips with their predictions (--visualize) as PNG strips (and TensorBoard images with -tb).

Strips instead of TensorBoard videos: add_video needs moviepy, which the project does not depend on.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import cv2
import numpy as np

from mer_live.frames import write_frame
from training.cache import ClipCache
from training.options import TrainOptions

SAMPLES_PER_FOLD = 4
FRAMES_PER_STRIP = 8
TILE = 96


def safe_name(name: str) -> str:
    """A subject or clip id as a file or folder name (CDE ids hold a slash: "SMIC/s01" -> "SMIC-s01")."""
    return name.replace("/", "-").replace("\\", "-")


def clip_strip(frames: np.ndarray, flow: np.ndarray | None, caption: str) -> np.ndarray:
    """A row of evenly spaced frames (and below it their flow magnitude) under a caption; RGB uint8."""
    picks = np.linspace(0, len(frames) - 1, min(FRAMES_PER_STRIP, len(frames))).round().astype(int)
    row = np.concatenate([cv2.resize(frames[i], (TILE, TILE), interpolation=cv2.INTER_NEAREST) for i in picks], axis=1)
    rows = [row]
    if flow is not None:
        magnitude = flow[np.minimum(picks, len(flow) - 1), ..., 0]
        scale = 255.0 / max(float(magnitude.max()), 1e-6)
        tiles = [cv2.applyColorMap(np.clip(m * scale, 0, 255).astype(np.uint8), cv2.COLORMAP_VIRIDIS)[..., ::-1]
                 for m in magnitude]
        rows.append(np.concatenate([cv2.resize(t, (TILE, TILE), interpolation=cv2.INTER_NEAREST) for t in tiles], axis=1))
    body = np.concatenate(rows, axis=0)
    band = np.full((24, body.shape[1], 3), 255, np.uint8)
    cv2.putText(band, caption, (4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return np.ascontiguousarray(np.concatenate([band, body], axis=0))


class FoldLogger:
    """TensorBoard writers and sample strips for the folds this process runs."""

    def __init__(self, options: TrainOptions, out_dir: Path):
        self.options = options
        self.out_dir = out_dir
        self.tb_root: Path | None = None
        if options.tensorboard:
            tb = Path(options.tensorboard)
            self.tb_root = tb if tb.is_absolute() else out_dir / "tensorboard" / tb
        self._writers: dict[str, Any] = {}

    def _writer(self, name: str):
        if self.tb_root is None:
            return None
        if name not in self._writers:
            from torch.utils.tensorboard import SummaryWriter

            self._writers[name] = SummaryWriter(log_dir=str(self.tb_root / name))
        return self._writers[name]

    def _close(self, name: str) -> None:
        writer = self._writers.pop(name, None)
        if writer is not None:
            writer.close()

    def epoch_callback(self, subject: str | None) -> Callable[[int, dict[str, Any]], None] | None:
        """Per-epoch curves: each held-out subject's with --subtb, the final model's with -tb."""
        if self.tb_root is None or (subject is not None and not self.options.subtb):
            return None
        name = "final" if subject is None else f"subjects/{safe_name(subject)}"

        def log(epoch: int, record: dict[str, Any]) -> None:
            writer = self._writer(name)
            for key, value in record.items():
                writer.add_scalar(key, value, epoch + 1)

        return log

    def fold_done(self, subject: str, cache: ClipCache, held_clips: Sequence, predictions: dict[str, Any],
                  class_names: Sequence[str], folder: Path) -> None:
        self._close(f"subjects/{safe_name(subject)}")
        if not self.options.visualize:
            return
        writer = self._writer("visualize")
        for i, clip in enumerate(held_clips[:SAMPLES_PER_FOLD]):
            prepared = cache.get(clip.frames)
            pred = predictions["pred_last"][i]
            prob = predictions["probs_last"][i][pred]
            caption = f"{clip.clip_id}: true {class_names[clip.label]}, predicted {class_names[pred]} ({prob:.2f})"
            strip = clip_strip(prepared.frames, prepared.flow, caption)
            write_frame(folder / "visualize" / f"{safe_name(clip.clip_id)}.png", strip)
            if writer is not None:
                writer.add_image(f"{safe_name(subject)}/{safe_name(clip.clip_id)}", strip, dataformats="HWC")
        self._close("visualize")

    def report_done(self, report: dict[str, Any]) -> None:
        """LOSO curves pooled over folds (had every fold stopped after epoch e) and the report text."""
        writer = self._writer("loso")
        if writer is None:
            return
        for point in report["per_epoch"]:
            for key in ("acc", "uar", "uf1", "train_loss"):
                writer.add_scalar(f"loso/{key}", point[key], point["epoch"])
        writer.add_text("report", (self.out_dir / "report.md").read_text(encoding="utf-8"))
        self.close()

    def close(self) -> None:
        for name in list(self._writers):
            self._close(name)
