"""The options of one training run, and which of them define its results (checked on resume)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

# The original code's optimiser settings (AdamW), fixed as in the paper.
BETAS = (0.9, 0.999)
WEIGHT_DECAY = 0.05


class TrainingError(Exception):
    """Bad input found before (or instead of) training; the message names the problem and the fix."""


@dataclasses.dataclass
class TrainOptions:
    model: str
    data_path: str
    dataset: str
    out: str | None = None
    tensorboard: str | None = None
    image_size: tuple[int, int] = (224, 224)
    feature: str = "GRAY_OF"
    interpolation: str = "linear"
    num_frames: int = 16
    batch_size: int = 1
    lr: float = 1e-5
    epochs: int = 100
    gpu: list[int] | None = None
    imbalanced_sampler: bool = False
    subtb: bool = False
    visualize: bool = False
    subjects: list[str] | None = None
    seed: int = 0
    workers: int = 0
    amp: bool = False
    pretrained: str | None = None
    variant: str = "base"
    final: bool = False
    final_only: bool = False
    cache_dir: str | None = None     # None: the default per-user cache; "" : no disk cache
    no_progress: bool = False
    drop_unknown_labels: bool = False  # leave out clips whose label the class map does not know (else: refused)
    cde_partial: bool = False          # CDE on the listed clips present (else: refused when any is missing)
    drop_short_clips: bool = False     # leave out clips of fewer than MIN_CLIP_FRAMES frames (else: refused)
    debug: bool = False                # tracebacks for expected errors
    lr_schedule: str = "constant"    # training.schedule.LR_SCHEDULES
    warmup_epochs: int = 0
    clip_grad: float | None = None   # max gradient norm; None: no clipping (the paper's recipe)
    retry_collapsed: int = 0         # re-train a fold that did not fit its training data, up to N times
    distribute: str = "folds"        # under torchrun: training.distributed.DISTRIBUTE_MODES
    augment_order: str = "warp-flow"  # training.data.AUGMENT_ORDERS
    flow: str = "auto"               # mer_live.flow.FLOW_CHOICES: auto = torch on the training GPU, else OpenCV

    # Options that change what a run computes; a resume must match them. The rest (where logs go, how
    # many workers, which GPU, whether to also train a final model) may differ between sessions. The drop_*
    # options are not among them: without them a dataset that needs them is refused, so they never change
    # the results of a run that could be made both ways.
    RESULT_KEYS = ("model", "data_path", "dataset", "image_size", "feature", "interpolation", "num_frames",
                   "batch_size", "lr", "epochs", "imbalanced_sampler", "subjects", "seed", "amp",
                   "pretrained", "variant")
    # Result-defining options added later: part of a run's identity only when they differ from these
    # defaults, so folders written before them still resume.
    LATER_RESULT_DEFAULTS = {"lr_schedule": "constant", "warmup_epochs": 0, "clip_grad": None,
                             "retry_collapsed": 0, "distribute": "folds", "augment_order": "warp-flow"}

    def output_dir(self) -> Path:
        """Deterministic default, so re-running the same command resumes the same run."""
        return Path(self.out) if self.out else Path("runs") / f"{self.model}-{self.dataset}"

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["image_size"] = list(self.image_size)
        return d

    def identity(self) -> dict[str, Any]:
        d = self.to_dict()
        ident = {k: d[k] for k in self.RESULT_KEYS}
        ident.update({k: d[k] for k, default in self.LATER_RESULT_DEFAULTS.items() if d[k] != default})
        ident["data_path"] = str(Path(self.data_path).resolve())
        ident["optimizer"] = {"name": "AdamW", "betas": list(BETAS), "weight_decay": WEIGHT_DECAY}
        return json.loads(json.dumps(ident))  # normalised as it reads back from JSON
