"""The region spotter on a real face with micro-motions pasted in (mer_live.synthetic.paste): 8 s of the
committed Wolfgang Langer clip (tests/data/real), three motions drawn from seed 8 before anything runs,
with camera noise and a JPEG pass. benchmarks/bench_real_spotting.py measures the same on longer videos."""
from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
import pytest

from mer_live.streaming.engine import Engine, EngineConfig
from mer_live.streaming.sources import ArraySource, VideoFileSource
from mer_live.streaming.spotting import SpotterConfig
from mer_live.synthetic.paste import (PastedMotion, degrade, draw_motions, find_points, frames_with_face, paste,
                                      site_centres, smooth_points)

from engine_recorder import Recorder

CLIP = Path(__file__).parent / "data" / "real" / "WolfgangLanger_Pexels.mp4"
FIRST, FRAMES = 264, 192          # 11.0 s to 19.0 s: she looks up, smiles, laughs and turns her head
SEED = 8


def test_pasted_motion_rises_falls_part_way_then_fades():
    m = PastedMotion(onset=1.0, offset=1.4, apex=1.2, site="brows", action="raise", sides="both",
                     amplitude_px=2.0, remain=0.6, release_s=2.0)
    assert m.level(1.0) == 0.0 and m.level(1.2) == pytest.approx(1.0) and m.level(1.4) == pytest.approx(0.6)
    assert m.level(3.4) == 0.0 and 0.0 < m.level(2.4) < 0.6
    rise = [m.level(t) for t in np.linspace(1.0, 1.2, 9)]
    assert np.all(np.diff(rise) > 0)


def test_motions_are_fixed_by_the_seed_and_within_the_ranges():
    motions = draw_motions(3, 2.0, 120.0)
    assert motions == draw_motions(3, 2.0, 120.0) and motions != draw_motions(4, 2.0, 120.0)
    assert len(motions) >= 20 and {m.site for m in motions} == {"brows", "eye_corners", "nose_wings", "mouth_corners"}
    for m, after in zip(motions, motions[1:] + [None]):
        assert 0.2 <= m.offset - m.onset <= 0.5 and 1.5 <= m.amplitude_px <= 3.0 and 0.4 <= m.remain <= 1.0
        assert 2.0 < m.onset and m.offset <= 120.0 and (after is None or after.onset > m.end)


def test_motions_keep_off_the_spans_to_avoid():
    """A joined clip's cuts (bench_real_spotting): no pasted motion may straddle one."""
    cuts = [(k * 3.0 - 0.2, k * 3.0 + 1.0) for k in range(1, 40)]
    motions = draw_motions(3, 2.0, 120.0, gap_s=(0.6, 1.5), avoid=cuts)
    assert len(motions) >= 15
    assert not any(m.onset < end and m.offset > begin for m in motions for begin, end in cuts)


def test_paste_moves_the_site_by_its_amplitude_and_nothing_far_away():
    import cv2

    rng = np.random.default_rng(0)
    frame = cv2.GaussianBlur(rng.integers(0, 256, (240, 320, 3)).astype(np.uint8), (0, 0), 2.0)
    frame = cv2.normalize(frame, None, 0, 255, cv2.NORM_MINMAX)
    points = np.array([[120.0, 100.0], [200.0, 100.0], [160.0, 140.0], [130.0, 180.0], [190.0, 180.0]])
    motion = PastedMotion(onset=0.0, offset=0.4, apex=0.2, site="mouth_corners", action="depress", sides="right",
                          amplitude_px=2.5, remain=1.0, release_s=1.0)
    moved = paste(frame, 0.2, points, [motion])
    (centre, direction), = site_centres(points, motion)
    x, y = np.round(centre).astype(int)
    gray = [cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) for image in (frame, moved)]
    flow = cv2.calcOpticalFlowFarneback(*gray, None, 0.5, 3, 9, 5, 5, 1.1, 0)
    shift = flow[y - 2:y + 3, x - 2:x + 3].reshape(-1, 2).mean(axis=0)
    assert np.hypot(*shift) == pytest.approx(2.5, rel=0.25) and shift @ direction > 0.9 * np.hypot(*shift)
    assert np.array_equal(moved[:, :100], frame[:, :100])
    assert np.array_equal(paste(frame, 0.5, points, [motion])[:60], frame[:60])
    assert paste(frame, 0.2, None, [motion]) is frame


def test_the_spotters_measurement_sees_a_pasted_motion_on_a_real_face_as_the_warp_moves_it(one_thread):
    """Held still, a real face's 2-px pasted brow, nose-wing and mouth-corner motions move the spotter's
    regions by what the warp moves them on average over each region, well above two noisy copies of the
    face: what misses the motions on talking faces is the faces' own motion, not the measurement
    (docs/SPOTTER_TUNING.md; benchmarks/measurement_tries.py gain)."""
    from mer_live.face import FaceDetector, square_box
    from mer_live.streaming.face_motion import IDENTITY, FaceMotion, normalised_gray
    from mer_live.streaming.face_tracker import TrackerConfig
    from mer_live.synthetic.paste import region_displacement

    with VideoFileSource(Path(__file__).parent / "data" / "real" / "PsychoPy_testMovie.mp4") as source:
        frame = next(f.rgb for f in source if f.index == 10)
    face = FaceDetector(min_face_size=32).detect(frame)
    points = np.asarray(face.landmarks, np.float64).reshape(5, 2)
    size = SpotterConfig().size
    box = x1, y1, x2, y2 = square_box(face.box, frame.shape, TrackerConfig().margin)
    motion = FaceMotion(size)
    motion.set_landmarks((points - [x1, y1]) * size / (x2 - x1))
    rng = np.random.default_rng(0)
    for site, action in (("brows", "raise"), ("nose_wings", "wrinkle"), ("mouth_corners", "pull")):
        pasted = PastedMotion(onset=0.0, apex=0.5, offset=1.0, site=site, action=action, sides="both",
                              amplitude_px=2.0, remain=1.0, release_s=1.0)
        still = normalised_gray(degrade(frame, rng)[y1:y2, x1:x2], size)
        moved = normalised_gray(degrade(paste(frame, 0.5, points, [pasted]), rng)[y1:y2, x1:x2], size)
        quiet = normalised_gray(degrade(frame, rng)[y1:y2, x1:x2], size)
        expected = region_displacement(motion.regions.boxes, box, size, 0.5, points, [pasted])
        region = int(np.argmax(np.hypot(*expected.T)))
        want = expected[region]
        seen = motion.register(still, moved, IDENTITY).vectors[region]
        noise = motion.register(still, quiet, IDENTITY).vectors[region]
        assert 0.6 * np.hypot(*want) < np.hypot(*seen) < 1.5 * np.hypot(*want), (site, want, seen)
        assert seen @ want > 0.9 * np.hypot(*seen) * np.hypot(*want), (site, want, seen)
        assert np.hypot(*noise) < 0.2 * np.hypot(*want), (site, want, noise)


def test_three_pixel_motions_on_a_real_face_held_still_are_micro_expressions(one_thread):
    """The spotter's sensitivity on a real face without head motion or speech in the way: six 3-px, 0.3-s
    motions (60 % left at the offset) on a PsychoPy face held still, with camera noise and JPEG, are mostly
    reported (benchmarks/bench_spotter_sensitivity.py; with `floor` 0.04, as before 2026-12-07, 3 of 6)."""
    from mer_live.face import FaceDetector
    from mer_live.synthetic.paste import STILL_FACE_FPS, still_face_stream

    with VideoFileSource(Path(__file__).parent / "data" / "real" / "PsychoPy_testMovie.mp4") as source:
        still = next(f.rgb for f in source)
    detector = FaceDetector()
    points = find_points([still], detector)[0]
    frames, motions = still_face_stream(still, points, 3.0, np.random.default_rng(0))
    events = Engine(ArraySource(frames, fps=STILL_FACE_FPS), None, EngineConfig(), detector=detector).run()
    found = [m for m in motions if any(e.kind == "micro" and e.end > m.onset and e.start < m.offset for e in events)]
    assert len(found) >= 4, f"{len(found)} of 6 found: {[(e.kind, e.start, e.end) for e in events]}"


@pytest.fixture(scope="module")
def pasted(one_thread):
    """(frames, fps, motions, face frames, detector): the clip with three pasted micro-motions."""
    from mer_live.face import FaceDetector

    with VideoFileSource(CLIP) as source:
        fps = source.fps
        frames = [frame.rgb for frame in source if FIRST <= frame.index < FIRST + FRAMES]
    detector = FaceDetector(min_face_size=32)
    points = smooth_points(find_points(frames, detector, every=3))
    motions = draw_motions(SEED, 1.5, FRAMES / fps - 0.5, release_s=(1.0, 1.5), gap_s=(0.5, 1.2))
    assert len(motions) == 3 and all(frames_with_face(points, fps, m) for m in motions)
    rng = np.random.default_rng(SEED)
    stream = np.stack([degrade(paste(frame, i / fps, points[i], motions), rng) for i, frame in enumerate(frames)])
    face = int((~np.isnan(points).any(axis=(1, 2))).sum())
    return stream, fps, motions, face, detector


def spot(pasted, spotter: SpotterConfig):
    """(events, spotter state counts over face-box frames, segments decided) of the live engine on the clip."""
    stream, fps, _, _, detector = pasted
    recorder = Recorder()
    engine = Engine(ArraySource(stream, fps=fps), None, EngineConfig(spotter=spotter), recorder, detector=detector)
    events = engine.run()
    states = collections.Counter(f.spot_state for f in recorder.frames if f.face_box is not None)
    return events, states, recorder.segments


@pytest.fixture(scope="module")
def default_run(pasted):
    return spot(pasted, SpotterConfig())


def overlap(a, b) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def test_spotter_watches_a_real_talking_face(pasted, default_run):
    """The face time is watched (not paused, not settling) as the issue asks (85 %), and motion can open a
    segment."""
    _, states, segments = default_run
    face = pasted[3]
    assert face >= 0.95 * FRAMES
    assert states["watching"] >= 0.85 * face, f"watching {states['watching']} of {face} face frames: {dict(states)}"
    assert segments, "no segment of any kind was opened and decided on 8 s of a moving face"


@pytest.mark.xfail(strict=True, reason="issue 20: the region spotter does not yet report pasted 1.5-3 px "
                                       "motions as micro-expressions on real video (0 of 3 here; see "
                                       "benchmarks/bench_real_spotting.py)")
def test_spotter_finds_pasted_micro_motions(pasted, default_run):
    """At least one of the three pasted motions is reported as a micro-expression (IoU >= 0.5)."""
    events, _, _ = default_run
    motions = pasted[2]
    micro = [(e.start, e.end) for e in events if e.kind == "micro"]
    found = [m for m in motions
             if any(overlap(s, m.interval) / (max(s[1], m.offset) - min(s[0], m.onset)) >= 0.5 for s in micro)]
    assert found, f"micro events {micro}; pasted {[m.interval for m in motions]}"
