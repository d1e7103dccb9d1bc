"""The second synthetic generator: SMIC layout, deterministic, one face per subject, and motions of the
stated size where the class says (mouth corners for ne/po, brows for sur), measured with optical flow."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from mer_live.datasets import load_dataset
from mer_live.flow import farneback, to_gray
from mer_live.frames import read_frames
from mer_live.synthetic.gaussian import make_gaussian_smic


@pytest.fixture(scope="module")
def gaussian_set(tmp_path_factory):
    return make_gaussian_smic(tmp_path_factory.mktemp("gaussian"), subjects=3, clips_per_class=1, seed=5,
                              image_size=64)


def test_mer_train_reads_it_as_smic(gaussian_set):
    index = load_dataset(gaussian_set.root, "SMIC")
    assert list(index.subjects) == ["s01", "s02", "s03"]
    assert sorted(c.label_name for c in index.clips) == sorted(["ne", "po", "sur"] * 3)
    assert {c.clip_id for c in index.clips} == {c.clip_id for c in gaussian_set.clips}


def test_same_seed_same_bytes_and_every_subject_its_own_face(gaussian_set, tmp_path):
    from skimage import data

    again = make_gaussian_smic(tmp_path, subjects=3, clips_per_class=1, seed=5, image_size=64)
    for a, b in zip(gaussian_set.clips, again.clips):
        assert [p.read_bytes() for p in a.frames] == [p.read_bytes() for p in b.frames]
    assert len(set(gaussian_set.faces.values())) == 3
    lfw = data.lfw_subset()

    def similarity(a, b):
        a, b = (a - a.mean()) / a.std(), (b - b.mean()) / b.std()
        return float((a * b).mean())

    for clip in gaussian_set.clips:   # a subject's frames look most like its own face (placed, mirrored, re-lit)
        small = cv2.resize(to_gray(read_frames(clip.frames[:1]))[0].astype(np.float32), (25, 25),
                           interpolation=cv2.INTER_AREA)
        scores = {s: max(similarity(small, lfw[i]), similarity(small, lfw[i][:, ::-1]))
                  for s, i in gaussian_set.faces.items()}
        assert max(scores, key=scores.get) == clip.subject, scores


def test_apex_motion_is_one_to_one_and_a_half_pixels_where_the_class_says(gaussian_set):
    for clip in gaussian_set.clips:
        frames = read_frames(clip.frames)
        gray = to_gray(frames[[0, clip.apex_index]])
        flow = farneback(gray[0], gray[1])
        magnitude = flow[..., 0]
        assert 1.0 <= clip.amplitude_px <= 1.5
        # Farneback (the project's parameters) smooths the peak of a 1-1.5 px bump on these soft faces to
        # about 0.6-1.2 px; two frames without motion give 0.1-0.4 px (pixel noise).
        assert 0.45 <= magnitude.max() <= 2.0, (clip.clip_id, magnitude.max())
        peak_row = np.unravel_index(np.argmax(magnitude), magnitude.shape)[0]
        if clip.label_name == "sur":
            assert peak_row < 32, clip.clip_id                                  # brows: upper half
        else:
            assert peak_row >= 32, clip.clip_id                                 # mouth corners: lower half
