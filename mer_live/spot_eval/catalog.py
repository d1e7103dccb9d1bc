"""Facts of the long-video spotting datasets in ONE place: names, frame rates, layouts and sheet names.

DATA_PATH excludes the dataset's folder, as for the recognition datasets: `mer-spot /data CASME_SQ` reads
`/data/CASME_SQ/...`. The layouts are those the datasets ship (the project's REFERENCE.md); where a
detail is not documented the assumption is written beside it.
"""
from __future__ import annotations

# The names `mer-spot DATASET` takes, in the order help texts list them.
SPOT_DATASETS = ("CASME_SQ", "SAMM_LV", "CASME3_A")

TITLES = {
    "CASME_SQ": "CAS(ME)^2 (long videos)",
    "SAMM_LV": "SAMM Long Videos",
    "CASME3_A": "CAS(ME)^3 part A",
}

FPS = {"CASME_SQ": 30.0, "SAMM_LV": 200.0, "CASME3_A": 30.0}

# The smallest frame number of a video: CAS(ME)^2 and SAMM count from 1 (so an onset of 0 means "not
# annotated"), CAS(ME)^3 from 0 (so 0 is a real frame).
FIRST_FRAME = {"CASME_SQ": 1, "SAMM_LV": 1, "CASME3_A": 0}

# ---------------------------------------------------------------------------------------- CAS(ME)^2
# DATA/CASME_SQ/rawpic/s15/15_0101disgustingteeth/img001.jpg (img001..img099, then img100, ...)
CASME_SQ_FRAMES_DIR = ("CASME_SQ", "rawpic")
CASME_SQ_SHEET = ("CASME_SQ", "CAS(ME)^2code_final.xlsx")
CASME_SQ_CODES_SHEET = "CASFEcode_final"     # no header row
CASME_SQ_SUBJECTS_SHEET = "naming rule1"     # (folder number, folder name sNN, subject index), no header
CASME_SQ_VIDEOS_SHEET = "naming rule2"       # (video code 0101 as text, name prefix disgust1), no header
# CASFEcode_final columns (0-based): subject index, name (anger1_1), onset, apex, offset, AUs, emotion,
# type ("macro-expression" / "micro-expression"), self-report.
CASME_SQ_COLUMNS = {"subject": 0, "name": 1, "onset": 2, "apex": 3, "offset": 4, "type": 7}
CASME_SQ_EXT = "jpg"

# ---------------------------------------------------------------------------------------- SAMM Long Videos
# DATA/SAMM_LV/SAMM_longvideos/006_1/006_1_0001.jpg; sheet DATA/SAMM_LV/SAMM_LongVideos_V2_Release.xlsx
SAMM_LV_FRAMES_DIR = ("SAMM_LV", "SAMM_longvideos")
SAMM_LV_DIR = ("SAMM_LV",)
SAMM_LV_SHEET_GLOB = "SAMM_LongVideos_V*_Release.xlsx"   # V1, V2, V3: the highest version is read
SAMM_LV_SHEET_NAME = "FACS_Movement_Only"
SAMM_LV_NOTE_ROWS = 9                                     # rows above the header row (as shipped; the
                                                          # header is found by its columns)
SAMM_LV_COLUMNS = {"subject": "Subject", "filename": "Filename", "onset": "Onset", "apex": "Apex",
                   "offset": "Offset", "type": "Type"}
SAMM_LV_EXT = "jpg"

# ---------------------------------------------------------------------------------------- CAS(ME)^3 part A
# DATA/CASME3_A/part_A/spNO.1/a/color/0.jpg (0-based, numbers may have gaps). The annotation workbook is
# the one .xlsx in DATA/CASME3_A (or DATA/CASME3_A/annotation) with a sheet whose header holds the
# CASME3_A_REQUIRED columns: the published cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx (micro rows only, no
# type column) or a sheet "AU+Emotion" with an "Expression type" column; it is found by those columns.
CASME3_A_DIR = ("CASME3_A",)
CASME3_A_FRAMES_DIR = ("CASME3_A", "part_A")
CASME3_A_SHEET_DIRS = ((), ("annotation",))               # under DATA/CASME3_A
CASME3_A_PUBLISHED_SHEET = "cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx"
CASME3_A_LABEL_SHEET = "AU+Emotion"
CASME3_A_BLINK_SHEET = "eye blink"
CASME3_A_COLUMNS = {"subject": "Subject", "filename": "Filename", "onset": "Onset", "apex": "Apex",
                    "offset": "Offset", "type": "Expression type"}
CASME3_A_REQUIRED = ("subject", "filename", "onset", "apex", "offset")    # "type" is optional
# Assumed: the blink sheet has the same Subject / Filename / Onset / Offset header (its layout is not
# documented publicly).
CASME3_A_BLINK_COLUMNS = {"subject": "Subject", "filename": "Filename", "onset": "Onset", "offset": "Offset"}
CASME3_A_COLOR_DIR = "color"
CASME3_A_EXT = "jpg"

# Every spelling of an interval's type in the three sheets (lower case, spaces collapsed) -> "micro"/"macro".
TYPE_SPELLINGS = {
    "micro-expression": "micro", "micro expression": "micro", "micro": "micro", "micro - 1/2": "micro",
    "me": "micro",
    "macro-expression": "macro", "macro expression": "macro", "macro": "macro", "mae": "macro",
}
KINDS = ("micro", "macro")
