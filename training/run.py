"""A whole training run: check inputs, fill the clip cache, run the LOSO folds (under torchrun shared out
across ranks, or trained by all ranks together with --distribute ddp), optionally the final all-subject
model, and write the report.

Output folder layout (resumable: a fold is finished when its result.json exists, written last, and its
JSON files read back; a damaged one is trained again):
    options.json                      the options that define the results (a resume must match them);
                                      written with the first fold's files
    folds/<subject>/model.pt          mer_live.checkpoint of the fold's model after the last epoch
    folds/<subject>/predictions.json  held-out clips, labels, predictions of every epoch, last probabilities
    folds/<subject>/result.json       the fold's scores, per-epoch train and held-out figures, whether it
                                      fit its training data (and any retries), timing
    final/model.pt, final/result.json with --final / --final-only
    report.json, report.md, confusion.png
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from mer_live.atomic import check_writable, remove_temporaries, write_text_atomic
from mer_live.checkpoint import Checkpoint, save_checkpoint
from mer_live.suggest import unknown_choice
from mer_live.datasets import (DatasetError, DatasetIndex, IncompleteCompositeError, OutsideDatasetError,
                               UnknownLabelError, load_dataset)
from mer_live.datasets.records import MIN_CLIP_FRAMES, ClipRecord, sort_subjects
from mer_live.folder_lock import FolderInUseError, folder_lock
from mer_live.features import FEATURE_CHANNELS
from mer_live.flow import FLOW_CHOICES, OPENCV, FlowBackend
from mer_live.interpolation import INTERPOLATIONS
from mer_live.metrics import scores_from_predictions
from mer_live.models import PretrainedError
from mer_live.progress import progress, write
from mer_live.spec import ModelSpec
from training import distributed
from training.cache import ClipCache, default_cache_dir
from training.collapse import advice
from training.data import AUGMENT_ORDERS, ClipDataset
from training.figures import test_selected_epoch
from training.fold import FoldOutcome, build_model, train_model
from training.options import TrainingError, TrainOptions
from training.schedule import LR_SCHEDULES
from training.visualize import FoldLogger, safe_name

WHERE_CLIPS_LIVE = {
    "SMIC": "{root}/SMIC_CROP/HS/**/micro/**/<sample>/*.bmp",
    "CASME2": "{root}/CASME2/Cropped/sub<NN>/<Filename>/*.jpg with {root}/CASME2/CASME2-coding-20190701.xlsx "
              "(or CASME2-coding-20140508.xlsx)",
    "SAMM": "{root}/SAMM/SAMM_CROP/<NNN>/<Filename>/*.jpg with {root}/SAMM/SAMM_CROP/SAMM_Micro_FACS_Codes_v2.xlsx",
    "CDE": "the SMIC, CASME2 and SAMM trees under {root}",
}


@dataclass
class FoldJob:
    """One training job: a LOSO fold (its held-out subject) or the final model (subject None)."""

    order: int
    subject: str | None

    @property
    def folder(self) -> str:
        return "final" if self.subject is None else f"folds/{safe_name(self.subject)}"


# ---------------------------------------------------------------- checks before any work
def select_device(options: TrainOptions, local_rank: int) -> torch.device:
    if not options.gpu:
        if options.amp:
            raise TrainingError("--amp (mixed precision) needs a GPU: add -gpu 0, or leave out --amp to train on CPU")
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise TrainingError(f"-gpu {' '.join(map(str, options.gpu))} asks for a GPU but PyTorch sees no CUDA GPU "
                            "here; leave out -gpu to train on the CPU (slow for base models: try --variant nano)")
    count = torch.cuda.device_count()
    bad = [g for g in options.gpu if g < 0 or g >= count]
    if bad:
        raise TrainingError(f"-gpu {bad} does not exist: this machine has {count} GPU(s), numbered 0..{count - 1}")
    return torch.device("cuda", options.gpu[local_rank % len(options.gpu)])


def load_clips(options: TrainOptions) -> DatasetIndex:
    try:
        index = load_dataset(options.data_path, options.dataset, drop_unknown=options.drop_unknown_labels,
                             partial_cde=options.cde_partial)
    except (UnknownLabelError, OutsideDatasetError, IncompleteCompositeError) as exc:
        # the user's data, not the layout mer-prepare makes: one line
        raise TrainingError(str(exc)) from exc
    except DatasetError as exc:
        raise TrainingError(f"{exc}\n(mer-prepare makes the *_CROP trees from the raw datasets; mer-synth writes a "
                            "small synthetic set to try the pipeline)") from exc
    if not index.clips:
        where = WHERE_CLIPS_LIVE.get(options.dataset, "{root}").format(root=options.data_path)
        raise TrainingError(f"no {options.dataset} clips found under {options.data_path}: looked for {where}. "
                            "Run `mer-prepare` to make the _CROP trees from the raw dataset (DATA_PATH is the folder "
                            f"that holds them, e.g. /data, not /data/{options.dataset})")
    index = without_short_clips(index, options.drop_short_clips)
    if options.subjects:
        unknown = sorted(set(options.subjects) - set(index.subjects))
        if unknown:
            raise TrainingError(f"--subjects {unknown} have no clips in {options.dataset}; subjects with clips: "
                                f"{', '.join(index.subjects)}")
    return index


def without_short_clips(index: DatasetIndex, drop: bool) -> DatasetIndex:
    """Refuse clips too short to hold motion (MIN_CLIP_FRAMES), naming each; `drop` leaves them out, counted."""
    short = [c for c in index.clips if c.num_frames < MIN_CLIP_FRAMES]
    if not short:
        return index
    listed = ", ".join(f"{c.clip_id} (subject {c.subject}, {c.num_frames} frame{'s' * (c.num_frames != 1)} in "
                       f"{c.frames[0].parent if c.frames else '?'})" for c in short[:10])
    more = f" and {len(short) - 10} more" if len(short) > 10 else ""
    if not drop:
        raise TrainingError(f"{len(short)} clip(s) have fewer than {MIN_CLIP_FRAMES} frames, too few to hold any "
                            f"motion: {listed}{more}. Restore their frames (or re-run mer-prepare), or leave them "
                            "out explicitly with --drop-short-clips")
    kept = [c for c in index.clips if c.num_frames >= MIN_CLIP_FRAMES]
    print(f"left out {len(short)} clip(s) of fewer than {MIN_CLIP_FRAMES} frames, as asked: {listed}{more}",
          file=sys.stderr)
    return dataclasses.replace(index, clips=kept, subjects=sort_subjects(c.subject for c in kept))


def check_outputs(options: TrainOptions) -> None:
    """The output folder, an absolute -tb folder and the clip cache must be writable: fail now, not after
    the first fold (OSError naming the folder; the command's handler gives the one line)."""
    check_writable(options.output_dir(), folder=True)
    if options.tensorboard and Path(options.tensorboard).is_absolute():
        check_writable(options.tensorboard, folder=True)
    if options.cache_dir != "":
        check_writable(Path(options.cache_dir) if options.cache_dir else default_cache_dir(), folder=True)


def empty_classes(index: DatasetIndex) -> list[str]:
    return [name for name, count in index.class_counts().items() if count == 0]


def check_model(options: TrainOptions, num_classes: int, device: torch.device,
                train_batches: dict[int, str] | None = None) -> bool:
    """Unknown name, feature/channel mismatch, or an input size the model cannot take: fail now, clearly.

    `train_batches` maps each batch size one training step will see (on one rank) to where it occurs; the
    model is also run on the smallest and the largest of them in train mode, where BatchNorm needs more
    than one value per channel (a tiny input in a batch of one passes eval mode and crashes in fold 1).
    Returns whether the model has BatchNorm layers.
    """
    from mer_live.models import MODEL_NAMES, check_feature_compatible, check_input_size

    if options.model not in MODEL_NAMES:
        raise TrainingError(unknown_choice("model", options.model, MODEL_NAMES))
    if options.interpolation not in INTERPOLATIONS:
        raise TrainingError(unknown_choice("interpolation", options.interpolation, INTERPOLATIONS))
    if options.flow not in FLOW_CHOICES:
        raise TrainingError(unknown_choice("flow backend", options.flow, FLOW_CHOICES))
    for name, value in (("-num_frames", options.num_frames), ("-bs", options.batch_size), ("-ep", options.epochs)):
        if value < 1:
            raise TrainingError(f"{name} must be at least 1, got {value}")
    check_recipe(options)
    try:
        check_feature_compatible(options.model, options.feature)
        check_input_size(options.model, tuple(options.image_size), options.num_frames, options.variant)
    except ValueError as exc:
        raise TrainingError(str(exc)) from exc
    if options.pretrained and not Path(options.pretrained).is_file():
        raise TrainingError(f"--pretrained {options.pretrained}: no such file (give a local Kinetics-400 Video Swin file)")
    h, w = options.image_size
    shape = (options.num_frames, FEATURE_CHANNELS[options.feature], h, w)
    try:  # one forward pass of the real input shape catches any size the network cannot take
        model = build_model(options, num_classes).to(device).eval()
        with torch.no_grad():
            model(torch.zeros(1, *shape, device=device))
    except PretrainedError:
        raise                           # the weights file is at fault, not the input size
    except (ValueError, RuntimeError) as exc:
        raise TrainingError(f"{options.model} (variant {options.variant}) cannot take {options.num_frames} frames of "
                            f"{h}x{w} px: {str(exc).splitlines()[0]}. Try -imgsize 224 or a multiple of 32") from exc
    sizes = sorted(train_batches or {})
    model.train()
    for size in dict.fromkeys(sizes[:1] + sizes[-1:]):
        try:
            with torch.no_grad():
                model(torch.zeros(size, *shape, device=device))
        except (ValueError, RuntimeError) as exc:
            clips = f"{size} clip{'s' * (size != 1)}"
            raise TrainingError(f"{options.model} (variant {options.variant}) cannot train on {options.num_frames} "
                                f"frames of {h}x{w} px in a batch of {clips} ({train_batches[size]}): "
                                f"{str(exc).splitlines()[0]}. Give a larger -imgsize or -num_frames, or a -bs that "
                                "leaves every batch 2 clips or more") from exc
    return distributed.has_batchnorm(model)


def step_batches(options: TrainOptions, index: DatasetIndex, jobs: list[FoldJob], world: int) -> dict[int, str]:
    """Every batch size one rank's BatchNorm layers see in these jobs, each with the first place it occurs
    (`world` 1 where they see the whole batch: one process, or ranks that synchronise it)."""
    bs = options.batch_size
    sizes: dict[int, str] = {}
    for job in jobs:
        n = sum(1 for c in index.clips if c.subject != job.subject)
        name = "the final model" if job.subject is None else f"fold {job.subject}"
        for batch, where in ((min(bs, n), "every step"), (n % bs, "the last step of each epoch")):
            for share in dict.fromkeys((max(batch // world, 1), -(-batch // world))) if batch else ():
                sizes.setdefault(share, f"{where} of {name}: {n} training clips, -bs {bs}"
                                 + (f" split over {world} ranks" if world > 1 else ""))
    return sizes


def check_recipe(options: TrainOptions) -> None:
    """The optional training recipe and distribution settings, before any work."""
    if options.lr_schedule not in LR_SCHEDULES:
        raise TrainingError(f"unknown --lr-schedule {options.lr_schedule!r}; choose one of {', '.join(LR_SCHEDULES)}")
    if not 0 <= options.warmup_epochs < options.epochs:
        raise TrainingError(f"--warmup-epochs must be 0 or more and fewer than -ep {options.epochs}, "
                            f"got {options.warmup_epochs}")
    if options.clip_grad is not None and not options.clip_grad > 0:
        raise TrainingError(f"--clip-grad must be a positive gradient norm (e.g. 1.0), got {options.clip_grad}")
    if options.retry_collapsed < 0:
        raise TrainingError(f"--retry-collapsed must be 0 or more, got {options.retry_collapsed}")
    if options.augment_order not in AUGMENT_ORDERS:
        raise TrainingError(unknown_choice("augment order", options.augment_order, AUGMENT_ORDERS))
    if options.distribute not in distributed.DISTRIBUTE_MODES:
        raise TrainingError(f"unknown --distribute {options.distribute!r}; choose one of "
                            f"{', '.join(distributed.DISTRIBUTE_MODES)}")


def check_ranks(options: TrainOptions, ctx: distributed.Context) -> None:
    if options.distribute == "ddp" and options.batch_size < ctx.world:
        raise TrainingError(f"--distribute ddp splits every batch of -bs clips across the {ctx.world} ranks, so -bs "
                            f"must be at least {ctx.world} (got {options.batch_size}); -bs is the batch of one step "
                            "over all ranks, as in the original code (which also needed it to divide by the ranks)")


def check_resume(out_dir: Path, options: TrainOptions) -> None:
    """Refuse to mix results of different options in one folder."""
    path = out_dir / "options.json"
    if not path.is_file():
        return
    try:
        saved = read_json(path)
    except DamagedFileError as exc:
        raise TrainingError(f"{exc}, so the folder's results cannot be matched to these options: give another "
                            "--out, or delete that file if the folder's folds were made with these same options "
                            "(the run writes it anew)") from exc
    current = options.identity()
    differ = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
    if differ:
        lines = ", ".join(f"{k}: folder has {saved.get(k)!r}, now {current.get(k)!r}" for k in differ)
        raise TrainingError(f"{out_dir} holds a run made with different options ({lines}). Give another --out "
                            "folder, or delete that folder to start over")


def write_options(out_dir: Path, options: TrainOptions) -> None:
    """options.json, with the first result it describes: a run that fails before that (a corrupt frame,
    a fold that crashes) leaves none to refuse the corrected command."""
    path = out_dir / "options.json"
    if not path.is_file():
        write_text_atomic(path, json.dumps(options.identity(), indent=2))


# ---------------------------------------------------------------- helpers
def flow_backend(options: TrainOptions, device: torch.device) -> FlowBackend:
    """--flow on this run's device: auto is torch when training on a GPU (the cache is then built there), else
    OpenCV; torch runs on the training device, the CPU included."""
    if options.flow == "opencv" or (options.flow == "auto" and device.type != "cuda"):
        return OPENCV
    return FlowBackend("torch", str(device))


def model_spec(options: TrainOptions, index: DatasetIndex, flow: FlowBackend = OPENCV) -> ModelSpec:
    fps_values = [c.fps for c in index.clips if c.fps]
    fps = statistics.median(fps_values) if fps_values else 100.0
    seconds = statistics.median(len(c.frames) / (c.fps or fps) for c in index.clips)
    return ModelSpec(model=options.model, class_names=tuple(index.class_names), num_frames=options.num_frames,
                     image_size=tuple(options.image_size), feature=options.feature,
                     interpolation=options.interpolation, variant=options.variant, fps=float(fps),
                     clip_seconds=float(seconds), dataset=options.dataset, flow_backend=flow.name)


def make_cache(options: TrainOptions, flow: FlowBackend = OPENCV) -> ClipCache:
    if options.cache_dir == "":
        cache_dir = None
    else:
        cache_dir = Path(options.cache_dir) if options.cache_dir else default_cache_dir()
    return ClipCache(options.num_frames, tuple(options.image_size), options.interpolation, options.feature, cache_dir,
                     flow_backend=flow)


def fill_cache(cache: ClipCache, clips: list[ClipRecord], rank: int, world: int, quiet: bool) -> None:
    """Compute every clip's frames+flow once, before training (ranks share the work via the disk cache)."""
    shared = cache.cache_dir is not None and world > 1
    mine = clips[rank::world] if shared else clips
    todo = [c for c in mine if not cache.is_stored(c.frames)]
    for clip in progress(todo, desc="preparing clips (resize, length, flow; cached)", unit="clip",
                         disable=quiet or not todo):
        cache.get(clip.frames) if shared else cache.features(clip.frames)


class DamagedFileError(TrainingError):
    """A JSON file an earlier run left in --out does not read back (truncated, emptied, edited by hand)."""


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in `path`; DamagedFileError names the file when it holds none."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DamagedFileError(f"{path} is damaged (not complete JSON: {exc})") from exc
    if not isinstance(data, dict):
        raise DamagedFileError(f"{path} is damaged (JSON {type(data).__name__}, not the object mer-train writes)")
    return data


def fold_finished(out_dir: Path, job: FoldJob, say: bool) -> bool:
    """Whether a resume may skip the job: its files read back. A damaged or missing one (a disk error, an
    edit) makes the job run again, said on stderr when `say`, rather than stop the resume in a traceback."""
    folder = out_dir / job.folder
    if not (folder / "result.json").is_file():
        return False
    for name in ("result.json",) if job.subject is None else ("predictions.json", "result.json"):
        try:
            read_json(folder / name)
        except (DamagedFileError, FileNotFoundError) as exc:
            if say:
                reason = exc if isinstance(exc, DamagedFileError) else f"{folder / name} is missing"
                print(f"warning: {reason}; training {job.folder} again", file=sys.stderr)
            return False
    return True


def fold_summary(job: FoldJob, clips: list[ClipRecord], outcome: FoldOutcome, num_classes: int,
                 attempts: list[dict[str, Any]]) -> tuple[dict, dict]:
    labels = [c.label for c in clips]
    last = scores_from_predictions(labels, outcome.heldout_preds[-1], num_classes)
    best = test_selected_epoch(labels, outcome.heldout_preds, num_classes)
    predictions = {
        "subject": job.subject,
        "order": job.order,
        "clip_ids": [c.clip_id for c in clips],
        "labels": labels,
        "pred_last": outcome.heldout_preds[-1],
        "probs_last": outcome.heldout_probs,
        "pred_test_selected": outcome.heldout_preds[best],
        "pred_per_epoch": outcome.heldout_preds,
    }
    result = {
        "subject": job.subject,
        "order": job.order,
        "clips": len(clips),
        "epochs": outcome.epochs_run,
        "last": last,
        "test_selected_epoch": best + 1,
        "collapsed": outcome.collapse,
        "attempts": attempts,
        "per_epoch": outcome.per_epoch,
        "seconds": outcome.seconds,
    }
    return predictions, result


def load_fold(out_dir: Path, job: FoldJob) -> dict[str, Any]:
    folder = out_dir / job.folder
    fold = read_json(folder / "predictions.json")
    result = read_json(folder / "result.json")
    if "per_epoch" not in result:
        raise TrainingError(f"{folder} was written by an older mer-train without per-epoch train and held-out "
                            "figures; its report cannot be rebuilt. Delete that fold's folder to re-train it, or "
                            "give another --out")
    fold.update({k: result[k] for k in ("last", "test_selected_epoch", "per_epoch", "collapsed", "attempts")})
    return fold


def train_fold(job: FoldJob, options: TrainOptions, k: int, make_sets, device: torch.device, quiet: bool,
               logger: FoldLogger, ctx: distributed.Context,
               watcher=lambda attempt: None) -> tuple[FoldOutcome, list[dict[str, Any]]]:
    """Train the fold; with --retry-collapsed N, again from another initialisation while it did not fit its
    training data (at most N more times). Every attempt is returned for the report; the last one counts."""
    attempts: list[dict[str, Any]] = []
    for attempt in range(options.retry_collapsed + 1):
        train_set, held_set = make_sets()
        outcome = train_model(options, k, train_set, held_set, job.subject, device, quiet=quiet,
                              on_epoch=logger.epoch_callback(job.subject, attempt), watch=watcher(attempt), ctx=ctx,
                              attempt=attempt)
        attempts.append({"attempt": attempt + 1, "train_uf1": outcome.per_epoch[-1]["train_uf1"],
                         "collapsed": outcome.collapse})
        if outcome.collapse is None:
            break
        if ctx.rank == 0 or options.distribute != "ddp":
            name = "the final model" if job.subject is None else f"fold {job.subject}"
            more = attempt < options.retry_collapsed
            write(f"mer-train: warning: {name} did not fit its training data ({outcome.collapse})"
                  + ("; retrying from another initialisation" if more else f"; try {advice(options)}"))
    return outcome, attempts


# ---------------------------------------------------------------- the run
def run_job(job: FoldJob, options: TrainOptions, index: DatasetIndex, cache: ClipCache, spec: ModelSpec,
            device: torch.device, out_dir: Path, logger: FoldLogger, quiet: bool = False,
            ctx: distributed.Context | None = None) -> dict[str, Any] | None:
    """Train one unit and write its files (with --distribute ddp: every rank trains, rank 0 writes)."""
    ctx = ctx or distributed.Context()
    k = len(index.class_names)
    if job.subject is None:
        train_clips, held_clips = list(index.clips), []
    else:
        train_clips = [c for c in index.clips if c.subject != job.subject]
        held_clips = [c for c in index.clips if c.subject == job.subject]
    if not train_clips:
        raise TrainingError(f"fold {job.subject}: no training clips left (the dataset has one subject); "
                            "LOSO needs at least two subjects with clips")

    def dataset(clips, augment):
        return ClipDataset([c.frames for c in clips], [c.label for c in clips], cache, options.feature,
                           options.num_frames, augment, options.augment_order)

    def make_sets():
        return dataset(train_clips, True), (dataset(held_clips, False) if held_clips else None)

    def watcher(attempt):
        return logger.clip_callback(job.subject, attempt, train_clips, held_clips, cache, index.class_names,
                                    out_dir / job.folder)

    outcome, attempts = train_fold(job, options, k, make_sets, device, quiet, logger, ctx, watcher)
    if ctx.rank != 0 and options.distribute == "ddp" and ctx.initialised:
        return None   # rank 0 holds the same outcome and writes it
    write_options(out_dir, options)
    folder = out_dir / job.folder
    info = {"held_out": job.subject, "epoch": outcome.epochs_run, "epochs": options.epochs,
            "options": options.to_dict(), "seed": options.seed, "class_names": list(index.class_names),
            "model": options.model, "mer_live_version": _version()}
    if not held_clips:
        result = {"subject": None, "epochs": outcome.epochs_run, "collapsed": outcome.collapse,
                  "attempts": attempts, "per_epoch": outcome.per_epoch, "seconds": outcome.seconds,
                  "clips": len(train_clips)}
        save_checkpoint(folder / "model.pt", Checkpoint(spec, outcome.model.state_dict(), info))
        write_text_atomic(folder / "result.json", json.dumps(result, indent=2))
        return result
    predictions, result = fold_summary(job, held_clips, outcome, k, attempts)
    info["heldout_scores"] = {"acc": result["last"]["acc"], "uf1": result["last"]["uf1"]}
    write_text_atomic(folder / "predictions.json", json.dumps(predictions, indent=1))
    save_checkpoint(folder / "model.pt", Checkpoint(spec, outcome.model.state_dict(), info))
    logger.fold_done(job.subject)
    write_text_atomic(folder / "result.json", json.dumps(result, indent=2))  # last: marks the fold finished
    return result


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("mer-live")
    except Exception:
        return "unknown"


def run(options: TrainOptions, command: str | None = None) -> dict[str, Any] | None:
    """Train and report; returns the report on rank 0 (None elsewhere or with --final-only). `command` is
    what a second run into the same folder is told holds it."""
    device = select_device(options, distributed.local_rank())
    check_outputs(options)
    ctx = distributed.start(device)
    try:
        with output_lock(options.output_dir(), ctx, command):
            return _run(options, ctx, device)
    finally:
        distributed.stop(ctx)


@contextlib.contextmanager
def output_lock(out_dir: Path, ctx: distributed.Context, command: str | None):
    """Rank 0 holds the output folder's lock for the run (every rank is refused with it), and sweeps the
    temporary files a killed run left there: the folder is this run's alone now."""
    with contextlib.ExitStack() as stack:
        refusal = None
        if ctx.rank == 0:
            try:
                stack.enter_context(folder_lock(out_dir, command))
            except FolderInUseError as exc:
                refusal = str(exc)
            else:                                     # before the other ranks go on to write there
                stale = remove_temporaries(out_dir)
                if stale:
                    print(f"removed {len(stale)} temporary file(s) an interrupted run left in {out_dir}",
                          file=sys.stderr)
        refusal = distributed.broadcast(ctx, refusal)
        if refusal:
            raise FolderInUseError(refusal)
        yield


def _run(options: TrainOptions, ctx: distributed.Context, device: torch.device) -> dict[str, Any] | None:
    quiet = options.no_progress or ctx.rank != 0
    index = load_clips(options)
    out_dir = options.output_dir()
    check_resume(out_dir, options)
    check_ranks(options, ctx)
    subjects = [s for s in index.subjects if not options.subjects or s in options.subjects]
    if len(index.subjects) < 2 and not options.final_only:
        raise TrainingError(f"{options.dataset} under {options.data_path} has clips of one subject only; LOSO needs "
                            "two or more (or use --final-only to train one model on it)")
    jobs = [] if options.final_only else [FoldJob(i, s) for i, s in enumerate(subjects)]
    if options.final or options.final_only:
        jobs.append(FoldJob(len(jobs), None))
    apart = options.distribute == "ddp" and not distributed.syncs_batchnorm(device)
    batchnorm = check_model(options, len(index.class_names), device,
                            step_batches(options, index, jobs, ctx.world if apart else 1))
    logger = FoldLogger(options, out_dir, writes=ctx.rank == 0 or options.distribute != "ddp")
    if ctx.rank == 0:
        print(index.summary())
        if empty_classes(index):
            print(f"warning: class(es) {', '.join(empty_classes(index))} have no clips: UF1 and UAR are taken over "
                  f"the other {len(index.class_names) - len(empty_classes(index))} classes", file=sys.stderr)
        if apart and batchnorm and ctx.world > 1:
            print(f"warning: --distribute ddp on CPU: {options.model}'s BatchNorm layers normalise each rank's share "
                  "of a batch on its own (PyTorch's SyncBatchNorm runs on GPUs only), so the figures differ from "
                  "a single process's; --distribute folds gives a single process's figures", file=sys.stderr)
        if logger.tb_root is not None:
            print(f"TensorBoard logs: {logger.tb_root}" + ("" if options.tensorboard else
                                                            " (--subtb without -tb: the original code's -tb '.')"))
    flow = flow_backend(options, device)
    spec = model_spec(options, index, flow)
    cache = make_cache(options, flow)
    fill_cache(cache, index.clips, ctx.rank, ctx.world, quiet)
    distributed.barrier(ctx)

    pending = [job for job in jobs if not fold_finished(out_dir, job, say=ctx.rank == 0)]
    pending = distributed.broadcast(ctx, pending)  # every rank shares out the same list
    mine = pending if options.distribute == "ddp" else pending[ctx.rank::ctx.world]
    if ctx.rank == 0 and len(pending) < len(jobs):
        print(f"resuming {out_dir}: {len(jobs) - len(pending)} of {len(jobs)} done, {len(pending)} to run")

    folds_here = [job for job in mine if job.subject is not None]   # the final model is no fold: it is named apart
    bar = progress(total=len(folds_here), desc=f"LOSO {options.model} {options.dataset}"
                   + (f" rank {ctx.rank}" if ctx.world > 1 and options.distribute != "ddp" else ""), unit="fold",
                   position=0, disable=quiet or not folds_here, log_every_s=0)
    done_truth: list[int] = []
    done_pred: list[int] = []
    for job in mine:
        if job.subject is None:
            if not quiet:
                write("final model: training on every subject")
        else:
            bar.set_description(f"held out {job.subject}", refresh=False)
        result = run_job(job, options, index, cache, spec, device, out_dir, logger, quiet, ctx)
        if job.subject is not None and result is not None:
            fold = read_json(out_dir / job.folder / "predictions.json")
            done_truth += fold["labels"]
            done_pred += fold["pred_last"]
            uf1 = scores_from_predictions(done_truth, done_pred, len(index.class_names))["uf1"]
            bar.set_postfix(pooled_UF1=f"{uf1:.3f}", refresh=False)
            bar.update(1)
            if bar.n == len(folds_here):
                bar.close()                                   # before the final model, which is no fold
    bar.close()
    logger.close()
    distributed.barrier(ctx)
    if ctx.rank != 0 or options.final_only:
        if ctx.rank == 0:
            print(f"final model: {out_dir / 'final' / 'model.pt'}")
        return None
    from training.report import build_report, console_summary

    folds = [load_fold(out_dir, job) for job in jobs if job.subject is not None]
    report = build_report(out_dir, folds, index.class_names, options.to_dict() | {"image_size": list(options.image_size)},
                          advice(options), index.notes)
    logger.report_done(report, folds)
    print(console_summary(report, out_dir))
    if options.final or options.final_only:
        print(f"  final model: {out_dir / 'final' / 'model.pt'}")
    return report
