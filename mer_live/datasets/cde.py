"""MEGC 2019 composite (CDE): SMIC, CASME II and SAMM merged into negative / positive / surprise.

Mapping (catalog.CDE_MAP): CASME II disgust and repression -> negative, happiness -> positive,
surprise -> surprise, others dropped; SAMM Anger, Contempt, Disgust, Fear, Sadness -> negative,
Happiness -> positive, Surprise -> surprise, Others dropped. The original code mapped SAMM Others to
negative (a DEFECT: the MEGC 2019 standard drops it, giving 442 clips from 68 subjects).
Subjects keep their dataset as a prefix ("SMIC/s01", "CASME2/sub01", "SAMM/006") so LOSO holds
out one person, never two people who share a number.
"""
from __future__ import annotations

from pathlib import Path

from mer_live.datasets import catalog
from mer_live.datasets.casme2 import scan_casme2
from mer_live.datasets.records import DatasetError, DatasetIndex, index_clips
from mer_live.datasets.samm import scan_samm
from mer_live.datasets.smic import scan_smic

SCANNERS = {"SMIC": scan_smic, "CASME2": scan_casme2, "SAMM": scan_samm}


def load_cde(data_path: Path, drop_unknown: bool = False) -> DatasetIndex:
    found = []
    for name in catalog.SOURCE_DATASETS:
        try:
            found += SCANNERS[name](data_path)
        except DatasetError as exc:
            raise DatasetError(f"CDE (MEGC 2019 composite) needs SMIC, CASME2 and SAMM under {data_path}: "
                               f"{exc}") from exc
    mapping = {(dataset, src): dst for dataset, table in catalog.CDE_MAP.items() for src, dst in table.items()}
    return index_clips("CDE", found, catalog.CLASS_NAMES["CDE"], mapping, catalog.FPS, subject_prefix=True,
                       drop_unknown=drop_unknown)
