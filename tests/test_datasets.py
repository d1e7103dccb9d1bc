"""Readers return the sheets' and folders' clips, labels and temporal frame order; bad layouts fail clearly."""
import csv
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

from mer_live.datasets import DatasetError, load_dataset
from mer_live.datasets import catalog
from mer_live.datasets.cde import COMPOSITE_LIST, SCANNERS
from mer_live.frames import FrameReadError, frame_number, read_frames
from mer_live.synthetic.layouts import save_workbook

CANON = {"Other": "Others"}  # SAMM's sheet spelling -> class name


def kept(manifest, name):
    return [c for c in manifest[name].clips if CANON.get(c.label_name, c.label_name) in catalog.CLASS_NAMES[name]]


@pytest.mark.parametrize("name", ["SMIC", "CASME2", "SAMM"])
def test_reader_returns_every_clip_with_its_label_and_frames(synth_root, synth_manifest, name):
    index = load_dataset(synth_root, name)
    expected = {(c.subject, c.clip_id): c for c in kept(synth_manifest, name)}
    assert {(c.subject, c.clip_id) for c in index.clips} == set(expected)
    assert index.class_names == catalog.CLASS_NAMES[name]
    assert index.subjects == tuple(sorted({s for s, _ in expected}))
    for clip in index.clips:
        truth = expected[(clip.subject, clip.clip_id)]
        assert clip.dataset == name and clip.fps == catalog.FPS[name]
        assert clip.label_name == CANON.get(truth.label_name, truth.label_name)
        assert index.class_names[clip.label] == clip.label_name
        assert clip.frames == truth.frames  # all frames, in temporal order
        numbers = [frame_number(p) for p in clip.frames]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
        if name != "SMIC":
            assert (clip.onset, clip.apex, clip.offset) == (truth.onset, truth.apex, truth.offset)
    # The numeric sort matters: some clip's string order differs from its temporal order.
    assert any([p.name for p in c.frames] != sorted(p.name for p in c.frames) for c in index.clips) or name == "SAMM"


@pytest.mark.parametrize("name, dropped", [("SMIC", {}), ("CASME2", {"fear": 2, "sadness": 1}),
                                           ("SAMM", {"Disgust": 1, "Fear": 1, "Sadness": 1})])
def test_emotions_outside_the_class_map_are_counted_not_silently_lost(synth_root, name, dropped):
    index = load_dataset(synth_root, name)
    assert index.dropped == dropped
    if dropped:
        assert f"dropped {sum(dropped.values())} clips" in index.summary()
    assert index.class_counts() == {c: 3 for c in catalog.CLASS_NAMES[name]}  # 3 subjects x 1 clip per class


def test_smic_subject_ids_and_labels_come_from_the_folder_name(synth_root):
    index = load_dataset(synth_root, "SMIC")
    assert index.subjects == ("s01", "s02", "s03")
    clip = next(c for c in index.clips if c.clip_id.startswith("s2_po_"))
    assert (clip.subject, clip.label_name, clip.label, clip.onset) == ("s02", "po", 1, None)


def test_cde_on_data_without_the_listed_clips_is_refused_in_one_line(synth_root):
    # the synthetic trees hold 9 subjects, not the published list's 442 clips
    with pytest.raises(DatasetError) as err:
        load_dataset(synth_root, "CDE")
    message = str(err.value)
    assert "of the list's 442 clips are not under" in message and "--cde-partial" in message
    assert "(no sample folder or sheet row): CASME2 sub01/EP19_05f, " in message   # named in the list's order
    missing = int(message.split(": ")[1].split()[0])
    assert message.count("CASME2 sub") + message.count("SAMM ") + message.count("SMIC s") == 8
    assert f" and {missing - 8} more. Restore them" in message
    assert "\n" not in message


def test_catalog_matches_the_reference():
    assert len(catalog.LOSO_SUBJECTS["SMIC"]) == 16 and "s07" not in catalog.LOSO_SUBJECTS["SMIC"]
    assert len(catalog.LOSO_SUBJECTS["CASME2"]) == 26
    assert catalog.LOSO_SUBJECTS["SAMM"][0] == "006" and "027" not in catalog.LOSO_SUBJECTS["SAMM"]
    assert "Others" not in catalog.CDE_MAP["SAMM"] and "others" not in catalog.CDE_MAP["CASME2"]
    assert catalog.CDE_MAP["SAMM"]["Contempt"] == "negative"


# ------------------------------------------------------------------------------------------ bad input

@pytest.fixture
def data_copy(synth_root, tmp_path):
    for part in ("SMIC_CROP", "CASME2", "SAMM"):
        shutil.copytree(synth_root / part, tmp_path / part)
    return tmp_path


@pytest.mark.parametrize("name, hint", [("SMIC", "SMIC_CROP"), ("CASME2", "CASME2"), ("SAMM", "SAMM_CROP")])
def test_missing_folder_names_the_path_and_mer_prepare(tmp_path, name, hint):
    with pytest.raises(DatasetError, match=hint) as err:
        load_dataset(tmp_path, name)
    assert str(tmp_path) in str(err.value)
    if name != "CASME2":
        assert "mer-prepare" in str(err.value)


def test_data_path_must_exclude_the_dataset_name(synth_root):
    with pytest.raises(DatasetError, match="SMIC_CROP"):
        load_dataset(synth_root / "SMIC_CROP", "SMIC")
    with pytest.raises(DatasetError, match="not a folder"):
        load_dataset(synth_root / "nowhere", "SMIC")
    with pytest.raises(DatasetError, match="CDE"):
        load_dataset(synth_root, "SMIC2")


@pytest.mark.parametrize("name, sheet", [("CASME2", catalog.CASME2_SHEET), ("SAMM", catalog.SAMM_SHEET)])
def test_missing_sheet_names_it(data_copy, name, sheet):
    path = data_copy.joinpath(*sheet)
    path.unlink()
    with pytest.raises(DatasetError, match="label sheet not found") as err:
        load_dataset(data_copy, name)
    assert str(path) in str(err.value)


def _rewrite_sheet(path, edit):
    workbook = openpyxl.load_workbook(path)
    edit(workbook.active)
    workbook.save(path)


def test_missing_column_names_it_and_the_columns_found(data_copy):
    path = data_copy.joinpath(*catalog.CASME2_SHEET)

    def rename(sheet):
        for cell in sheet[1]:
            if cell.value == "Estimated Emotion":
                cell.value = "Emotion"
    _rewrite_sheet(path, rename)
    with pytest.raises(DatasetError, match=r"Estimated Emotion.*columns found.*'Emotion'") as err:
        load_dataset(data_copy, "CASME2")
    assert str(path) in str(err.value)


def test_samm_header_is_read_below_13_preamble_rows(data_copy):
    path = data_copy.joinpath(*catalog.SAMM_SHEET)
    _rewrite_sheet(path, lambda sheet: sheet.delete_rows(1))  # only 12 rows above the header now
    with pytest.raises(DatasetError, match="after 13 preamble rows"):
        load_dataset(data_copy, "SAMM")


@pytest.mark.parametrize("name", ["CASME2", "SAMM"])
def test_clip_in_sheet_without_frames_is_an_error(data_copy, name):
    clip = load_dataset(data_copy, name).clips[1]
    folder = clip.frames[0].parent
    for frame in clip.frames:
        frame.unlink()
    with pytest.raises(DatasetError, match=f"clip {clip.clip_id} .*holds no .jpg frames") as err:
        load_dataset(data_copy, name)
    assert str(folder) in str(err.value)
    shutil.rmtree(folder)
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(data_copy, name)


@pytest.mark.parametrize("name, sheet, header_row", [("CASME2", catalog.CASME2_SHEET, 1),
                                                    ("SAMM", catalog.SAMM_SHEET, catalog.SAMM_SHEET_PREAMBLE_ROWS + 1)])
@pytest.mark.parametrize("how", ["relative", "absolute"])
def test_sheet_naming_a_clip_outside_the_dataset_is_refused_naming_the_row(data_copy, name, sheet, header_row, how):
    """A Filename such as ../../../outside/secret would have the reader take frames from anywhere on the disk:
    refused with its row, though the folder it names exists and holds frames."""
    clip = load_dataset(data_copy, name).clips[0]
    secret = data_copy / "outside" / "secret"                  # beside the dataset folder, not in it
    shutil.copytree(clip.frames[0].parent, secret)
    target = "../../../outside/secret" if how == "relative" else str(secret)
    path = data_copy.joinpath(*sheet)
    row_number = []

    def point_outside(ws):
        column = [c.value for c in ws[header_row]].index("Filename") + 1
        for row in ws.iter_rows(min_row=header_row + 1):
            if row[column - 1].value == clip.clip_id:
                row[column - 1].value = target
                row_number.append(row[column - 1].row)
    _rewrite_sheet(path, point_outside)
    assert len(row_number) == 1
    with pytest.raises(DatasetError) as err:
        load_dataset(data_copy, name)
    message = str(err.value)
    assert f"row {row_number[0]} {target!r}" in message and str(path) in message and "outside the" in message
    assert "\n" not in message
    with pytest.raises(DatasetError, match="outside the"):
        load_dataset(data_copy, "CDE")


def test_smic_sample_folder_without_frames_is_an_error(data_copy):
    clip = load_dataset(data_copy, "SMIC").clips[0]
    for frame in clip.frames:
        frame.unlink()
    with pytest.raises(DatasetError, match=clip.clip_id):
        load_dataset(data_copy, "SMIC")


def test_corrupt_frame_is_named_when_read(data_copy):
    clip = load_dataset(data_copy, "SAMM").clips[0]
    assert read_frames(clip.frames).shape[0] == len(clip.frames)
    clip.frames[2].write_bytes(b"\x00garbage")
    with pytest.raises(FrameReadError, match=clip.frames[2].name):
        read_frames(clip.frames)


# ------------------------------------------------------------------- real sheets: CASME II 2014 / 2019, CDE

CASME2_HEADER = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units",
                 "Estimated Emotion"]
# Clips the published MEGC 2019 list leaves out (REFERENCE.md), with the labels the two sheets give them.
LEFT_OUT_2014 = [("04", "EP12_01f", "disgust"), ("05", "EP09_05f", "repression"),
                 ("24", "EP07_01", "sadness"), ("24", "EP07_04f", "sadness"), ("24", "EP10_03", "sadness")]
RELABELLED_2019 = {"EP07_01": "surprise", "EP07_04f": "surprise", "EP10_03": "surprise"}


def _touch_clip(folder, name):
    folder.mkdir(parents=True, exist_ok=True)
    for n in (1, 2):
        (folder / f"{name}{n}.{'bmp' if name == 'image' else 'jpg'}").touch()


NEGATIVE = {"CASME2": ("disgust", "repression"), "SAMM": ("Anger", "Contempt", "Disgust", "Fear", "Sadness")}
SOURCE_WORD = {"CASME2": {"positive": "happiness", "surprise": "surprise"},
               "SAMM": {"positive": "Happiness", "surprise": "Surprise"}}


def shipped_list():
    """The shipped MEGC 2019 list, read as plain CSV (not through mer-live's reader): rows of dataset, subject,
    clip, emotion."""
    lines = [line for line in COMPOSITE_LIST.read_text().splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines))


def megc2019_tree(root, casme2_sheet, extra_samm=()):
    """A DATA_PATH in the three datasets' real layouts holding the published list's 442 clips, each labelled in
    its sheet (SMIC: its folder name) as the list labels it, plus clips outside the list as REFERENCE.md says
    the real sheets have them: CASME II others / fear (sub08 ... ), the five the list leaves out (by the 2014
    sheet two of them map into the composite, by the 2019 sheet all five), SAMM Other (037). Mapping the sheets
    alone gives 444 clips (2014 sheet) or 447 (2019). Frames are empty files (never decoded)."""
    casme2_rows = [("08", "EP40_01", "others"), ("21", "EP41_01", "fear"), ("10", "EP42_01", "others")]
    samm_rows = [("037", "037_9_1", "Other"), ("025", "025_9_1", "Other"), *extra_samm]
    for k, row in enumerate(shipped_list()):
        dataset, subject, clip, emotion = row["dataset"], row["subject"], row["clip"], row["emotion"]
        if dataset == "SMIC":
            code = clip.split("_")[1]
            folder = root / "SMIC_CROP" / "HS" / f"s{int(subject[1:])}" / "micro" / catalog.SMIC_CLASS_FOLDERS[code]
            _touch_clip(folder / clip, "image")
            continue
        word = NEGATIVE[dataset][k % len(NEGATIVE[dataset])] if emotion == "negative" else \
            SOURCE_WORD[dataset][emotion]
        (casme2_rows if dataset == "CASME2" else samm_rows).append(
            (subject[3:] if dataset == "CASME2" else subject, clip, word))
    casme2_rows += LEFT_OUT_2014
    sheet_rows = [CASME2_HEADER]
    for number, (subject, clip, emotion) in enumerate(casme2_rows):
        if casme2_sheet == "2019":
            emotion = RELABELLED_2019.get(clip, emotion) if subject == "24" else emotion
        apex = "/" if number == 5 else 20                                      # the sheets' "unknown" apex
        sheet_rows.append([subject if number % 2 else int(subject), clip, 10, apex, 30, "4+7", emotion])
        _touch_clip(root / "CASME2" / "Cropped" / f"sub{subject}" / clip, "img")
    name = {"2014": "CASME2-coding-20140508.xlsx", "2019": "CASME2-coding-20190701.xlsx"}[casme2_sheet]
    save_workbook(root / "CASME2" / name, {"Sheet1": sheet_rows})
    rows = [[subject, clip, 1, 5, 8, 12, 8, "Micro - 1/2", "", "", emotion] for subject, clip, emotion in samm_rows]
    for row in rows:
        _touch_clip(root / "SAMM" / "SAMM_CROP" / row[0] / row[1], "img")
    header = ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame", "Duration",
              "Type", "Action Units", "Notes", "Estimated Emotion"]
    save_workbook(root.joinpath(*catalog.SAMM_SHEET), {"Sheet1": [["SAMM"]] + [[]] * 12 + [header] + rows})
    return root


def test_the_shipped_list_is_the_published_composite():
    rows = shipped_list()
    assert len(rows) == len({(r["dataset"], r["subject"], r["clip"]) for r in rows}) == 442
    assert Counter(r["dataset"] for r in rows) == {"SMIC": 164, "CASME2": 145, "SAMM": 133}
    assert Counter(r["emotion"] for r in rows) == {"negative": 250, "positive": 109, "surprise": 83}
    subjects = {(r["dataset"], r["subject"]) for r in rows}
    assert len(subjects) == 68 and Counter(d for d, _ in subjects) == {"SMIC": 16, "CASME2": 24, "SAMM": 28}
    assert not {(f"sub{s}", c) for s, c, _ in LEFT_OUT_2014} & {(r["subject"], r["clip"]) for r in rows}
    # the identifiers are mer-live's own: the subjects LOSO knows, SMIC clips as the sample folders name them
    assert all(r["subject"] in catalog.LOSO_SUBJECTS[r["dataset"]] for r in rows)
    assert {"s1_ne_01", "s20_sur_01"} <= {r["clip"] for r in rows if r["dataset"] == "SMIC"}
    assert COMPOSITE_LIST.read_text().startswith("# The MEGC 2019 composite")
    assert "assets/*" in Path(__file__).resolve().parent.parent.joinpath("pyproject.toml").read_text()


def test_the_conversion_script_writes_the_shipped_list_from_the_published_one(tmp_path):
    # the published file's shape (combined_3class_gt.csv), rebuilt from the shipped list; converting it back
    # gives the shipped file byte for byte
    code = {"negative": "0", "positive": "1", "surprise": "2"}
    lines = ["dataset,sub,filename_o,label,apex,imagename,sub_filename"]
    for r in shipped_list():
        clip = r["clip"]
        if r["dataset"] == "SMIC":
            number, kind, k = clip.split("_")
            clip = f"s{int(number[1:]):02d}_{kind}_{k}"
        lines.append(f"{r['dataset'].lower()},{r['subject']},{clip},{code[r['emotion']]},,x.jpg,")
    source = tmp_path / "combined_3class_gt.csv"
    source.write_text("\n".join(lines) + "\n")
    script = Path(__file__).resolve().parent.parent / "scripts" / "make_megc2019_list.py"
    run = subprocess.run([sys.executable, str(script), str(source), str(tmp_path / "out.csv")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "out.csv").read_bytes() == COMPOSITE_LIST.read_bytes()
    source.write_text("\n".join(lines[:-1]) + "\n")                    # one clip short: refused
    run = subprocess.run([sys.executable, str(script), str(source), str(tmp_path / "short.csv")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "not the MEGC 2019 list's" in run.stderr and not (tmp_path / "short.csv").exists()


@pytest.mark.parametrize("sheet, left_out", [("2014", ["sub04/EP12_01f", "sub05/EP09_05f"]),
                                             ("2019", ["sub04/EP12_01f", "sub05/EP09_05f", "sub24/EP07_01",
                                                       "sub24/EP07_04f", "sub24/EP10_03"])])
def test_cde_is_the_published_442_from_either_casme2_sheet(tmp_path, sheet, left_out):
    index = load_dataset(megc2019_tree(tmp_path, sheet), "CDE")
    assert len(index) == 442
    assert index.class_counts() == {"negative": 250, "positive": 109, "surprise": 83}
    assert {d: sum(c.dataset == d for c in index.clips) for d in ("SMIC", "CASME2", "SAMM")} == \
        {"SMIC": 164, "CASME2": 145, "SAMM": 133}
    assert len(index.subjects) == 68 and "SMIC/s01" in index.subjects and "SAMM/006" in index.subjects
    assert {(c.dataset, c.subject.split("/")[1], c.clip_id, c.label_name) for c in index.clips} == \
        {(r["dataset"], r["subject"], r["clip"], r["emotion"]) for r in shipped_list()}
    assert {c.fps for c in index.clips if c.dataset == "SMIC"} == {100.0}
    assert {c.fps for c in index.clips if c.dataset != "SMIC"} == {200.0}
    named = [note for note in index.notes if "not in the MEGC 2019 list" in note]
    assert [n.split()[2] for n in named] == left_out                   # each clip named, in the sheet's order
    assert all(f"CASME2-coding-{'20140508' if sheet == '2014' else '20190701'}.xlsx" in n for n in named)
    assert index.notes[-1].endswith(f"disagree with it on {len(left_out)} clip(s), named above")
    summary = index.summary()
    assert f"coding sheet of {'2014-05-08' if sheet == '2014' else '2019-07-01'}" in summary
    assert summary.count("\nnote: ") == len(left_out) + 1
    # what lies outside the composite by the sheet's label is counted as dropped, as before
    assert index.dropped["SAMM:Others"] == 2 and index.dropped["CASME2:others"] == 2
    assert index.dropped.get("CASME2:sadness", 0) == (3 if sheet == "2014" else 0)


def test_mapping_the_sheets_alone_would_give_444_or_447(tmp_path):
    # what mapping the sheets alone gives (REFERENCE.md); the list is what makes it 442
    mapping = {(d, src): dst for d, table in catalog.CDE_MAP.items() for src, dst in table.items()}
    for sheet, total, surprise in (("2014", 444, 83), ("2019", 447, 86)):
        root = megc2019_tree(tmp_path / sheet, sheet)
        found = [c for name, scan in SCANNERS.items() for c in scan(root, [])]
        mapped = [mapping[(c.dataset, c.emotion)] for c in found if (c.dataset, c.emotion) in mapping]
        assert len(mapped) == total and Counter(mapped)["surprise"] == surprise


def test_a_sheet_that_relabels_a_listed_clip_is_named_and_the_list_label_is_used(tmp_path):
    root = megc2019_tree(tmp_path, "2014")
    sheet = root / "CASME2" / "CASME2-coding-20140508.xlsx"
    workbook = openpyxl.load_workbook(sheet)
    ws = workbook.active
    changed = {}
    for row in ws.iter_rows(min_row=2):
        clip = row[1].value
        if clip == "EP02_01f" and row[0].value in (1, "01"):                 # listed positive -> disgust
            row[6].value, changed["sub01/EP02_01f"] = "disgust", "positive"
        if clip == "EP19_05f" and row[0].value in (1, "01"):                 # listed negative -> others
            row[6].value, changed["sub01/EP19_05f"] = "others", "negative"
    workbook.save(sheet)
    assert len(changed) == 2
    index = load_dataset(root, "CDE")
    assert len(index) == 442 and index.class_counts() == {"negative": 250, "positive": 109, "surprise": 83}
    labels = {c.clip_id: c.label_name for c in index.clips if c.subject == "CASME2/sub01"}
    assert labels["EP02_01f"] == "positive" and labels["EP19_05f"] == "negative"
    relabelled = [n for n in index.notes if "the list's label is used" in n]
    assert [n.split()[2] for n in relabelled] == list(changed)
    assert "is disgust (negative) in CASME2-coding-20140508.xlsx, but the MEGC 2019 list labels it positive" \
        in relabelled[0]
    assert "is others (outside the composite)" in relabelled[1]
    assert index.notes[-1].endswith("disagree with it on 4 clip(s), named above")   # + the two left out


def test_a_sheet_clip_outside_the_list_is_left_out_and_named(tmp_path):
    index = load_dataset(megc2019_tree(tmp_path, "2014", extra_samm=[("006", "006_9_9", "Anger"),
                                                                     ("007", "007_9_9", "Other")]), "CDE")
    assert len(index) == 442 and not any(c.clip_id in ("006_9_9", "007_9_9") for c in index.clips)
    (note,) = [n for n in index.notes if "SAMM" in n and "not in the MEGC 2019 list" in n]
    assert note == ("CDE: SAMM 006/006_9_9 is Anger (negative) in SAMM_Micro_FACS_Codes_v2.xlsx, but it is not "
                    "in the MEGC 2019 list: left out")
    assert index.dropped["SAMM:Others"] == 3                            # outside the composite anyway: counted


def test_a_missing_listed_clip_refuses_cde_unless_partial(tmp_path):
    root = megc2019_tree(tmp_path, "2019")
    shutil.rmtree(next(root.joinpath("SMIC_CROP").rglob("s3_po_02")))
    with pytest.raises(DatasetError) as err:
        load_dataset(root, "CDE")
    message = str(err.value)
    assert message.startswith(f"CDE (MEGC 2019 composite): 1 of the list's 442 clips are not under {root} "
                              f"(no sample folder or sheet row): SMIC s03/s3_po_02. Restore them")
    assert "--cde-partial" in message and "not comparable" in message and "\n" not in message
    index = load_dataset(root, "CDE", partial_cde=True)
    assert len(index) == 441 and index.class_counts()["positive"] == 108
    assert f"CDE: SMIC s03/s3_po_02 is in the MEGC 2019 list but not under {root}: left out" in index.notes
    assert "not comparable with published MEGC 2019 results" in index.notes[-1]


def test_casme2_reads_either_sheet_under_its_own_name_and_says_which(tmp_path):
    megc2019_tree(tmp_path, "2014")
    index = load_dataset(tmp_path, "CASME2")
    assert index.sheets["CASME2"].name == "CASME2-coding-20140508.xlsx"
    assert "labels from CASME2-coding-20140508.xlsx (coding sheet of 2014-05-08)" in index.summary()
    assert index.dropped["sadness"] == 3                                # sub24's three, by the 2014 labels
    assert sum(c.clip_id == "EP10_03" for c in index.clips) == 0
    # both sheets present: the 2019 one is read, and the note says the 2014 one was not
    megc2019_tree(tmp_path, "2019")
    index = load_dataset(tmp_path, "CASME2")
    assert index.sheets["CASME2"].name == "CASME2-coding-20190701.xlsx"
    assert next(c for c in index.clips if c.clip_id == "EP10_03").label_name == "surprise"
    assert any("CASME2-coding-20140508.xlsx also present, not read" in note for note in index.notes)
    assert "sadness" not in index.dropped                               # the 2019 sheet relabelled all three


def test_casme2_without_either_sheet_names_both(data_copy):
    data_copy.joinpath(*catalog.CASME2_SHEET).unlink()
    with pytest.raises(DatasetError, match="label sheet not found") as err:
        load_dataset(data_copy, "CASME2")
    assert "CASME2-coding-20190701.xlsx" in str(err.value) and "CASME2-coding-20140508.xlsx" in str(err.value)
