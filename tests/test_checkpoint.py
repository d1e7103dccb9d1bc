import pickle

import pytest
import torch

from mer_live.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from mer_live.spec import ModelSpec


def _spec():
    return ModelSpec(model="ch3_1_fusion_cnn_like", class_names=("ne", "po", "sur"), num_frames=8,
                     image_size=(64, 48), variant="nano", fps=100.0, clip_seconds=0.3, dataset="SMIC")


def test_round_trip(tmp_path):
    sd = {"w": torch.arange(6.0).reshape(2, 3)}
    save_checkpoint(tmp_path / "m.pt", Checkpoint(_spec(), sd, {"held_out": "s01", "epoch": 3}))
    ck = load_checkpoint(tmp_path / "m.pt")
    assert ck.spec == _spec() and ck.info["held_out"] == "s01"
    assert torch.equal(ck.state_dict["w"], sd["w"])
    assert not [p for p in tmp_path.iterdir() if p.name != "m.pt"]  # no temporary left behind


def test_spec_json_round_trip():
    s = _spec()
    assert ModelSpec.from_json(s.to_json()) == s
    with pytest.raises(ValueError, match="missing"):
        ModelSpec.from_dict({"num_frames": 4})


def test_missing_corrupt_and_foreign_files(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(bad)
    foreign = tmp_path / "foreign.pt"
    torch.save({"model": torch.zeros(1)}, foreign)
    with pytest.raises(CheckpointError, match="not a mer-live checkpoint"):
        load_checkpoint(foreign)


class _Evil:
    def __reduce__(self):
        return (print, ("executed",))


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"format": "mer-live-checkpoint", "x": _Evil()}, f)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_atomic_writes_get_usual_permissions(tmp_path):
    import os
    from mer_live.atomic import write_text_atomic
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "r.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "r.txt").stat().st_mode & 0o777 == 0o644
