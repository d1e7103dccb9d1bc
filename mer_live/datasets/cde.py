"""MEGC 2019 composite (CDE): SMIC, CASME II and SAMM merged into negative / positive / surprise.

Mapping (catalog.CDE_MAP): CASME II disgust and repression -> negative, happiness -> positive,
surprise -> surprise, others dropped; SAMM Anger, Contempt, Disgust, Fear, Sadness -> negative,
Happiness -> positive, Surprise -> surprise, Others dropped. The original code mapped SAMM Others to
negative (a DEFECT: the MEGC 2019 standard drops it, giving 442 clips from 68 subjects).
Subjects keep their dataset as a prefix ("SMIC/s01", "CASME2/sub01", "SAMM/006") so LOSO holds
out one person, never two people who share a number.

The published composite is a fixed list of 442 clips; mapping the sheets' labels gives 444 (2014 CASME II
sheet) or 447 (2019 sheet). The clips it leaves out (catalog.CDE_LEFT_OUT) are left out here too, each
named in a note when the sheet read would have put it in, and a composite whose totals differ from the
published ones (catalog.CDE_PUBLISHED_*) says so in a note.
"""
from __future__ import annotations

from pathlib import Path

from mer_live.datasets import catalog
from mer_live.datasets.casme2 import scan_casme2
from mer_live.datasets.records import DatasetError, DatasetIndex, OutsideDatasetError, SheetClip, index_clips
from mer_live.datasets.samm import scan_samm
from mer_live.datasets.smic import scan_smic

SCANNERS = {"SMIC": scan_smic, "CASME2": scan_casme2, "SAMM": scan_samm}


def load_cde(data_path: Path, drop_unknown: bool = False) -> DatasetIndex:
    found: list[SheetClip] = []
    notes: list[str] = []
    for name in catalog.SOURCE_DATASETS:
        try:
            found += SCANNERS[name](data_path, notes)
        except OutsideDatasetError:
            raise                                 # names its sheet and rows: nothing to add
        except DatasetError as exc:
            raise DatasetError(f"CDE (MEGC 2019 composite) needs SMIC, CASME2 and SAMM under {data_path}: "
                               f"{exc}") from exc
    mapping = {(dataset, src): dst for dataset, table in catalog.CDE_MAP.items() for src, dst in table.items()}
    found = leave_out_unlisted(found, mapping, notes)
    index = index_clips("CDE", found, catalog.CLASS_NAMES["CDE"], mapping, catalog.FPS, subject_prefix=True,
                        drop_unknown=drop_unknown, notes=notes)
    differs = published_difference(index)
    if differs:
        index.notes.append(differs)
    return index


def leave_out_unlisted(found: list[SheetClip], mapping: dict[tuple[str, str], str],
                       notes: list[str]) -> list[SheetClip]:
    """`found` without the clips the published list leaves out that the sheet's label would put in (a note
    names each); those whose label is outside the composite anyway stay, to be counted as dropped."""
    kept = []
    for item in found:
        reason = catalog.CDE_LEFT_OUT.get((item.dataset, item.subject, item.clip_id))
        target = mapping.get((item.dataset, item.emotion))
        if reason is None or target is None:
            kept.append(item)
            continue
        where = item.sheet.name if item.sheet is not None else item.source
        notes.append(f"CDE: {item.dataset} {item.subject}/{item.clip_id} is {item.emotion} ({target}) in {where}, "
                     f"but it is {reason}: left out")
    return kept


def published_difference(index: DatasetIndex) -> str:
    """"" when the composite has the published MEGC 2019 totals per dataset, subjects and class; else one note
    that gives both (a dataset, or its sheet, differs from those the list was made from)."""
    clips = {name: sum(1 for c in index.clips if c.dataset == name) for name in catalog.SOURCE_DATASETS}
    subjects = {name: sum(1 for s in index.subjects if s.startswith(f"{name}/")) for name in catalog.SOURCE_DATASETS}
    classes = index.class_counts()
    if (clips, subjects, classes) == (catalog.CDE_PUBLISHED_CLIPS, catalog.CDE_PUBLISHED_SUBJECTS,
                                      catalog.CDE_PUBLISHED_CLASSES):
        return ""

    def text(counts: dict) -> str:
        return ", ".join(f"{k} {v}" for k, v in counts.items())

    return (f"CDE: {len(index.clips)} clips ({text(clips)}; subjects {text(subjects)}; {text(classes)}), not the "
            f"published MEGC 2019 list's {sum(catalog.CDE_PUBLISHED_CLIPS.values())} "
            f"({text(catalog.CDE_PUBLISHED_CLIPS)}; subjects {text(catalog.CDE_PUBLISHED_SUBJECTS)}; "
            f"{text(catalog.CDE_PUBLISHED_CLASSES)}): a dataset or its sheet differs from those the list was made from")
