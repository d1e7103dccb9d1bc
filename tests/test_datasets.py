"""Readers return the sheets' and folders' clips, labels and temporal frame order; bad layouts fail clearly."""
import shutil

import openpyxl
import pytest

from mer_live.datasets import DatasetError, load_dataset
from mer_live.datasets import catalog
from mer_live.frames import FrameReadError, frame_number, read_frames

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
