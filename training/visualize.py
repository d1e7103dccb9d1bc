"""What a run shows while it trains, in TensorBoard (-tb) and on disk.

- -tb: the LOSO curves pooled over folds (train and held-out Acc, UAR, UF1, loss), a confusion figure per
  epoch (train and held-out side by side), the test-selected ("best") confusion figure, the hparams
  table, and the final model's curves; as the original code (Hong et al. 2022) logged them.
- --subtb: the same curves for every held-out subject. Without -tb it logs under OUT/tensorboard, as the
  original code's -tb default "." did; it never logs nothing.
- --visualize: after every epoch, one training clip and one held-out clip of each class (the first of the
  class in each set; a class the held-out subject lacks has none), as the original code showed them, with the
  model's prediction: with -tb (or --subtb) TensorBoard videos captioned with the true label and the class
  probabilities, one step per epoch; and the last epoch's PNG strips in each fold's visualize/ folder.
  Training clips are shown un-augmented.

TensorBoard's add_video needs moviepy, which the project does not depend on; the videos are written as the
same GIF image summaries add_video writes, encoded with Pillow.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Callable, Sequence

import cv2
import numpy as np

from mer_live.frames import write_frame
from training.cache import ClipCache
from training.options import TrainOptions

FRAMES_PER_STRIP = 8
TILE = 96
VIDEO_SIDE = 160
VIDEO_FPS = 4            # the original code's
ORIGINAL_TB_DEFAULT = "."
SCALARS = (("Acc", "acc"), ("UAR", "uar"), ("UF1", "uf1"), ("Loss", "loss"))


def safe_name(name: str) -> str:
    """A subject or clip id as a file or folder name (CDE ids hold a slash: "SMIC/s01" -> "SMIC-s01")."""
    return name.replace("/", "-").replace("\\", "-")


def tensorboard_root(options: TrainOptions, out_dir: Path) -> Path | None:
    """Where TensorBoard logs go: -tb (relative: under OUT/tensorboard/); --subtb alone implies -tb '.'."""
    tb = options.tensorboard or (ORIGINAL_TB_DEFAULT if options.subtb else None)
    if tb is None:
        return None
    return Path(tb) if Path(tb).is_absolute() else out_dir / "tensorboard" / tb


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


def captioned_video(frames: np.ndarray, top: str, bottom: str) -> np.ndarray:
    """(T, H, W, 3) uint8 frames enlarged, with the true label above and the probabilities below."""
    out = []
    for frame in frames:
        image = cv2.resize(frame, (VIDEO_SIDE, VIDEO_SIDE), interpolation=cv2.INTER_NEAREST)
        bands = [np.zeros((18, VIDEO_SIDE, 3), np.uint8) for _ in range(2)]
        for band, text in zip(bands, (top, bottom)):
            cv2.putText(band, text, (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
        out.append(np.concatenate([bands[0], image, bands[1]], axis=0))
    return np.stack(out)


def video_summary(tag: str, frames: np.ndarray, fps: int = VIDEO_FPS):
    """A TensorBoard video summary (an animated GIF image, as SummaryWriter.add_video writes) of RGB frames."""
    from PIL import Image
    from tensorboard.compat.proto.summary_pb2 import Summary

    buffer = io.BytesIO()
    images = [Image.fromarray(f) for f in frames]
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    height, width = frames.shape[1:3]
    image = Summary.Image(height=height, width=width, colorspace=3, encoded_image_string=buffer.getvalue())
    return Summary(value=[Summary.Value(tag=tag, image=image)])


def confusion_pair_figure(train: np.ndarray, held: np.ndarray, class_names: Sequence[str], title: str):
    """Train and held-out confusion matrices side by side, each row normalised (as the original's figure)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(2.2 * len(class_names) + 3, 1.1 * len(class_names) + 2))
    for ax, cm, name in zip(axes, (train, held), ("train", "held-out")):
        cm = np.asarray(cm, np.float64)
        rows = cm.sum(axis=1, keepdims=True)
        share = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
        ax.set_yticks(range(len(class_names)), class_names)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(name, fontsize=9)
        for (i, j), value in np.ndenumerate(share):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", color="white" if value > 0.5 else "black")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def hparams(options: dict[str, Any]) -> dict[str, Any]:
    """The run's options as TensorBoard hparams values (numbers, strings, booleans)."""
    keep = ("model", "dataset", "variant", "feature", "interpolation", "num_frames", "image_size", "batch_size", "lr",
            "epochs", "imbalanced_sampler", "seed", "amp", "lr_schedule", "warmup_epochs", "clip_grad",
            "retry_collapsed", "distribute", "augment_order")
    out = {}
    for key in keep:
        value = options.get(key)
        out[key] = value if isinstance(value, (bool, int, float, str)) else str(value)
    return out


def first_of_each_class(clips: Sequence, num_classes: int) -> list:
    """The first clip of each class, in class order (classes without a clip are skipped)."""
    first: dict[int, Any] = {}
    for clip in clips:
        first.setdefault(clip.label, clip)
    return [first[k] for k in range(num_classes) if k in first]


def clip_probabilities(model, features: Sequence[np.ndarray]) -> list[list[float]]:
    """The model's class probabilities for un-augmented clips (T, C, H, W), in eval mode; the model's mode is
    left as it was (training sets it again at every epoch's start)."""
    import torch

    if not features:
        return []
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(np.stack(features)).to(device)).float()
    model.train(was_training)
    return torch.softmax(logits, dim=1).cpu().tolist()


class FoldLogger:
    """TensorBoard writers and sample strips for the folds this process runs (none when `writes` is False)."""

    def __init__(self, options: TrainOptions, out_dir: Path, writes: bool = True):
        self.options = options
        self.out_dir = out_dir
        self.writes = writes
        self.tb_root = tensorboard_root(options, out_dir)
        self._writers: dict[str, Any] = {}

    def _writer(self, name: str):
        if self.tb_root is None or not self.writes:
            return None
        if name not in self._writers:
            from torch.utils.tensorboard import SummaryWriter

            self._writers[name] = SummaryWriter(log_dir=str(self.tb_root / name))
        return self._writers[name]

    def _close(self, name: str) -> None:
        writer = self._writers.pop(name, None)
        if writer is not None:
            writer.close()

    def epoch_callback(self, subject: str | None, attempt: int = 0) -> Callable[[int, dict[str, Any]], None] | None:
        """Per-epoch curves: each held-out subject's with --subtb, the final model's with -tb."""
        if self.tb_root is None or not self.writes or (subject is not None and not self.options.subtb):
            return None
        name = "final" if subject is None else f"subjects/{safe_name(subject)}"
        if attempt:
            name += f"-attempt{attempt + 1}"

        def log(epoch: int, record: dict[str, Any]) -> None:
            writer = self._writer(name)
            for label, key in SCALARS:
                for part in ("train", "heldout"):
                    if f"{part}_{key}" in record:
                        writer.add_scalar(f"{label}/{part.replace('heldout', 'held-out')}", record[f"{part}_{key}"],
                                          epoch + 1)

        return log

    def clip_callback(self, subject: str | None, attempt: int, train_clips: Sequence, held_clips: Sequence,
                      cache: ClipCache, class_names: Sequence[str],
                      folder: Path) -> Callable[[int, Any], None] | None:
        """With --visualize: a function (epoch, model) that shows the fold's sample clips after that epoch."""
        if not self.options.visualize or not self.writes:
            return None
        shown = [("train", c) for c in first_of_each_class(train_clips, len(class_names))]
        shown += [("held-out", c) for c in first_of_each_class(held_clips, len(class_names))]
        group = "final" if subject is None else safe_name(subject)
        if attempt:
            group += f"-attempt{attempt + 1}"

        def show(epoch: int, model) -> None:
            probabilities = clip_probabilities(model, [cache.features(c.frames) for _, c in shown])
            writer = self._writer("visualize")
            last = epoch + 1 == self.options.epochs
            for (split, clip), probs in zip(shown, probabilities):
                pred = int(np.argmax(probs))
                prepared = cache.get(clip.frames) if writer is not None or last else None
                if writer is not None:
                    video = captioned_video(prepared.frames, f"{split}, true: {class_names[clip.label]}",
                                            " ".join(f"{n} {p:.2f}" for n, p in zip(class_names, probs)))
                    tag = f"{group}/{split}/{safe_name(clip.clip_id)}/video"
                    writer._get_file_writer().add_summary(video_summary(tag, video), epoch + 1)
                if last:
                    caption = (f"{split} {clip.clip_id}: true {class_names[clip.label]}, predicted "
                               f"{class_names[pred]} ({probs[pred]:.2f})")
                    strip = clip_strip(prepared.frames, prepared.flow, caption)
                    write_frame(folder / "visualize" / f"{split}-{safe_name(clip.clip_id)}.png", strip)

        return show

    def fold_done(self, subject: str) -> None:
        for name in [n for n in self._writers if n.startswith(f"subjects/{safe_name(subject)}")]:
            self._close(name)

    def report_done(self, report: dict[str, Any], folds: Sequence[dict[str, Any]]) -> None:
        """The LOSO curves, per-epoch and best confusion figures, the hparams table and the report text."""
        writer = self._writer("loso")
        if writer is None:
            return
        import matplotlib.pyplot as plt

        from training import figures
        from training.report import confusion_figure

        k = len(report["class_names"])
        names = report["class_names"]
        for point in report["per_epoch"]:
            e = point["epoch"]
            for label, key in SCALARS:
                held_key = "heldout_loss" if key == "loss" else key
                writer.add_scalar(f"{label}/train", point[f"train_{key}"], e)
                writer.add_scalar(f"{label}/held-out", point[held_key], e)
            train_cm = sum(np.asarray(f["per_epoch"][e - 1]["train_confusion"]) for f in folds)
            fig = confusion_pair_figure(train_cm, figures.epoch_confusion(folds, k, e - 1), names,
                                        f"epoch {e}: confusion pooled over folds")
            writer.add_figure("Confusion", fig, e)
            plt.close(fig)
        for tag, key in (("BestConfusion/test-selected", "test_selected"), ("BestConfusion/best-epoch", "best_epoch"),
                         ("Confusion/honest", "honest")):
            fig = confusion_figure(report[key]["confusion"], names, report[key]["name"])
            writer.add_figure(tag, fig, 0)
            plt.close(fig)
        writer.add_text("report", (self.out_dir / "report.md").read_text(encoding="utf-8"))
        metrics = {f"{key}/{m}": report[key][m] for key in ("honest", "test_selected", "best_epoch")
                   for m in ("acc", "uar", "uf1")}
        metrics["train_uf1_last"] = report["per_epoch"][-1]["train_uf1"] if report["per_epoch"] else 0.0
        metrics["collapsed_folds"] = len(report["collapsed_folds"])
        writer.add_hparams(hparams(report["options"]), metrics, run_name="hparams")
        self.close()

    def close(self) -> None:
        for name in list(self._writers):
            self._close(name)
