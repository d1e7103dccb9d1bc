"""Shared, session-scoped synthetic data (mer_live.synthetic.layouts), generated once per test run in a few seconds.

Fixtures (treat them as read-only; copy a tree before changing or preparing it):
- `synth_root` -> Path: a DATA_PATH holding small CROPPED datasets in the real layouts:
    SMIC_CROP/HS/...      3 subjects (s01, s02, s03) x 3 classes x 1 clip
    CASME2/Cropped/...    3 subjects (sub01..sub03) x 5 classes x 1 clip, + 1 fear/sadness clip each,
                          with CASME2/CASME2-coding-20190701.xlsx
    SAMM/SAMM_CROP/...    3 subjects (006, 007, 009) x 5 classes x 1 clip, + 1 Disgust/Fear/Sadness clip
                          each, with SAMM_Micro_FACS_Codes_v2.xlsx (13 preamble rows; Others written "Other")
  32x32 RGB frames, 6..12 frames per clip, seed 0. `load_dataset(synth_root, name)` works for
  SMIC, CASME2, SAMM and CDE.
- `synth_manifest` -> dict name -> mer_live.synthetic.layouts.SyntheticDataset for `synth_root` (what was
  written: per clip the subject, clip id, emotion as written, frame paths in order, face box, timing).
- `raw_smic_root` -> Path: a root with an UNCROPPED SMIC tree at raw_smic_root/SMIC/HS/... (2 subjects x
  3 classes x 1 clip, 4..5 frames of 96x128 with background) for `mer-prepare --dir <root>/SMIC --ext bmp`
  (which writes <root>/SMIC_CROP: copy the tree to a tmp dir first).
- `raw_smic_manifest` -> its SyntheticDataset (face_box = the face's known position in the raw frames).
- `build_paths` -> a function bytes -> the machine paths found in them ("/work/", "/home/", "site-packages", ...):
  what a shipped or exported file must not hold.
- `one_thread` (module scope): torch on one thread for the module, restored afterwards.
"""
from __future__ import annotations

import pytest

from mer_live.synthetic.layouts import make_dataset

SYNTH_KW = dict(subjects=3, clips_per_class=1, seed=0, image_size=32, frames_range=(6, 12), dropped_per_subject=1)
RAW_KW = dict(subjects=2, clips_per_class=1, seed=0, raw=True, raw_size=(96, 128), frames_range=(4, 5))


@pytest.fixture(scope="session")
def synth_manifest(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    return {name: make_dataset(root, name, **SYNTH_KW) for name in ("SMIC", "CASME2", "SAMM")}


@pytest.fixture(scope="session")
def synth_root(synth_manifest):
    return synth_manifest["SMIC"].root  # all three share it


@pytest.fixture(scope="session")
def raw_smic_manifest(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("raw_smic"), "SMIC", **RAW_KW)


@pytest.fixture(scope="session")
def raw_smic_root(raw_smic_manifest):
    return raw_smic_manifest.root


BUILD_PATH_MARKERS = (b"/work/", b"/home/", b"/root/", b"/Users/", b"/tmp/", b"site-packages", b"dist-packages")


@pytest.fixture(scope="session")
def build_paths():
    return lambda data: sorted(marker.decode() for marker in BUILD_PATH_MARKERS if marker in data)


@pytest.fixture(scope="module")
def one_thread():
    """torch on one thread for a test module, restored after: MTCNN runs faster on a shared 2-core machine,
    and training runs compare bit for bit with torchrun workers (which get 1)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
