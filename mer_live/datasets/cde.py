"""MEGC 2019 composite (CDE): SMIC, CASME II and SAMM merged into negative / positive / surprise.

The composite is DEFINED by the published MEGC 2019 list of 442 clips (mer_live/assets/megc2019_composite.csv,
identifiers and three-class labels only; the README says where it comes from): its clips and labels are the
list's, whatever the sheets read say. Mapping the sheets' own labels (catalog.CDE_MAP) gives 444 clips with the
2014 CASME II sheet and 447 with the 2019 one, so each clip on which the sheet read disagrees with the list is
named in a note: a clip the sheet's label would put in that the list leaves out (left out), or a listed clip
the sheet labels otherwise (the list's label is used). A listed clip that is not under DATA_PATH (no sheet row,
no sample folder) refuses the composite, naming it: a figure is comparable with published MEGC 2019 results
only on all 442. `partial=True` (mer-train --cde-partial) trains on the listed clips present instead, each
missing one named in a note.
Subjects keep their dataset as a prefix ("SMIC/s01", "CASME2/sub01", "SAMM/006") so LOSO holds out one
person, never two people who share a number.
"""
from __future__ import annotations

import re
from pathlib import Path

from mer_live.datasets import catalog
from mer_live.datasets.casme2 import scan_casme2
from mer_live.datasets.records import (DatasetError, DatasetIndex, IncompleteCompositeError, OutsideDatasetError,
                                      SheetClip, index_clips)
from mer_live.datasets.samm import scan_samm
from mer_live.datasets.smic import scan_smic

SCANNERS = {"SMIC": scan_smic, "CASME2": scan_casme2, "SAMM": scan_samm}
COMPOSITE_LIST = Path(__file__).resolve().parent.parent / "assets" / "megc2019_composite.csv"
PARTIAL_OPTION = IncompleteCompositeError.PARTIAL_OPTION
SMIC_NAME = re.compile(r"^s(\d+)_([A-Za-z]+)_(\d+)$")

Key = tuple[str, str, str]          # (dataset, subject, clip key)


def clip_key(dataset: str, clip_id: str) -> str:
    """The clip as the list names it in mer-live's naming: SMIC samples by number ("s01_NE_1" -> "s1_ne_01")."""
    match = SMIC_NAME.match(clip_id) if dataset == "SMIC" else None
    if match is None:
        return clip_id
    return f"s{int(match.group(1))}_{match.group(2).lower()}_{int(match.group(3)):02d}"


def read_composite_list(path: Path = COMPOSITE_LIST) -> dict[Key, tuple[str, str]]:
    """(dataset, subject, clip key) -> (clip as listed, composite class), in the list's order ('#' lines are
    its header comment)."""
    listed: dict[Key, tuple[str, str]] = {}
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    if not lines or lines[0].split(",") != ["dataset", "subject", "clip", "emotion"]:
        raise DatasetError(f"{path} is not the MEGC 2019 composite list (columns dataset,subject,clip,emotion); "
                           f"reinstall mer-live or rewrite it with scripts/make_megc2019_list.py")
    for line in lines[1:]:
        dataset, subject, clip, emotion = line.split(",")
        listed[(dataset, subject, clip_key(dataset, clip))] = (clip, emotion)
    return listed


def load_cde(data_path: Path, drop_unknown: bool = False, partial: bool = False) -> DatasetIndex:
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
    listed = read_composite_list()
    mapping = {(dataset, src): dst for dataset, table in catalog.CDE_MAP.items() for src, dst in table.items()}
    found, labels, disagreements = follow_the_list(found, listed, mapping, notes)
    missing = [key for key in listed if key not in {(c.dataset, c.subject, clip_key(c.dataset, c.clip_id))
                                                    for c in found}]
    if missing and not partial:
        raise IncompleteCompositeError(missing_message(data_path, missing, listed))
    notes += [f"CDE: {d} {s}/{listed[(d, s, k)][0]} is in the MEGC 2019 list but not under {data_path}: left out"
              for d, s, k in missing]
    index = index_clips("CDE", found, catalog.CLASS_NAMES["CDE"], mapping, catalog.FPS, subject_prefix=True,
                        drop_unknown=drop_unknown, notes=notes, labels=labels)
    summary = (f"CDE: clips and labels from the MEGC 2019 list ({COMPOSITE_LIST.name}, {len(listed)} clips); "
               f"the sheets read disagree with it on {disagreements} clip(s), named above")
    if missing:
        summary += (f"; {len(missing)} listed clip(s) missing, left out as asked ({PARTIAL_OPTION}): figures on "
                    f"these {len(index.clips)} clips are not comparable with published MEGC 2019 results")
    index.notes.append(summary)
    return index


def follow_the_list(found: list[SheetClip], listed: dict[Key, tuple[str, str]],
                    mapping: dict[tuple[str, str], str],
                    notes: list[str]) -> tuple[list[SheetClip], dict[tuple[str, str, str], str], int]:
    """The clips to index, the list's label of each listed one, and how many disagree with the sheet read.

    A clip outside the list whose sheet label the composite maps is left out with a note naming it; one whose
    label the composite leaves out anyway stays, to be counted as dropped. A listed clip the sheet labels
    otherwise gets the list's label, with a note naming it."""
    kept: list[SheetClip] = []
    labels: dict[tuple[str, str, str], str] = {}
    disagreements = 0
    for item in found:
        entry = listed.get((item.dataset, item.subject, clip_key(item.dataset, item.clip_id)))
        target = mapping.get((item.dataset, item.emotion))
        where = item.sheet.name if item.sheet is not None else item.source
        said = f"{item.emotion or '(blank)'} ({target or 'outside the composite'}) in {where}"
        if entry is None:
            if target is None:
                kept.append(item)
                continue
            disagreements += 1
            notes.append(f"CDE: {item.dataset} {item.subject}/{item.clip_id} is {said}, but it is not in the "
                         f"MEGC 2019 list: left out")
            continue
        labels[(item.dataset, item.subject, item.clip_id)] = entry[1]
        kept.append(item)
        if target != entry[1]:
            disagreements += 1
            notes.append(f"CDE: {item.dataset} {item.subject}/{item.clip_id} is {said}, but the MEGC 2019 list "
                         f"labels it {entry[1]}: the list's label is used")
    return kept, labels, disagreements


def missing_message(data_path: Path, missing: list[Key], listed: dict[Key, tuple[str, str]]) -> str:
    """One line: how many listed clips are missing, the first ones by name, and the two fixes."""
    shown = ", ".join(f"{d} {s}/{listed[(d, s, k)][0]}" for d, s, k in missing[:8])
    more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
    return (f"CDE (MEGC 2019 composite): {len(missing)} of the list's {len(listed)} clips are not under "
            f"{data_path} (no sample folder or sheet row): {shown}{more}. Restore them (the full datasets hold "
            f"all of them), or train on the clips present with {PARTIAL_OPTION}, whose figures are then not "
            f"comparable with published MEGC 2019 results")
