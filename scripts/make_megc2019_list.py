"""Write mer_live/assets/megc2019_composite.csv, the definition of CDE, from the MEGC 2019 organisers' list.

    python scripts/make_megc2019_list.py SOURCE.csv [OUT.csv]

SOURCE is the composite list as published MEGC 2019 code distributes it (`combined_3class_gt.csv`; e.g.
`combined_3_class2_for_optical_flow.csv` of github.com/wangzhifengharrison/HTNet, commit 1ea5293f): columns
dataset (casme2 / samm / smic), sub, filename_o, label (0 negative, 1 positive, 2 surprise). The output holds
the same 442 clips in mer-live's own naming (dataset SMIC / CASME2 / SAMM, subject and clip as the readers
name them: SMIC `s01` / `s1_ne_01`, CASME II `sub01` / `EP02_01f`, SAMM `006` / `006_1_2`) and the label as
a word. Identifiers and labels only: no frames, no other columns. Checks what it can and refuses the rest.
"""
from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mer_live.atomic import write_text_atomic  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "mer_live" / "assets" / "megc2019_composite.csv"
DATASETS = {"smic": "SMIC", "casme2": "CASME2", "samm": "SAMM"}
LABELS = {"0": "negative", "1": "positive", "2": "surprise"}
SMIC_CODES = {"ne": "negative", "po": "positive", "sur": "surprise"}
SUBJECT = {"SMIC": re.compile(r"^s\d{2}$"), "CASME2": re.compile(r"^sub\d{2}$"), "SAMM": re.compile(r"^\d{3}$")}
EXPECTED = (442, {"SMIC": 164, "CASME2": 145, "SAMM": 133}, {"negative": 250, "positive": 109, "surprise": 83}, 68)
HEADER = """\
# The MEGC 2019 composite (CDE): the fixed list of clips of the composite database evaluation of MEGC 2019,
# the second Facial Micro-Expression Grand Challenge (at FG 2019): SMIC-HS, CASME II and SAMM in three classes.
# 442 clips from 68 subjects: SMIC 164, CASME II 145, SAMM 133; negative 250, positive 109, surprise 83.
# Source: the organisers' list as distributed with published MEGC 2019 code (combined_3class_gt.csv), here
# from combined_3_class2_for_optical_flow.csv of github.com/wangzhifengharrison/HTNet, commit
# 1ea5293f3008f2ef63aacc4153668a1abd5921f3. Identifiers and labels only; written by
# scripts/make_megc2019_list.py in mer-live's naming (SMIC clips are the sample folders' names, s1_ne_01).
"""


def convert(rows: list[dict]) -> list[tuple[str, str, str, str]]:
    """(dataset, subject, clip, emotion) per source row, in the source's order; ValueError names a bad row."""
    out = []
    for number, row in enumerate(rows, start=2):
        dataset = DATASETS.get(row["dataset"].strip().lower())
        label = LABELS.get(row["label"].strip())
        subject, clip = row["sub"].strip(), row["filename_o"].strip()
        if dataset is None or label is None or not SUBJECT[dataset].match(subject) or not clip:
            raise ValueError(f"row {number}: {row}")
        if dataset == "SMIC":                  # the list writes s01_ne_01; the sample folder is s1_ne_01
            match = re.match(r"^s(\d+)_(ne|po|sur)_(\d+)$", clip)
            if not match or f"s{int(match.group(1)):02d}" != subject or SMIC_CODES[match.group(2)] != label:
                raise ValueError(f"row {number}: SMIC clip {clip!r} does not agree with subject {subject} / {label}")
            clip = f"s{int(match.group(1))}_{match.group(2)}_{match.group(3)}"
        elif dataset == "SAMM" and not clip.startswith(f"{subject}_"):
            raise ValueError(f"row {number}: SAMM clip {clip!r} is not of subject {subject}")
        out.append((dataset, subject, clip, label))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path, nargs="?", default=OUT)
    args = parser.parse_args(argv)
    with args.source.open(newline="") as f:
        rows = list(csv.DictReader(f))
    try:
        listed = convert(rows)
    except (KeyError, ValueError) as exc:
        parser.error(f"{args.source}: not the MEGC 2019 composite list as expected: {exc}")
    totals = (len(listed), dict(Counter(d for d, *_ in listed)), dict(Counter(e for *_, e in listed)),
              len({(d, s) for d, s, *_ in listed}))
    if len(set(r[:3] for r in listed)) != len(listed) or totals != EXPECTED:
        parser.error(f"{args.source}: totals {totals} (or repeated clips), not the MEGC 2019 list's {EXPECTED}")
    lines = ["dataset,subject,clip,emotion"] + [",".join(r) for r in listed]
    write_text_atomic(args.out, HEADER + "\n".join(lines) + "\n")
    print(f"{args.out}: {len(listed)} clips")
    return 0


if __name__ == "__main__":
    sys.exit(main())
