"""`mer-train MODEL DATA_PATH DATASET [options]`: LOSO training as the original code's main.py, made honest and
resumable.

The original code's option spellings (-tb -imgsize -feature -interpol -num_frames -bs -lr -ep -gpu
--imbalanced_sampler --subtb --visualize) work as they did; each also has a conventional long name.
"""
from __future__ import annotations

import argparse
import shlex
import sys

from mer_live.choices import ArgumentParser
from mer_live.cli_errors import (DEBUG_HELP, EXIT_BAD_MODEL, EXIT_UNREADABLE_INPUT, EXIT_USAGE,
                                 command_errors)
from mer_live.cli_numbers import integer, number
from mer_live.datasets.catalog import DATASETS
from mer_live.datasets.records import MIN_CLIP_FRAMES
from mer_live.features import FEATURE_MODES
from mer_live.flow import FLOW_CHOICES
from mer_live.interpolation import INTERPOLATIONS
from mer_live.models import VARIANTS
from mer_live.spec import SPEC_BOUNDS
from training.data import AUGMENT_ORDERS
from training.distributed import DISTRIBUTE_MODES
from training.options import TrainingError, TrainOptions
from training.schedule import LR_SCHEDULES


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="mer-train",
        description="Train a micro-expression model with leave-one-subject-out (LOSO) cross-validation. "
                    "Re-running the same command resumes: finished folds are skipped.",
    )
    p.add_argument("model", metavar="MODEL",
                   help="like ch{1,3,4,6}_{resnext,swin,timesformer} or ch3_{1,3}_fusion_{cnn,cnn_like,transformer}; "
                        "the paper's model is ch3_1_fusion_cnn_like with -feature GRAY_OF")
    p.add_argument("data_path", metavar="DATA_PATH", help="folder holding the dataset folders: /data, not /data/SMIC")
    p.add_argument("dataset", metavar="DATASET", choices=DATASETS, help="%(choices)s")
    original = p.add_argument_group(
        "options of the original code's main.py (Hong et al. 2022; each also has a long name)")
    original.add_argument("-tb", "--tensorboard", metavar="DIR", default=None,
                          help="TensorBoard log folder (relative: under OUT/tensorboard/)")
    original.add_argument("-imgsize", "--image-size", dest="image_size", type=integer(*SPEC_BOUNDS["image_size"]),
                          nargs="+", default=list(TrainOptions.image_size), metavar="N",
                          help="1 int, or 2 ints H W (e.g. 120 64)")
    original.add_argument("-feature", "--feature", choices=FEATURE_MODES, default=argparse.SUPPRESS,  # per model
                          help="input channels per frame (default: RGB, as the original code, for the models that "
                               "take 3 channels (ch3_swin, ch3_timesformer, ch3_resnext); the others cannot take RGB, "
                               "so they default to the one mode that fits: ch1 GRAY, ch4 and ch3_1 fusion GRAY_OF, "
                               "ch6 and ch3_3 fusion RGB_OF)")
    original.add_argument("-interpol", "--interpolation", choices=INTERPOLATIONS,
                          default=TrainOptions.interpolation, help="how clips are brought to a fixed length")
    original.add_argument("-num_frames", "--num-frames", dest="num_frames", type=integer(*SPEC_BOUNDS["num_frames"]),
                          default=TrainOptions.num_frames, help="time steps the model sees")
    original.add_argument("-bs", "--batch-size", dest="batch_size", type=integer(1), default=TrainOptions.batch_size,
                          help="train batch size")
    original.add_argument("-lr", "--lr", type=number(above=0, high=1), default=TrainOptions.lr, help="AdamW learning rate")
    original.add_argument("-ep", "--epochs", type=integer(1), default=TrainOptions.epochs, help="epochs per fold")
    original.add_argument("-gpu", "--gpu", type=int, nargs="+", default=None, metavar="ID",
                          help="GPU number(s) to use (under torchrun: one per rank); leave out to train on CPU")
    original.add_argument("--imbalanced_sampler", "--imbalanced-sampler", dest="imbalanced_sampler", action="store_true",
                          help="draw len(train) clips per epoch with replacement, weighted 1/(count of the class)")
    original.add_argument("--subtb", "--subject-tensorboard", dest="subtb", action="store_true",
                          help="TensorBoard curves for every held-out subject; without -tb they go under "
                               "OUT/tensorboard (the original code's -tb default '.')")
    original.add_argument("--visualize", action="store_true",
                          help="after every epoch, one training and one held-out clip of each class with the "
                               "model's prediction: with TensorBoard on, videos captioned with the true label and "
                               "the class probabilities; the last epoch's as PNG strips in each fold's folder")
    more = p.add_argument_group("more options")
    more.add_argument("--out", "-o", default=None,
                      help="output folder (default runs/MODEL-DATASET, so the same command resumes)")
    more.add_argument("--subjects", nargs="+", default=None, metavar="ID",
                      help="run only these held-out subjects' folds (e.g. s01 s02)")
    more.add_argument("--seed", type=integer(0, 2**32 - 1), default=TrainOptions.seed, help="run seed (folds are seeded from it and the subject)")
    more.add_argument("--workers", type=integer(0, 256), default=TrainOptions.workers, help="data loader worker processes")
    more.add_argument("--amp", action="store_true", help="mixed precision (float16) on GPU")
    more.add_argument("--pretrained", default=None, metavar="PATH",
                      help="local Kinetics-400 Video Swin weights to start from (swin models)")
    more.add_argument("--variant", choices=VARIANTS, default=TrainOptions.variant,
                      help="model size; base is the paper's")
    more.add_argument("--final", action="store_true", help="after LOSO, train one model on every subject -> OUT/final/model.pt")
    more.add_argument("--final-only", dest="final_only", action="store_true", help="skip LOSO; train only the final model")
    more.add_argument("--flow", choices=FLOW_CHOICES, default=TrainOptions.flow,
                      help="Farneback of the clips' flow: opencv (CPU), torch (mer_live.torch_flow, the same flow "
                           "within 0.001 px, on the training device), auto (torch when training on a GPU, else "
                           "opencv); the model's spec records which")
    more.add_argument("--cache-dir", dest="cache_dir", default=None,
                      help="where prepared clips (frames + flow) are cached (default ~/.cache/mer-live/clips); "
                           "'' for memory only")
    more.add_argument("--no-progress", dest="no_progress", action="store_true", help="no progress bars")
    data = p.add_argument_group("input data that is refused unless you say otherwise")
    data.add_argument("--drop-unknown-labels", dest="drop_unknown_labels", action="store_true",
                      help="leave out clips whose label the class map does not know (a typo such as 'hapiness', "
                           "a blank cell); without it they stop the run, listed with their rows. Labels the "
                           "dataset documents but the classes leave out (CASME II fear, sadness) are always "
                           "left out and counted")
    data.add_argument("--cde-partial", dest="cde_partial", action="store_true",
                      help="CDE: train on the clips of the MEGC 2019 list that are present, each missing one "
                           "named; without it a missing clip stops the run, since figures on fewer than the "
                           "list's 442 clips are not comparable with published MEGC 2019 results")
    data.add_argument("--drop-short-clips", dest="drop_short_clips", action="store_true",
                      help=f"leave out clips of fewer than {MIN_CLIP_FRAMES} frames (no motion to learn from); "
                           "without it they stop the run, listed")
    p.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    recipe = p.add_argument_group("optional recipe for higher learning rates (the paper's recipe is the default)")
    recipe.add_argument("--lr-schedule", dest="lr_schedule", choices=LR_SCHEDULES, default=TrainOptions.lr_schedule,
                        help="constant rate, or cosine decay to 1%% of -lr over the run (per optimizer step)")
    recipe.add_argument("--warmup-epochs", dest="warmup_epochs", type=integer(0), default=TrainOptions.warmup_epochs,
                        metavar="N", help="raise the rate linearly from ~0 to -lr over the first N epochs")
    recipe.add_argument("--clip-grad", dest="clip_grad", type=number(above=0), default=TrainOptions.clip_grad, metavar="NORM",
                        help="clip the gradient norm to NORM (e.g. 1.0)")
    recipe.add_argument("--retry-collapsed", dest="retry_collapsed", type=integer(0), default=TrainOptions.retry_collapsed,
                        metavar="N", help="re-train a fold whose model did not fit its own training data (one class, or "
                             "train UF1 near chance) from another initialisation, up to N times; the report "
                             "lists every retry")
    more.add_argument("--augment-order", dest="augment_order", choices=AUGMENT_ORDERS,
                      default=TrainOptions.augment_order,
                      help="how an augmented clip gets its flow: 'warp-flow' warps the flow cached before "
                           "augmentation with the frames; 'original' computes flow again on the augmented "
                           "frames, the original code's order (one flow computation per clip per epoch)")
    more.add_argument("--distribute", choices=DISTRIBUTE_MODES, default=TrainOptions.distribute,
                      help="under torchrun: 'folds' shares whole folds out across ranks; 'ddp' trains every fold "
                           "on all ranks together (DistributedDataParallel, each -bs batch split across ranks; "
                           "BatchNorm synchronised on GPUs only)")
    return p


def options_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> TrainOptions:
    if len(args.image_size) not in (1, 2):
        parser.error(f"-imgsize takes 1 int or 2 ints (H W), got {len(args.image_size)}")
    size = tuple(args.image_size) * (2 if len(args.image_size) == 1 else 1)
    values = vars(args).copy()
    values["image_size"] = size
    values["feature"] = getattr(args, "feature", None) or default_feature(args.model)
    return TrainOptions(**values)


def default_feature(model: str) -> str:
    """The feature a model takes when -feature is not given: the original code's default, RGB, where it fits.

    RGB gives 3 channels, so it fits the 3-channel single-stream models. With any other model the original
    code's RGB default crashed (channel mismatch, or a fusion model with no appearance channels); those get
    the one mode with their channel count instead (ch1 GRAY, 4 channels GRAY_OF, 6 channels RGB_OF).
    """
    from mer_live.models import MODEL_NAMES, compatible_features

    if model not in MODEL_NAMES:
        return "RGB"  # the unknown name is reported (with the list of names) before any work
    modes = compatible_features(model)
    return "RGB" if "RGB" in modes else modes[0]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    options = options_from_args(args, parser)
    from mer_live.checkpoint import CheckpointError
    from mer_live.frames import FrameReadError
    from mer_live.models import PretrainedError
    from training.run import run

    errors = {TrainingError: EXIT_USAGE, FrameReadError: EXIT_UNREADABLE_INPUT, PretrainedError: EXIT_BAD_MODEL,
              CheckpointError: EXIT_BAD_MODEL}
    resume = "finished folds are kept: run the same command again to resume"
    with command_errors("mer-train", errors, debug=options.debug, interrupted=resume, kept=resume) as outcome:
        run(options, command=shlex.join(["mer-train", *(sys.argv[1:] if argv is None else argv)]))
    return outcome.status


if __name__ == "__main__":
    sys.exit(main())
