"""The typed results of a dataset reader: one ClipRecord per clip, gathered in a DatasetIndex."""
from __future__ import annotations

import dataclasses
from pathlib import Path


class DatasetError(ValueError):
    """A dataset on disk that does not match its expected layout; the message names the path and the fix."""


class OutsideDatasetError(DatasetError):
    """A sheet cell naming a clip folder by a path that could lead outside the dataset (`../..`, `/`):
    hostile or corrupt data, refused with its rows; the message names the fix."""


class IncompleteCompositeError(DatasetError):
    """CDE asked for while clips of the published MEGC 2019 list are not under DATA_PATH: the message names them
    and the two fixes (restore them, or train on the clips present with PARTIAL_OPTION)."""

    PARTIAL_OPTION = "--cde-partial"


class UnknownLabelError(DatasetError):
    """Clips whose emotion the class map does not know (a typo such as `hapiness`, a blank cell): an error in
    the user's data, refused unless they are dropped explicitly (`load_dataset(..., drop_unknown=True)`)."""

    DROP_OPTION = "--drop-unknown-labels"


# A clip needs two frames to hold any motion: one frame brought to num_frames is a still picture whose flow
# is zero. Training refuses shorter clips rather than learn from them.
MIN_CLIP_FRAMES = 2


@dataclasses.dataclass(frozen=True)
class ClipRecord:
    """One labelled clip: frame paths in true temporal order, its class, and its timing where known."""

    dataset: str                 # source dataset: SMIC, CASME2 or SAMM (also inside CDE)
    subject: str                 # "s01", "sub01", "006"; CDE prefixes the dataset: "SMIC/s01"
    clip_id: str                 # sample folder / sheet Filename, e.g. "s1_ne_01", "EP02_01f", "006_1_2"
    frames: tuple[Path, ...]
    label: int                   # index into DatasetIndex.class_names
    label_name: str
    onset: int | None = None     # frame numbers from the sheet (None where the sheet has none)
    apex: int | None = None
    offset: int | None = None
    fps: float = 0.0

    @property
    def num_frames(self) -> int:
        return len(self.frames)


@dataclasses.dataclass
class DatasetIndex:
    """All clips of a dataset, its classes, its subjects (those with clips) and what was dropped."""

    name: str
    clips: list[ClipRecord]
    class_names: tuple[str, ...]
    subjects: tuple[str, ...]
    dropped: dict[str, int] = dataclasses.field(default_factory=dict)  # emotion -> clips left out
    unknown: dict[str, int] = dataclasses.field(default_factory=dict)  # unknown emotion -> clips dropped on request
    sheets: dict[str, Path] = dataclasses.field(default_factory=dict)  # source dataset -> label sheet read
    notes: list[str] = dataclasses.field(default_factory=list)         # what the reader chose or left out, and why

    def __len__(self) -> int:
        return len(self.clips)

    def class_counts(self) -> dict[str, int]:
        counts = {name: 0 for name in self.class_names}
        for clip in self.clips:
            counts[clip.label_name] += 1
        return counts

    def clips_of(self, subject: str) -> list[ClipRecord]:
        return [c for c in self.clips if c.subject == subject]

    def summary(self) -> str:
        """For logs: one line of clips, subjects, per-class counts, the emotions left out and the label sheets
        read (with what each is), then one `note:` line per reader note."""
        counts = ", ".join(f"{k} {v}" for k, v in self.class_counts().items())
        text = f"{self.name}: {len(self.clips)} clips from {len(self.subjects)} subjects ({counts})"
        if self.dropped:
            left = ", ".join(f"{k} {v}" for k, v in sorted(self.dropped.items()))
            text += f"; dropped {sum(self.dropped.values())} clips outside the class map ({left})"
        if self.unknown:
            left = ", ".join(f"{k} {v}" for k, v in sorted(self.unknown.items()))
            text += f"; dropped {sum(self.unknown.values())} clips with unknown labels, as asked ({left})"
        if self.sheets:
            text += "; labels from " + ", ".join(f"{sheet.name}" + (f" ({what})" if (what := describe_sheet(sheet))
                                                                     else "") for sheet in self.sheets.values())
        return "\n".join([text] + [f"note: {note}" for note in self.notes])


def describe_sheet(sheet: Path) -> str:
    """What a label sheet is, by its file name ("coding sheet of 2014-05-08"); "" for one the catalog does not list."""
    from mer_live.datasets.catalog import CASME2_SHEETS

    return CASME2_SHEETS.get(sheet.name, "")


def sort_subjects(subjects) -> tuple[str, ...]:
    """Subject ids in numeric order ("s2" before "s10"), dataset prefix first for CDE."""
    import re

    def key(s: str):
        prefix, _, rest = s.rpartition("/")
        digits = re.findall(r"\d+", rest)
        return (prefix, int(digits[-1]) if digits else -1, rest)

    return tuple(sorted(set(subjects), key=key))


@dataclasses.dataclass(frozen=True)
class SheetClip:
    """A clip as a reader found it, before its emotion is mapped to a class (shared by CDE)."""

    dataset: str
    subject: str
    clip_id: str
    emotion: str                 # the dataset's own spelling, e.g. "ne", "happiness", "Anger"
    folder: Path
    ext: str
    source: str                  # where the clip was listed (sheet path or the folder), for errors
    row: int | None = None       # its row in the sheet, as the spreadsheet numbers it (None: a folder name)
    sheet: Path | None = None    # the label sheet it was read from (None: labels from folder names)
    onset: int | None = None
    apex: int | None = None
    offset: int | None = None


def index_clips(name: str, found: list[SheetClip], class_names: tuple[str, ...],
                mapping: dict[tuple[str, str], str], fps: dict[str, float],
                subject_prefix: bool = False, drop_unknown: bool = False,
                notes: list[str] | None = None,
                labels: dict[tuple[str, str, str], str] | None = None) -> DatasetIndex:
    """Map each clip's (dataset, emotion) to a class and list its frames.

    `labels` gives some clips their class by (dataset, subject, clip_id), whatever their emotion (the
    composite's published list).

    An emotion the dataset documents but the class map leaves out (CASME II fear, sadness) is counted in
    `dropped`. An emotion the dataset does not know at all (a typo, a blank cell) raises UnknownLabelError
    naming each value and its rows, unless `drop_unknown`, which counts it in `unknown` instead.
    With `subject_prefix` (the composite) subjects and dropped keys carry the dataset: "SAMM/006", "SAMM:Others".

    A kept clip whose folder is missing or holds no frames is an error, never skipped.
    """
    from mer_live.datasets.catalog import CLASS_NAMES, DROPPED_EMOTIONS, PREPARE_HINT
    from mer_live.frames import frame_files

    clips: list[ClipRecord] = []
    dropped: dict[str, int] = {}
    unknown: dict[str, list[SheetClip]] = {}
    for item in found:
        target = (labels or {}).get((item.dataset, item.subject, item.clip_id)) or \
            mapping.get((item.dataset, item.emotion))
        if target is None:
            key = f"{item.dataset}:{item.emotion or '(blank)'}" if subject_prefix else (item.emotion or "(blank)")
            documented = item.emotion in CLASS_NAMES[item.dataset] + DROPPED_EMOTIONS[item.dataset]
            if documented:
                dropped[key] = dropped.get(key, 0) + 1
            else:
                unknown.setdefault(key, []).append(item)
            continue
        if not item.folder.is_dir():
            raise DatasetError(f"clip {item.clip_id} (subject {item.subject}) is listed in {item.source} but its "
                               f"frame folder {item.folder} does not exist; restore the clip's frames or "
                               f"{PREPARE_HINT}")
        frames = tuple(frame_files(item.folder, item.ext))
        if not frames:
            raise DatasetError(f"clip {item.clip_id} (subject {item.subject}) is listed in {item.source} but its "
                               f"folder {item.folder} holds no .{item.ext} frames; restore them or {PREPARE_HINT}")
        clips.append(ClipRecord(
            dataset=item.dataset,
            subject=f"{item.dataset}/{item.subject}" if subject_prefix else item.subject,
            clip_id=item.clip_id, frames=frames, label=class_names.index(target), label_name=target,
            onset=item.onset, apex=item.apex, offset=item.offset, fps=fps[item.dataset]))
    if unknown and not drop_unknown:
        raise UnknownLabelError(unknown_labels_message(name, unknown))
    sheets = {item.dataset: item.sheet for item in found if item.sheet is not None}
    return DatasetIndex(name=name, clips=clips, class_names=class_names,
                        subjects=sort_subjects(c.subject for c in clips), dropped=dropped,
                        unknown={key: len(items) for key, items in unknown.items()}, sheets=sheets,
                        notes=list(notes or []))


def unknown_labels_message(name: str, unknown: dict[str, list[SheetClip]]) -> str:
    """One line: each unknown value with the rows (or folders) that hold it, what is known, and the two fixes."""
    from mer_live.datasets.catalog import CLASS_NAMES, DROPPED_EMOTIONS

    parts = []
    for items in unknown.values():
        value = items[0].emotion or "(blank)"
        rows = [str(item.row) for item in items if item.row is not None]
        where = (f"row{'s' if len(rows) > 1 else ''} {', '.join(rows)} of {items[0].source}" if rows
                 else f"{', '.join(item.clip_id for item in items)} in {items[0].source}")
        prefix = f"{items[0].dataset} " if name != items[0].dataset else ""
        parts.append(f"{prefix}{value!r} ({where})")
    datasets = sorted({item.dataset for items in unknown.values() for item in items})
    known = "; ".join(f"{d} knows {', '.join(CLASS_NAMES[d])}"
                      + (f" and leaves out {', '.join(DROPPED_EMOTIONS[d])}" if DROPPED_EMOTIONS[d] else "")
                      for d in datasets)
    count = sum(len(items) for items in unknown.values())
    return (f"{name}: {count} clip(s) have a label the class map does not know: {'; '.join(parts)}. {known}. "
            f"Correct the label, or leave these clips out explicitly with {UnknownLabelError.DROP_OPTION}")


def canonical_emotion(text: str, known: tuple[str, ...], aliases: dict[str, str]) -> str:
    """The dataset's own spelling of an emotion cell ("HAPPINESS " -> "happiness"); unknown ones as written."""
    cleaned = " ".join(str(text).split())
    lower = cleaned.lower()
    for name in known:
        if name.lower() == lower:
            return name
    return aliases.get(lower, cleaned)
