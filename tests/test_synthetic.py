"""Synthetic data: real layouts, deterministic, local class-specific motion that rises and falls."""
import numpy as np
import openpyxl
import pytest

from mer_live.datasets import catalog
from mer_live.flow import clip_flow
from mer_live.frames import read_frames
from mer_live.synthetic.cli import main
from mer_live.synthetic.layouts import make_dataset
from mer_live.synthetic.render import motion_for, synthetic_clip
from mer_live.synthetic.stream import make_stream


def test_layouts_match_the_readers(synth_root, synth_manifest):
    smic = synth_manifest["SMIC"].clips[0]
    assert smic.frames[0].relative_to(synth_root).parts[:6] == (
        "SMIC_CROP", "HS", "s1", "micro", "negative", "s1_ne_01")
    assert smic.frames[0].name.startswith("image") and smic.frames[0].suffix == ".bmp"
    casme = synth_manifest["CASME2"].clips[0]
    assert casme.frames[0].relative_to(synth_root).parts[:4] == ("CASME2", "Cropped", "sub01", casme.clip_id)
    assert casme.frames[0].name == f"img{casme.onset}.jpg"
    samm = synth_manifest["SAMM"].clips[0]
    assert samm.frames[0].relative_to(synth_root).parts[:4] == ("SAMM", "SAMM_CROP", "006", samm.clip_id)
    assert samm.frames[0].name == f"006_{samm.onset:05d}.jpg"
    assert read_frames(smic.frames).shape == (len(smic.frames), 32, 32, 3)
    assert all(6 <= len(c.frames) <= 12 for m in synth_manifest.values() for c in m.clips)


def test_sheets_have_the_real_format(synth_root):
    casme = openpyxl.load_workbook(synth_root.joinpath(*catalog.CASME2_SHEET)).active
    assert [c.value for c in casme[1]] == ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame",
                                           "Action Units", "Estimated Emotion"]
    emotions = {row[6] for row in casme.iter_rows(min_row=2, values_only=True)}
    assert {"fear", "sadness", "others", "happiness"} <= emotions
    samm = openpyxl.load_workbook(synth_root.joinpath(*catalog.SAMM_SHEET)).active
    header = [c.value for c in samm[catalog.SAMM_SHEET_PREAMBLE_ROWS + 1]]
    assert header[:2] == ["Subject", "Filename"] and "Estimated Emotion" in header and "Onset Frame" in header


def test_some_frame_names_sort_wrongly_as_strings(synth_manifest):
    clips = synth_manifest["SMIC"].clips + synth_manifest["CASME2"].clips
    assert any([p.name for p in c.frames] != sorted(p.name for p in c.frames) for c in clips)


def test_same_seed_same_data_other_seed_other_data(tmp_path):
    kw = dict(subjects=1, clips_per_class=1, image_size=24, frames_range=(4, 6))
    a = make_dataset(tmp_path / "a", "SMIC", seed=3, **kw)
    b = make_dataset(tmp_path / "b", "SMIC", seed=3, **kw)
    c = make_dataset(tmp_path / "c", "SMIC", seed=4, **kw)
    assert [p.read_bytes() for clip in a.clips for p in clip.frames] == \
           [p.read_bytes() for clip in b.clips for p in clip.frames]
    assert [p.read_bytes() for clip in a.clips for p in clip.frames] != \
           [p.read_bytes() for clip in c.clips for p in clip.frames]


def _apex_displacement(frames):
    """Summed flow from the first frame to the apex (the frame most unlike the first)."""
    flow = clip_flow(frames)[..., 1:]
    cumulative = np.cumsum(flow, axis=0)
    return cumulative[np.argmax(np.abs(cumulative).sum(axis=(1, 2, 3)))]


@pytest.mark.parametrize("label, region", [("po", "lower"), ("sur", "upper"), ("ne", "upper")])
def test_motion_is_local_to_the_class_region(label, region):
    frames = synthetic_clip(label, num_frames=9, image_size=64, amplitude_px=2.5, noise=0.0, seed=1)
    magnitude = np.linalg.norm(_apex_displacement(frames), axis=-1)
    upper, lower = magnitude[12:32].mean(), magnitude[36:56].mean()
    assert (upper > 2 * lower) if region == "upper" else (lower > 2 * upper)
    assert 0.5 < magnitude.max() < 4.0  # a micro motion: pixels, not tens of pixels


def test_motion_rises_and_falls_back():
    frames = synthetic_clip("sur", num_frames=11, image_size=64, amplitude_px=2.0, noise=0.0).astype(int)
    change = [np.abs(f - frames[0]).mean() for f in frames]
    assert np.argmax(change) == 5 and change[5] > 0.5
    assert change[-1] < 0.05 * change[5]


def test_brows_up_and_brows_together_move_the_brows_differently():
    up = _apex_displacement(synthetic_clip("sur", num_frames=9, noise=0.0))
    together = _apex_displacement(synthetic_clip("ne", num_frames=9, noise=0.0))
    brows = (slice(12, 32), slice(8, 56))
    assert up[brows][..., 1].mean() < -0.1 < 0.1 < together[brows][..., 1].mean()  # up vs down


@pytest.mark.parametrize("name", ["SMIC", "CASME2", "SAMM"])
def test_each_dataset_has_distinct_motions_per_class(name):
    motions = [motion_for(c, name) for c in catalog.CLASS_NAMES[name]]
    assert len(set(motions)) == len(motions)


def test_stream_has_motion_only_during_events():
    frames, truth = make_stream([(0.5, "positive"), (1.2, "surprise")], duration_s=2.0, fps=20, seed=1,
                                frame_size=(96, 128), noise=0.0)
    assert frames.shape == (40, 96, 128, 3) and frames.dtype == np.uint8
    assert [(t.label_name, t.start_frame) for t in truth] == [("positive", 10), ("surprise", 24)]
    moving = {i for t in truth for i in range(t.start_frame + 1, t.end_frame + 1)}
    for i in set(range(40)) - moving:
        np.testing.assert_array_equal(frames[i], frames[0])  # a still face outside the events
    assert np.abs(frames[truth[0].apex_frame].astype(int) - frames[0]).max() > 10
    x1, y1, x2, y2 = truth[0].face_box
    assert 0 <= x1 < x2 <= 128 and 0 <= y1 < y2 <= 96


def test_raw_variant_puts_the_face_in_a_larger_frame(raw_smic_root, raw_smic_manifest):
    clip = raw_smic_manifest.clips[0]
    assert clip.frames[0].relative_to(raw_smic_root).parts[:3] == ("SMIC", "HS", "s1")
    frames = read_frames(clip.frames)
    assert frames.shape[1:] == (96, 128, 3)
    x1, y1, x2, y2 = clip.face_box
    assert (x2 - x1) < 0.5 * 128 and (y2 - y1) < 0.6 * 96


def test_bad_requests_are_refused(tmp_path):
    with pytest.raises(ValueError, match="ships its own cropped frames"):
        make_dataset(tmp_path, "CASME2", raw=True)
    with pytest.raises(ValueError, match="subjects must be 1..16"):
        make_dataset(tmp_path, "SMIC", subjects=17)
    with pytest.raises(ValueError, match="no synthetic motion"):
        synthetic_clip("boredom")
    with pytest.raises(ValueError, match="overlaps"):
        make_stream([(0.5, "po"), (0.6, "sur")], duration_s=2.0, fps=20)


def test_cli_writes_a_loadable_dataset(tmp_path, capsys):
    from mer_live.datasets import load_dataset

    assert main([str(tmp_path), "--dataset", "SAMM", "--subjects", "2", "--clips-per-class", "1",
                 "--size", "24", "--frames", "4", "5", "--seed", "7"]) == 0
    index = load_dataset(tmp_path, "SAMM")
    assert len(index.clips) == 10 and index.subjects == ("006", "007")
    captured = capsys.readouterr()
    assert "SAMM: 12 clips" in captured.out
    assert "\r" not in captured.out + captured.err and "mer-synth: dataset 1/1 (100%" in captured.err
    assert "|" not in captured.err                                                    # a log: whole lines


@pytest.mark.parametrize("name, sheet", [("CASME2", "CASME2/CASME2-coding-20190701.xlsx"),
                                         ("SAMM", "SAMM/SAMM_CROP/SAMM_Micro_FACS_Codes_v2.xlsx")])
def test_a_real_dataset_in_root_is_refused_never_replaced(tmp_path, capsys, name, sheet):
    real = tmp_path / sheet
    real.parent.mkdir(parents=True)
    real.write_bytes(b"the real coding sheet")
    assert main([str(tmp_path), "--dataset", name, "--subjects", "1", "--clips-per-class", "1",
                 "--size", "16", "--frames", "4", "4"]) == 2
    err = capsys.readouterr().err
    assert "was not written by mer-synth" in err and "Traceback" not in err
    assert real.read_bytes() == b"the real coding sheet"
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [real]        # nothing written beside it either


def test_its_own_output_is_written_again(tmp_path):
    make_dataset(tmp_path, "CASME2", subjects=1, clips_per_class=1, image_size=16, frames_range=(4, 4))
    make_dataset(tmp_path, "CASME2", subjects=2, clips_per_class=1, image_size=16, frames_range=(4, 4))


def test_help_says_what_root_is(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "hold the dataset folders (SMIC_CROP, CASME2, SAMM)" in out and "is refused, never replaced" in out


@pytest.mark.parametrize("option, value", [("--size", "100000"), ("--subjects", "0"), ("--clips-per-class", "0"),
                                           ("--clips-per-class", "-1"), ("--size", "nan"), ("--seed", "-1")])
def test_numbers_are_checked_when_the_command_line_is_parsed(tmp_path, capsys, option, value):
    with pytest.raises(SystemExit) as exit_:
        main([str(tmp_path / "out"), "--dataset", "SMIC", option, value])
    assert exit_.value.code == 2
    assert option in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
