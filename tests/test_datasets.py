"""Readers return the sheets' and folders' clips, labels and temporal frame order; bad layouts fail clearly."""
import shutil

import openpyxl
import pytest

from mer_live.datasets import DatasetError, load_dataset
from mer_live.datasets import catalog
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


def test_cde_merges_the_three_with_the_megc2019_mapping(synth_root, synth_manifest):
    index = load_dataset(synth_root, "CDE")
    assert index.class_names == ("negative", "positive", "surprise")
    expected = {}
    dropped = {}
    for name in ("SMIC", "CASME2", "SAMM"):
        for c in synth_manifest[name].clips:
            emotion = CANON.get(c.label_name, c.label_name)
            target = catalog.CDE_MAP[name].get(emotion)
            if target is None:
                dropped[f"{name}:{emotion}"] = dropped.get(f"{name}:{emotion}", 0) + 1
            else:
                expected[(f"{name}/{c.subject}", c.clip_id)] = target
    assert {(c.subject, c.clip_id): c.label_name for c in index.clips} == expected
    assert index.dropped == dropped
    assert dropped["SAMM:Others"] == 3 and dropped["CASME2:others"] == 3  # Others dropped, as MEGC 2019 does
    assert index.class_counts() == {"negative": 3 + 6 + 9, "positive": 9, "surprise": 9}
    assert len(index.subjects) == 9 and "SMIC/s01" in index.subjects and "SAMM/006" in index.subjects
    assert {c.fps for c in index.clips if c.dataset == "SMIC"} == {100.0}
    assert {c.fps for c in index.clips if c.dataset != "SMIC"} == {200.0}


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


def _spread(plan, subjects):
    """(subject, emotion) per clip: the emotions in order, dealt round the subjects."""
    emotions = [e for e, n in plan for _ in range(n)]
    return [(subjects[i % len(subjects)], e) for i, e in enumerate(emotions)]


def megc2019_tree(root, casme2_sheet):
    """A DATA_PATH in the three datasets' real layouts whose sheets give what REFERENCE.md says the real ones
    give: the composite's members are 164 SMIC / 147 CASME II / 133 SAMM clips by the 2014 CASME II sheet
    (444: negative 252, positive 109, surprise 83) and 150 CASME II clips by the 2019 sheet (447: 252 / 109 /
    86). The split of each dataset into classes is a plausible one; frames are empty files (never decoded)."""
    smic_subjects = catalog.LOSO_SUBJECT_NUMBERS["SMIC"]                       # 16
    counters = {}
    for subject, code in _spread([("ne", 70), ("po", 51), ("sur", 43)], smic_subjects):
        counters[(subject, code)] = counters.get((subject, code), 0) + 1
        sample = f"s{subject}_{code}_{counters[(subject, code)]:02d}"
        _touch_clip(root / "SMIC_CROP" / "HS" / f"s{subject:02d}" / "micro" / catalog.SMIC_CLASS_FOLDERS[code] / sample,
                    "image")
    # CASME II: 24 subjects in the composite; sub08 and sub21 hold only clips outside it
    composite = [n for n in range(1, 27) if n not in (8, 21)]
    rows = [("08", "EP40_01", "others"), ("21", "EP41_01", "fear"), ("21", "EP42_01", "others")]
    plan = [("disgust", 60), ("repression", 28), ("happiness", 32), ("surprise", 25), ("others", 20)]
    for k, (subject, emotion) in enumerate(_spread(plan, composite)):
        rows.append((f"{subject:02d}", f"EP{k + 100}_{k % 7}", emotion))
    rows += LEFT_OUT_2014
    sheet_rows = [CASME2_HEADER]
    for number, (subject, clip, emotion) in enumerate(rows):
        if casme2_sheet == "2019":
            emotion = RELABELLED_2019.get(clip, emotion) if subject == "24" else emotion
        apex = "/" if number == 5 else 20                                      # the sheets' "unknown" apex
        sheet_rows.append([subject if number % 2 else int(subject), clip, 10, apex, 30, "4+7", emotion])
        _touch_clip(root / "CASME2" / "Cropped" / f"sub{subject}" / clip, "img")
    name = {"2014": "CASME2-coding-20140508.xlsx", "2019": "CASME2-coding-20190701.xlsx"}[casme2_sheet]
    save_workbook(root / "CASME2" / name, {"Sheet1": sheet_rows})
    # SAMM: 28 of its 29 subjects in the composite; 037 has only Other clips
    samm_subjects = [n for n in catalog.LOSO_SUBJECT_NUMBERS["SAMM"] if n != 37]
    plan = [("Anger", 57), ("Contempt", 12), ("Disgust", 9), ("Fear", 8), ("Sadness", 6), ("Happiness", 26),
            ("Surprise", 15), ("Other", 26)]
    samm_rows = [[f"{37:03d}", "037_9_1", 1, 5, 8, 12, 8, "Micro - 1/2", "", "", "Other"]]
    for k, (subject, emotion) in enumerate(_spread(plan, samm_subjects)):
        samm_rows.append([f"{subject:03d}", f"{subject:03d}_{k}_1", 1, 5, 8, 12, 8, "Micro - 1/2", "", "", emotion])
    for row in samm_rows:
        _touch_clip(root / "SAMM" / "SAMM_CROP" / row[0] / row[1], "img")
    header = ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame", "Duration",
              "Type", "Action Units", "Notes", "Estimated Emotion"]
    save_workbook(root.joinpath(*catalog.SAMM_SHEET), {"Sheet1": [["SAMM"]] + [[]] * 12 + [header] + samm_rows})
    return root


def test_the_published_composite_totals_agree():
    assert sum(catalog.CDE_PUBLISHED_CLIPS.values()) == sum(catalog.CDE_PUBLISHED_CLASSES.values()) == 442
    assert catalog.CDE_PUBLISHED_CLIPS == {"SMIC": 164, "CASME2": 145, "SAMM": 133}
    assert catalog.CDE_PUBLISHED_CLASSES == {"negative": 250, "positive": 109, "surprise": 83}
    assert sum(catalog.CDE_PUBLISHED_SUBJECTS.values()) == 68
    assert {(s, c) for _, s, c in catalog.CDE_LEFT_OUT} == {(f"sub{s}", c) for s, c, _ in LEFT_OUT_2014}


@pytest.mark.parametrize("sheet, left_out", [("2014", ["sub04/EP12_01f", "sub05/EP09_05f"]),
                                             ("2019", ["sub04/EP12_01f", "sub05/EP09_05f", "sub24/EP07_01",
                                                       "sub24/EP07_04f", "sub24/EP10_03"])])
def test_cde_is_the_published_442_from_either_casme2_sheet(tmp_path, sheet, left_out):
    index = load_dataset(megc2019_tree(tmp_path, sheet), "CDE")
    assert len(index) == 442
    assert index.class_counts() == {"negative": 250, "positive": 109, "surprise": 83}
    assert {d: sum(c.dataset == d for c in index.clips) for d in ("SMIC", "CASME2", "SAMM")} == \
        {"SMIC": 164, "CASME2": 145, "SAMM": 133}
    assert len(index.subjects) == 68
    named = [note for note in index.notes if "MEGC 2019 list" in note]
    assert [n.split()[2] for n in named] == left_out                   # each clip named, in the sheet's order
    assert all(f"CASME2-coding-{'20140508' if sheet == '2014' else '20190701'}.xlsx" in n for n in named)
    assert not any("not the published" in note for note in index.notes)
    summary = index.summary()
    assert f"coding sheet of {'2014-05-08' if sheet == '2014' else '2019-07-01'}" in summary
    assert summary.count("\nnote: ") == len(left_out)


def test_cde_without_the_exclusions_would_be_444_or_447(tmp_path, monkeypatch):
    # what mapping the sheets alone gives (REFERENCE.md); the list's exclusions are what makes it 442
    monkeypatch.setattr(catalog, "CDE_LEFT_OUT", {})
    assert len(load_dataset(megc2019_tree(tmp_path / "a", "2014"), "CDE")) == 444
    index = load_dataset(megc2019_tree(tmp_path / "b", "2019"), "CDE")
    assert len(index) == 447 and index.class_counts() == {"negative": 252, "positive": 109, "surprise": 86}
    assert any("not the published MEGC 2019 list's 442" in note for note in index.notes)


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
