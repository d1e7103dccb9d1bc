"""mer-prepare: crop every clip's face with ONE box (found on the first frame with a face) and save landmarks.

`mer-prepare --dir D --ext E [--gpu G] [--crop square|original]` reads every folder under D that holds
*.E frames and writes
  D_CROP/<same path>/<same file names>   the crops (all frames of a clip share one box: square with a margin,
                                         or with --crop original the raw MTCNN rectangle as the original
                                         code (Hong et al. 2022) cut it; see mer_live.face),
  D_LANDMARK/<same path>/<frame>.npy     MTCNN's five points (5, 2) float32 in crop pixels, NaN on frames
                                         where MTCNN found no face,
  D_CROP/<same path>/.mer-prepare.json   the clip's box, written last: a clip with it is finished and skipped,
and copies D's .xlsx sheets to the same places under D_CROP. D itself is never written to: outputs are
placed by their real paths (symlinks followed), and a D_CROP or D_LANDMARK that resolves to D, inside D, or
to a folder that holds D (e.g. `ln -s SMIC SMIC_CROP`) is refused before anything is written.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from mer_live.atomic import atomic_path, check_writable, overlapping, write_text_atomic
from mer_live.cli_numbers import number
from mer_live.cli_errors import DEBUG_HELP, EXIT_INCOMPLETE, EXIT_UNREADABLE_INPUT, EXIT_USAGE, command_errors
from mer_live.face import CROP_MODES, DEFAULT_CROP, DEFAULT_MARGIN, FaceDetector, crop, crop_box
from mer_live.frames import FrameReadError, frame_files, is_frame_file, read_frames, write_frame

MARKER = ".mer-prepare.json"
MAX_MARGIN = 10.0   # a crop side of 11 face widths: far more background than face


class PrepareError(ValueError):
    """Bad input for the whole run (missing folder, no frames); the message says what to fix."""


@dataclasses.dataclass
class PrepareReport:
    cropped: list[Path] = dataclasses.field(default_factory=list)
    skipped: list[Path] = dataclasses.field(default_factory=list)
    failed: list[tuple[Path, str]] = dataclasses.field(default_factory=list)
    sheets: list[Path] = dataclasses.field(default_factory=list)


def output_dirs(root: Path) -> tuple[Path, Path]:
    """D -> (D_CROP, D_LANDMARK), siblings of D (resolved first, so `--dir .` never writes inside D)."""
    root = Path(root).resolve()
    return root.parent / f"{root.name}_CROP", root.parent / f"{root.name}_LANDMARK"


def check_outputs_apart(root: Path, outputs: Sequence[Path]) -> None:
    """Refuse outputs whose real path is D, lies inside D or holds D, or that overlap each other (a symlink
    such as `D_CROP -> D` would make the crops overwrite the raw frames); PrepareError naming both."""
    for i, out in enumerate(outputs):
        if overlapping(out, root):
            raise PrepareError(f"output {out} resolves to {os.path.realpath(out)}, which overlaps the raw dataset "
                               f"{root}: mer-prepare never writes into D. Remove or re-point that symlink, or "
                               "move the dataset so its _CROP and _LANDMARK siblings are real folders")
        for other in outputs[i + 1:]:
            if overlapping(out, other):
                raise PrepareError(f"outputs {out} and {other} resolve to overlapping folders "
                                   f"({os.path.realpath(out)}, {os.path.realpath(other)}); make them separate folders")


def find_clips(root: Path, ext: str) -> list[Path]:
    """Folders under `root` (itself included) that hold *.ext frames, sorted."""
    return sorted({p.parent for p in root.rglob("*") if is_frame_file(p, ext)})


def _existing_extensions(root: Path) -> str:
    counts: dict[str, int] = {}
    for p in root.rglob("*"):
        if p.is_file() and p.suffix:
            counts[p.suffix.lower()] = counts.get(p.suffix.lower(), 0) + 1
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:5]
    return ", ".join(f"{ext} ({n})" for ext, n in top) or "none"


def _raw_dir(root: Path) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise PrepareError(f"--dir {root} is not a folder; give the raw dataset folder, e.g. --dir /data/SMIC")
    return root


def _marker(out_dir: Path) -> dict | None:
    """A finished clip's marker, or None (no marker, or one cut short)."""
    marker = out_dir / MARKER
    if not marker.is_file():
        return None
    try:
        info = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and "box" in info else None


def is_finished(out_dir: Path) -> bool:
    return _marker(out_dir) is not None


def crop_settings(crop_mode: str, margin: float) -> dict:
    """What a clip's crop was made with (stored in its marker; markers from before --crop mean "square")."""
    return {"crop": crop_mode, "margin": margin if crop_mode == "square" else None}


def _settings_of(info: dict) -> dict:
    return crop_settings(info.get("crop", "square"), info.get("margin"))


def _describe(settings: dict) -> str:
    return f"--crop {settings['crop']}" + (f" --margin {settings['margin']}" if settings["crop"] == "square" else "")


def prepare_clip(detector: FaceDetector, clip_dir: Path, crop_dir: Path, landmark_dir: Path, ext: str,
                 margin: float = DEFAULT_MARGIN, crop_mode: str = DEFAULT_CROP) -> dict:
    """Crop one clip with the box of its first frame with a face; returns the marker's content.

    Raises FrameReadError for unreadable frames and PrepareError when no frame has a face.
    """
    paths = frame_files(clip_dir, ext)
    frames = read_frames(paths)
    faces = detector.detect_many(frames)
    face_index = next((i for i, face in enumerate(faces) if face is not None), None)
    if face_index is None:
        raise PrepareError(f"no face found in any of its {len(frames)} frames")
    box = crop_box(faces[face_index].box, frames.shape[1:3], crop_mode, margin)
    offset = np.array(box[:2], np.float32)
    for path, frame, face in zip(paths, frames, faces):
        write_frame(crop_dir / path.name, crop(frame, box))
        points = face.landmarks - offset if face is not None else np.full((5, 2), np.nan, np.float32)
        with atomic_path(landmark_dir / f"{path.stem}.npy") as tmp:
            with open(tmp, "wb") as handle:
                np.save(handle, points.astype(np.float32))
    remove_stale_outputs(crop_dir, landmark_dir, paths, ext)
    info = {"box": list(box), **crop_settings(crop_mode, margin), "face_frame": paths[face_index].name,
            "frames": len(paths),
            "frames_without_face": sum(face is None for face in faces),
            "detector_box": [float(v) for v in faces[face_index].box]}
    write_text_atomic(crop_dir / MARKER, json.dumps(info, indent=1))  # last: the clip is complete
    return info


def remove_stale_outputs(crop_dir: Path, landmark_dir: Path, paths: list[Path], ext: str) -> list[Path]:
    """Delete a redone clip's crops and landmarks whose raw frame is gone (an earlier run's extra frames),
    so the crop folder holds exactly the clip's frames. Only files of those two kinds are touched."""
    names = {p.name for p in paths}
    stems = {p.stem for p in paths}
    stale = [p for p in crop_dir.iterdir() if is_frame_file(p, ext) and p.name not in names]
    if landmark_dir.is_dir():
        stale += [p for p in landmark_dir.iterdir() if p.is_file() and p.suffix == ".npy" and p.stem not in stems]
    for path in stale:
        path.unlink()
    return stale


def copy_sheets(root: Path, crop_root: Path) -> list[Path]:
    """Copy D's .xlsx sheets to the same relative places under D_CROP (readers look for them there)."""
    copied = []
    for sheet in sorted(root.rglob("*.xlsx")):
        if sheet.name.startswith((".", "~$")):
            continue
        target = crop_root / sheet.relative_to(root)
        check_outputs_apart(root, (target.parent,))
        with atomic_path(target) as tmp:
            shutil.copyfile(sheet, tmp)
        copied.append(target)
    return copied


def prepare_tree(root: Path, ext: str, device: str = "cpu", margin: float = DEFAULT_MARGIN,
                 detector: FaceDetector | None = None, progress: bool = True,
                 crop_mode: str = DEFAULT_CROP) -> PrepareReport:
    """Crop every clip under `root`; finished clips (with their marker) are skipped, failures collected.

    Raises PrepareError before any work when D_CROP holds clips cropped with other crop settings.
    """
    if crop_mode not in CROP_MODES:
        raise PrepareError(f"unknown crop {crop_mode!r}; choose one of {', '.join(CROP_MODES)}")
    from mer_live.progress import progress as progress_bar

    root = _raw_dir(root).resolve()
    clips = find_clips(root, ext)
    if not clips:
        raise PrepareError(f"no *.{ext.lstrip('.')} frames under {root}; check --ext "
                           f"(files found there by extension: {_existing_extensions(root)})")
    crop_root, landmark_root = output_dirs(root)
    check_outputs_apart(root, (crop_root, landmark_root))
    check_writable(crop_root, folder=True)          # before the detector loads and any clip is cropped
    check_writable(landmark_root, folder=True)
    report = PrepareReport(sheets=copy_sheets(root, crop_root))
    todo = []
    wanted = crop_settings(crop_mode, margin)
    for clip in clips:
        rel = clip.relative_to(root)
        check_outputs_apart(root, (crop_root / rel, landmark_root / rel))   # a symlink deeper in the outputs
        info = _marker(crop_root / rel)
        if info is not None and _settings_of(info) != wanted:
            raise PrepareError(f"{crop_root} holds clips cropped with {_describe(_settings_of(info))}, not "
                               f"{_describe(wanted)}; re-run with those options, or remove {crop_root} first")
        (report.skipped if info is not None else todo).append(clip)
    if todo and detector is None:
        detector = FaceDetector(device=device)
    bar = progress_bar(todo, desc="mer-prepare", unit="clip", disable=not progress)
    for clip in bar:
        rel = clip.relative_to(root)
        bar.set_postfix_str(str(rel)[-40:])
        try:
            prepare_clip(detector, clip, crop_root / rel, landmark_root / rel, ext, margin, crop_mode)
        except (FrameReadError, PrepareError) as exc:
            report.failed.append((clip, str(exc)))
            continue
        report.cropped.append(clip)
    return report


def choose_device(gpu: int | None) -> str:
    """--gpu G -> "cuda:G" when CUDA has that GPU; -1 or no CUDA -> "cpu" (said on stderr)."""
    import torch

    if gpu is None or gpu < 0:
        return "cpu"
    if not torch.cuda.is_available():
        print(f"mer-prepare: CUDA is not available; running MTCNN on the CPU instead of GPU {gpu}", file=sys.stderr)
        return "cpu"
    count = torch.cuda.device_count()
    if gpu >= count:
        raise PrepareError(f"--gpu {gpu} does not exist: this machine has {count} CUDA device(s) (0..{count - 1}); "
                           "use -1 for the CPU")
    return f"cuda:{gpu}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mer-prepare", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--dir", required=True, help="raw dataset folder, e.g. data/SMIC (writes data/SMIC_CROP)")
    parser.add_argument("--gpu", type=int, default=0, help="GPU number; -1 or no CUDA: CPU (default 0)")
    parser.add_argument("--ext", default="jpg", help="frame file extension, e.g. jpg or bmp (default jpg)")
    parser.add_argument("--crop", choices=CROP_MODES, default=DEFAULT_CROP,
                        help="square: a square box with a margin around the face, so training's square resize "
                             "keeps the face's proportions; original: the raw MTCNN rectangle as the original "
                             "code cut it (not square, no margin; the crops the paper's figures were made from) "
                             f"(default {DEFAULT_CROP})")
    parser.add_argument("--margin", type=number(0, MAX_MARGIN), default=None,
                        help=f"--crop square only: crop side = max(w, h) of the face box * (1 + margin) "
                             f"(default {DEFAULT_MARGIN})")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    args = parser.parse_args(argv)
    if args.margin is not None and args.crop != "square":
        parser.error(f"--margin applies to --crop square only; --crop {args.crop} takes the face box as it is")
    margin = DEFAULT_MARGIN if args.margin is None else args.margin
    root = Path(args.dir)
    errors = {PrepareError: EXIT_USAGE, FrameReadError: EXIT_UNREADABLE_INPUT}
    resume = "finished clips are kept: run the same command again to resume"
    with command_errors("mer-prepare", errors, debug=args.debug, interrupted=resume, kept=resume) as outcome:
        _raw_dir(root)  # before the device: a wrong --dir is the error to show
        device = choose_device(args.gpu)
        report = prepare_tree(root, args.ext, device=device, margin=margin, crop_mode=args.crop)
    if outcome.status:
        return outcome.status
    crop_root, landmark_root = output_dirs(root)
    print(f"mer-prepare: cropped {len(report.cropped)} clips, skipped {len(report.skipped)} already finished, "
          f"copied {len(report.sheets)} sheet(s); crops in {crop_root}, landmarks in {landmark_root}")
    if report.failed:
        print(f"mer-prepare: {len(report.failed)} clip(s) could not be cropped (fix or remove them, then re-run; "
              "finished clips are skipped):", file=sys.stderr)
        for clip, reason in report.failed:
            print(f"  {clip}: {reason}", file=sys.stderr)
        return EXIT_INCOMPLETE
    return 0


if __name__ == "__main__":
    sys.exit(main())
