"""`mer-train MODEL DATA_PATH DATASET [options]`: LOSO training as the seed's main.py, made honest and resumable.

The seed's option spellings (-tb -imgsize -feature -interpol -num_frames -bs -lr -ep -gpu
--imbalanced_sampler --subtb --visualize) work as they did; each also has a conventional long name.
"""
from __future__ import annotations

import argparse
import sys

from training.distributed import DISTRIBUTE_MODES
from training.options import TrainingError, TrainOptions
from training.schedule import LR_SCHEDULES

DATASETS = ("SMIC", "CASME2", "SAMM", "CDE")
FEATURES = ("RGB", "GRAY", "GRAY_OF", "ONLY_OF", "RGB_OF")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mer-train",
        description="Train a micro-expression model with leave-one-subject-out (LOSO) cross-validation. "
                    "Re-running the same command resumes: finished folds are skipped.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("model", metavar="MODEL",
                   help="like ch{1,3,4,6}_{resnext,swin,timesformer} or ch3_{1,3}_fusion_{cnn,cnn_like,transformer}; "
                        "the paper's model is ch3_1_fusion_cnn_like with -feature GRAY_OF")
    p.add_argument("data_path", metavar="DATA_PATH", help="folder holding the dataset folders: /data, not /data/SMIC")
    p.add_argument("dataset", metavar="DATASET", choices=DATASETS, help=f"one of {', '.join(DATASETS)}")
    seed = p.add_argument_group("options of the seed's main.py (each also has a long name)")
    seed.add_argument("-tb", "--tensorboard", metavar="DIR", default=None,
                      help="TensorBoard log folder (relative: under OUT/tensorboard/)")
    seed.add_argument("-imgsize", "--image-size", dest="image_size", type=int, nargs="+", default=[224],
                      metavar="N", help="1 int, or 2 ints H W (e.g. 120 64)")
    seed.add_argument("-feature", "--feature", choices=FEATURES, default=None,
                      help="input channels per frame (default: GRAY_OF for 4-channel and ch3_1 fusion models; "
                           "otherwise the mode that fits the model: ch1 GRAY, ch3 ONLY_OF, ch6 and ch3_3 fusion RGB_OF)")
    seed.add_argument("-interpol", "--interpolation", choices=("linear", "tim"), default="linear",
                      help="how clips are brought to a fixed length")
    seed.add_argument("-num_frames", "--num-frames", dest="num_frames", type=int, default=16,
                      help="time steps the model sees")
    seed.add_argument("-bs", "--batch-size", dest="batch_size", type=int, default=1, help="train batch size")
    seed.add_argument("-lr", "--lr", type=float, default=1e-5, help="AdamW learning rate")
    seed.add_argument("-ep", "--epochs", type=int, default=100, help="epochs per fold")
    seed.add_argument("-gpu", "--gpu", type=int, nargs="+", default=None, metavar="ID",
                      help="GPU number(s) to use (under torchrun: one per rank); leave out to train on CPU")
    seed.add_argument("--imbalanced_sampler", "--imbalanced-sampler", dest="imbalanced_sampler", action="store_true",
                      help="draw len(train) clips per epoch with replacement, weighted 1/(count of the class)")
    seed.add_argument("--subtb", "--subject-tensorboard", dest="subtb", action="store_true",
                      help="TensorBoard curves for every held-out subject; without -tb they go under OUT/tensorboard "
                           "(the original code's -tb default '.')")
    seed.add_argument("--visualize", action="store_true",
                      help="sample held-out clips with their predictions: PNG strips, and with TensorBoard on, "
                           "videos captioned with the true label and the class probabilities")
    more = p.add_argument_group("more options")
    more.add_argument("--out", "-o", default=None,
                      help="output folder (default runs/MODEL-DATASET, so the same command resumes)")
    more.add_argument("--subjects", nargs="+", default=None, metavar="ID",
                      help="run only these held-out subjects' folds (e.g. s01 s02)")
    more.add_argument("--seed", type=int, default=0, help="run seed (folds are seeded from it and the subject)")
    more.add_argument("--workers", type=int, default=0, help="data loader worker processes")
    more.add_argument("--amp", action="store_true", help="mixed precision (float16) on GPU")
    more.add_argument("--pretrained", default=None, metavar="PATH",
                      help="local Kinetics-400 Video Swin weights to start from (swin models)")
    more.add_argument("--variant", choices=("base", "small", "tiny", "nano"), default="base",
                      help="model size; base is the paper's")
    more.add_argument("--final", action="store_true", help="after LOSO, train one model on every subject -> OUT/final/model.pt")
    more.add_argument("--final-only", dest="final_only", action="store_true", help="skip LOSO; train only the final model")
    more.add_argument("--cache-dir", dest="cache_dir", default=None,
                      help="where prepared clips (frames + flow) are cached (default ~/.cache/mer-live/clips); "
                           "'' for memory only")
    more.add_argument("--no-progress", dest="no_progress", action="store_true", help="no progress bars")
    recipe = p.add_argument_group("optional recipe for higher learning rates (the paper's recipe is the default)")
    recipe.add_argument("--lr-schedule", dest="lr_schedule", choices=LR_SCHEDULES, default="constant",
                        help="constant rate, or cosine decay to 1%% of -lr over the run (per optimizer step)")
    recipe.add_argument("--warmup-epochs", dest="warmup_epochs", type=int, default=0, metavar="N",
                        help="raise the rate linearly from ~0 to -lr over the first N epochs")
    recipe.add_argument("--clip-grad", dest="clip_grad", type=float, default=None, metavar="NORM",
                        help="clip the gradient norm to NORM (e.g. 1.0)")
    recipe.add_argument("--retry-collapsed", dest="retry_collapsed", type=int, default=0, metavar="N",
                        help="re-train a fold whose model did not fit its own training data (one class, or "
                             "train UF1 near chance) from another initialisation, up to N times; the report "
                             "lists every retry")
    more.add_argument("--distribute", choices=DISTRIBUTE_MODES, default="folds",
                      help="under torchrun: 'folds' shares whole folds out across ranks; 'ddp' trains every fold "
                           "on all ranks together (DistributedDataParallel, each -bs batch split across ranks)")
    return p


def options_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> TrainOptions:
    if len(args.image_size) not in (1, 2):
        parser.error(f"-imgsize takes 1 int or 2 ints (H W), got {len(args.image_size)}")
    if min(args.image_size) < 1:
        parser.error(f"-imgsize must be positive, got {args.image_size}")
    size = tuple(args.image_size) * (2 if len(args.image_size) == 1 else 1)
    values = vars(args).copy()
    values["image_size"] = size
    values["feature"] = args.feature or default_feature(args.model)
    return TrainOptions(**values)


def default_feature(model: str) -> str:
    """The feature a model takes when -feature is not given, so `mer-train ch3_swin /data SMIC` runs as written.

    Flow is what carries a micro-expression, so the mode with flow wins where one fits the channel count.
    """
    from mer_live.models import MODEL_NAMES, model_in_channels

    if model not in MODEL_NAMES:
        return "GRAY_OF"  # the unknown name is reported (with the list of names) before any work
    return {1: "GRAY", 3: "ONLY_OF", 4: "GRAY_OF", 6: "RGB_OF"}[model_in_channels(model)]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    options = options_from_args(args, parser)
    from training.run import run

    try:
        run(options)
    except TrainingError as exc:
        print(f"mer-train: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mer-train: interrupted; run the same command again to resume (finished folds are kept)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
