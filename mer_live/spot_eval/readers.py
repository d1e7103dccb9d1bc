"""`load_long_videos(data_path, name)`: one SpotIndex per long-video dataset (catalog.SPOT_DATASETS).

Errors a user can cause (missing folder, workbook, sheet or column, a listed video without frames, bad frame
numbers, a workbook with no annotation at all) are `mer_live.datasets.DatasetError`, one line naming the path and the fix, as for the
recognition datasets.
"""
from __future__ import annotations

import os
from pathlib import Path

from mer_live.datasets.records import DatasetError
from mer_live.spot_eval.catalog import SPOT_DATASETS
from mer_live.spot_eval.records import SpotIndex


def load_long_videos(data_path: str | os.PathLike, name: str) -> SpotIndex:
    """Index a long-video dataset under DATA_PATH (which excludes the dataset's folder)."""
    from mer_live.spot_eval.casme3_a import load_casme3_a
    from mer_live.spot_eval.casme_sq import load_casme_sq
    from mer_live.spot_eval.samm_lv import load_samm_lv

    if name not in SPOT_DATASETS:
        raise DatasetError(f"unknown long-video dataset {name!r}; choose one of {', '.join(SPOT_DATASETS)}")
    data_path = Path(data_path)
    if not data_path.is_dir():
        raise DatasetError(f"DATA_PATH {data_path} is not a folder; give the folder that holds {name}/ (e.g. /data, "
                           f"not /data/{name})")
    loader = {"CASME_SQ": load_casme_sq, "SAMM_LV": load_samm_lv, "CASME3_A": load_casme3_a}[name]
    index = loader(data_path)
    if not any(video.intervals for video in index.videos):   # scores against nothing are 0 by construction
        dropped = [n.text for n in index.notes if n.category.startswith("row left out")]
        why = (f"each of its {len(dropped)} annotations was left out (first: {dropped[0]})" if dropped
               else "its sheet has no annotation rows")
        raise DatasetError(f"the annotation workbook {index.sheet or name} gives no annotation to score against for "
                           f"any of the {len(index.videos)} videos: {why}; every F1 would be 0 by construction. "
                           "Restore the dataset's original workbook")
    return index
