"""Dataset readers: SMIC (HS), CASME II, SAMM and the MEGC 2019 composite (CDE), one ClipRecord per clip.

`load_dataset(data_path, name)`: DATA_PATH excludes the dataset name (`/data`, not `/data/SMIC`).
"""
from __future__ import annotations

import os
from pathlib import Path

from mer_live.suggest import unknown_choice
from mer_live.datasets import catalog
from mer_live.datasets.catalog import CLASS_NAMES, DATASETS, FPS, LOSO_SUBJECTS
from mer_live.datasets.records import (MIN_CLIP_FRAMES, ClipRecord, DatasetError, DatasetIndex,
                                      IncompleteCompositeError, OutsideDatasetError, UnknownLabelError,
                                      index_clips)
from mer_live.frames import FrameReadError

__all__ = ["CLASS_NAMES", "DATASETS", "FPS", "LOSO_SUBJECTS", "ClipRecord", "DatasetError", "DatasetIndex",
           "FrameReadError", "IncompleteCompositeError", "MIN_CLIP_FRAMES", "OutsideDatasetError",
           "UnknownLabelError", "catalog", "load_dataset"]


def load_dataset(data_path: str | os.PathLike, name: str, drop_unknown: bool = False,
                 partial_cde: bool = False) -> DatasetIndex:
    """Index one dataset under DATA_PATH; DatasetError names the path and the fix when the layout is wrong.

    A label the class map does not know raises UnknownLabelError (a DatasetError) unless `drop_unknown`,
    which leaves those clips out and counts them in `DatasetIndex.unknown`. CDE refuses when a clip of the
    published MEGC 2019 list is missing unless `partial_cde`, which leaves it out with a note.
    """
    from mer_live.datasets.cde import SCANNERS, load_cde

    if name not in DATASETS:
        raise DatasetError(unknown_choice("dataset", name, DATASETS))
    data_path = Path(data_path)
    if not data_path.is_dir():
        raise DatasetError(f"DATA_PATH {data_path} is not a folder; give the folder that holds the dataset "
                           f"folders (e.g. /data, not /data/{name})")
    if name == "CDE":
        return load_cde(data_path, drop_unknown=drop_unknown, partial=partial_cde)
    notes: list[str] = []
    found = SCANNERS[name](data_path, notes)
    mapping = {(name, c): c for c in CLASS_NAMES[name]}
    return index_clips(name, found, CLASS_NAMES[name], mapping, FPS, drop_unknown=drop_unknown, notes=notes)
