"""Synthetic micro-expression data: the shared fixture for tests, benchmarks and the demo.

Every clip is a real face photo (skimage.data.astronaut(), bundled, no download) with per-subject appearance
and a class-specific LOCAL motion of 1 to 3 pixels that rises and falls within the clip. Modules, each
importing only those above it:

- `render`: the face, a clip's look (camera, pose, brightness), the classes' motions; `synthetic_clip`.
- `layouts`: SMIC / CASME II / SAMM frame trees and coding sheets (`make_dataset`).
- `stream`: a still face with micro-motions at known times (`make_stream`), for the demo and the engine.
- `distractors`: long streams with micro-expressions among blinks, talk and head motion (the spotter's set).
- `gaussian`: a second generator that shares nothing with `render` (other faces, per-subject motions).
- `paste`: micro-motions pasted into REAL video at seeded times, with camera noise (the real-video benchmark).
- `cli`: `mer-synth`.

The names below are re-exported so `from mer_live.synthetic import make_dataset` keeps working; code in this
repository imports from the module that holds the name.
"""
from mer_live.synthetic.cli import main
from mer_live.synthetic.layouts import SyntheticClip, SyntheticDataset, make_dataset
from mer_live.synthetic.render import (ASTRONAUT_FACE_BOX, DATASET_MOTION_OVERRIDES, FACE_POINTS, LABEL_MOTIONS,
                                       MOTIONS, SUPERSAMPLE, ClipLook, motion_for, synthetic_clip)
from mer_live.synthetic.stream import StreamEvent, make_stream

__all__ = ["ASTRONAUT_FACE_BOX", "DATASET_MOTION_OVERRIDES", "FACE_POINTS", "LABEL_MOTIONS", "MOTIONS", "SUPERSAMPLE",
           "ClipLook", "StreamEvent", "SyntheticClip", "SyntheticDataset", "main", "make_dataset", "make_stream",
           "motion_for", "synthetic_clip"]
