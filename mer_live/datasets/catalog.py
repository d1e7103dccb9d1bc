"""Facts of each dataset in ONE place: class maps, LOSO subjects, frame rates and on-disk layouts.

Everything here follows the original code's facts (the project's shared REFERENCE.md); readers, the synthetic
generator, training and the live app take these facts from here and nowhere else.
"""
from __future__ import annotations

DATASETS = ("SMIC", "CASME2", "SAMM", "CDE")
SOURCE_DATASETS = ("SMIC", "CASME2", "SAMM")

# Class names in index order.
CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "SMIC": ("ne", "po", "sur"),
    "CASME2": ("disgust", "repression", "happiness", "others", "surprise"),
    "SAMM": ("Anger", "Contempt", "Happiness", "Surprise", "Others"),
    "CDE": ("negative", "positive", "surprise"),
}

# Emotions the sheets hold that the class map leaves out (counted in DatasetIndex.dropped).
DROPPED_EMOTIONS: dict[str, tuple[str, ...]] = {
    "SMIC": (),
    "CASME2": ("fear", "sadness"),
    "SAMM": ("Disgust", "Fear", "Sadness"),
}

# SMIC's folder-name class codes and the class folder each sits in.
SMIC_CLASS_FOLDERS = {"ne": "negative", "po": "positive", "sur": "surprise"}

# Spellings in the sheets that mean one of the class names (SAMM's sheet writes "Other").
EMOTION_ALIASES: dict[str, dict[str, str]] = {
    "SMIC": {"negative": "ne", "positive": "po", "surprise": "sur"},
    "CASME2": {"other": "others"},
    "SAMM": {"other": "Others"},
}

# MEGC 2019 composite (CDE): what a sheet's label means in the composite (absent: outside it). The composite's
# clips and labels are the published MEGC 2019 list, shipped as data (mer_live/assets/megc2019_composite.csv,
# read by mer_live.datasets.cde); this map finds where a sheet disagrees with the list. SAMM "Others" is outside
# it, as in the list (DEFECT in the original code: it mapped it to negative).
CDE_MAP: dict[str, dict[str, str]] = {
    "SMIC": {"ne": "negative", "po": "positive", "sur": "surprise"},
    "CASME2": {"disgust": "negative", "repression": "negative", "happiness": "positive",
               "surprise": "surprise"},
    "SAMM": {"Anger": "negative", "Contempt": "negative", "Disgust": "negative", "Fear": "negative",
             "Sadness": "negative", "Happiness": "positive", "Surprise": "surprise"},
}

FPS = {"SMIC": 100.0, "CASME2": 200.0, "SAMM": 200.0}

# LOSO subject numbers (the real datasets').
LOSO_SUBJECT_NUMBERS: dict[str, tuple[int, ...]] = {
    "SMIC": tuple(n for n in range(1, 21) if n not in (7, 10, 16, 17)),
    "CASME2": tuple(range(1, 27)),
    "SAMM": tuple(n for n in range(6, 38) if n not in (8, 27, 29)),
}


def subject_id(dataset: str, number: int) -> str:
    """The canonical subject id: SMIC `s01`, CASME II `sub01`, SAMM `006`."""
    if dataset == "SMIC":
        return f"s{number:02d}"
    if dataset == "CASME2":
        return f"sub{number:02d}"
    if dataset == "SAMM":
        return f"{number:03d}"
    raise ValueError(f"unknown dataset {dataset!r}; choose one of {SOURCE_DATASETS}")


LOSO_SUBJECTS: dict[str, tuple[str, ...]] = {
    name: tuple(subject_id(name, n) for n in numbers) for name, numbers in LOSO_SUBJECT_NUMBERS.items()
}
LOSO_SUBJECTS["CDE"] = tuple(f"{name}/{s}" for name in SOURCE_DATASETS for s in LOSO_SUBJECTS[name])

# Layouts relative to DATA_PATH (which excludes the dataset name).
SMIC_FRAMES_DIR = ("SMIC_CROP", "HS")          # DATA/SMIC_CROP/HS/**/micro/**/<sample>/*.bmp
SMIC_EXT = "bmp"
CASME2_DIR = ("CASME2",)
CASME2_FRAMES_DIR = ("CASME2", "Cropped")      # DATA/CASME2/Cropped/sub{NN}/{Filename}/*.jpg
CASME2_SHEET = ("CASME2", "CASME2-coding-20190701.xlsx")
# The coding sheets CASME II has shipped, each read under its own name (same columns), in the order preferred
# when several are present: the 2019 one (the original code's) relabels sub24 EP07_01, EP07_04f and EP10_03
# from sadness to surprise.
CASME2_SHEETS = {"CASME2-coding-20190701.xlsx": "coding sheet of 2019-07-01",
                 "CASME2-coding-20140508.xlsx": "coding sheet of 2014-05-08"}
CASME2_EXT = "jpg"
CASME2_COLUMNS = {"subject": "Subject", "filename": "Filename", "emotion": "Estimated Emotion",
                  "onset": "OnsetFrame", "apex": "ApexFrame", "offset": "OffsetFrame"}
SAMM_FRAMES_DIR = ("SAMM", "SAMM_CROP")        # DATA/SAMM/SAMM_CROP/{NNN}/{Filename}/*.jpg
SAMM_SHEET = ("SAMM", "SAMM_CROP", "SAMM_Micro_FACS_Codes_v2.xlsx")
SAMM_SHEET_PREAMBLE_ROWS = 13                  # rows above the header row
SAMM_EXT = "jpg"
SAMM_COLUMNS = {"subject": "Subject", "filename": "Filename", "emotion": "Estimated Emotion",
                "onset": "Onset Frame", "apex": "Apex Frame", "offset": "Offset Frame"}

# Raw (uncropped) layouts for mer-prepare: `mer-prepare --dir DATA/<raw>` writes `DATA/<raw>_CROP`, which
# is where the readers above look (SAMM's sheet is copied along). CASME II ships its own cropped frames.
RAW_DIRS = {"SMIC": ("SMIC",), "SAMM": ("SAMM", "SAMM")}
# The fix the readers name when a *_CROP tree is missing or empty.
PREPARE_HINT = "run `mer-prepare --dir <raw dataset folder> --ext <ext>` to make the *_CROP tree"
