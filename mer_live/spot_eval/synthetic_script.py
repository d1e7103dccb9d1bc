"""What happens in a synthetic long video, frame by frame: the script of micro-expressions, macro-expressions
and the ordinary behaviour a live spotter must not report (head drift, blinks, a smile, a head turn, a
lighting step, talking), drawn at random per video. The renderer (synthetic_render) turns it into frames.

Motions are smooth displacement bumps at facial points (synthetic_faces.POINTS), with directions in the
face's own axes (u: across the eyes, v: down the face), so mirrored and tilted faces move alike.
Amplitudes are pixels in a 64-px face crop (the demo model's input) of the crop the live engine takes
(mer_live.face.square_box: the face box's longer side x 1.2), whatever the face's size in the frame.
"""
from __future__ import annotations

import dataclasses

import numpy as np

# Motion primitives: (point, (du, dv) direction, sigma in eye distances); a bump's peak moves 1 unit. A
# muscle moves a patch of skin, not a point: sigmas of 0.13-0.3 eye distances (brows, lid, nose wing, lip
# corner, chin).
MOTIONS: dict[str, tuple[tuple[str, tuple[float, float], float], ...]] = {
    "brows_up": (("brow_out_l", (0, -1), .20), ("brow_in_l", (0, -1), .20), ("brow_out_r", (0, -1), .20),
                 ("brow_in_r", (0, -1), .20)),
    "brows_together": (("brow_in_l", (.6, .8), .18), ("brow_in_r", (-.6, .8), .18)),
    "inner_brows_up": (("brow_in_l", (0, -1), .17), ("brow_in_r", (0, -1), .17)),
    "lids_up": (("lid_l", (0, -1), .13), ("lid_r", (0, -1), .13)),
    "nose_wrinkle": (("nose_l", (0, -1), .15), ("nose_r", (0, -1), .15), ("lip_up", (0, -.6), .13)),
    "corner_up_l": (("mouth_l", (-.5, -.85), .18),),
    "corner_up_r": (("mouth_r", (.5, -.85), .18),),
    "corners_down": (("mouth_l", (.3, .95), .18), ("mouth_r", (-.3, .95), .18)),
    "chin_raise": (("chin", (0, -1), .25), ("lip_low", (0, -.6), .15)),
    "lip_press": (("lip_up", (0, .6), .13), ("lip_low", (0, -.6), .13)),
    "cheeks_up": (("cheek_l", (0, -1), .22), ("cheek_r", (0, -1), .22)),
    "smile": (("mouth_l", (-.6, -.8), .2), ("mouth_r", (.6, -.8), .2), ("cheek_l", (0, -.5), .22),
              ("cheek_r", (0, -.5), .22)),
    "jaw_open": (("chin", (0, 1), .3), ("lip_low", (0, 1), .18), ("mouth_l", (.25, .3), .13),
                 ("mouth_r", (-.25, .3), .13)),
}
MICRO_MOTIONS = ("brows_up", "brows_together", "inner_brows_up", "lids_up", "nose_wrinkle", "corner_up_l",
                 "corner_up_r", "corners_down", "chin_raise", "lip_press", "cheeks_up")
MACRO_MOTIONS = (("brows_up", "lids_up", "jaw_open"), ("brows_together", "lip_press"),
                 ("inner_brows_up", "corners_down"), ("nose_wrinkle", "corners_down"), ("smile", "cheeks_up"),
                 ("corner_up_r",), ("brows_together", "chin_raise"))

# What a video holds by default, and how long each thing lasts (seconds).
DEFAULT_COUNTS = {"micro": (5, 7), "macro": (1, 2), "smile": (1, 1), "blink": (3, 6), "drift": (1, 1),
                  "turn": (1, 1), "light": (1, 1), "talk": (1, 1)}
DURATION_S = {"micro": (0.2, 0.5), "macro": (1.0, 4.0), "smile": (1.8, 2.2), "blink": (0.25, 0.4),
              "drift": (1.3, 1.7), "turn": (0.5, 1.0), "light": (0.04, 0.08), "talk": (2.0, 3.5)}
AMPLITUDE_PX64 = {"micro": (1.0, 3.0), "macro": (3.0, 6.0), "smile": (3.0, 5.0), "talk": (2.0, 4.0)}
TRUTH_KIND = {"micro": "micro", "macro": "macro", "smile": "macro", "blink": "blink"}


@dataclasses.dataclass(frozen=True)
class Action:
    """One thing that happens between frames `start` and `end` (inclusive), peaking at `apex`."""

    kind: str                 # micro | macro | smile | blink | drift | turn | light | talk
    start: int
    end: int
    apex: int
    motions: tuple[str, ...] = ()          # local motions (micro, macro, smile, talk)
    amplitude: float = 0.0                 # px in a 64-px crop (motions); degrees (turn); crop sides (drift);
                                           # gain change (light)
    direction: float = 0.0                 # drift: angle in radians; turn, light: sign; light: gradient
    syllables: tuple[tuple[int, int, float], ...] = ()   # talk: (start, end, relative amplitude)


@dataclasses.dataclass(frozen=True)
class Script:
    fps: float
    frames: int
    actions: tuple[Action, ...]

    def truth(self) -> list[tuple[str, int, int, int]]:
        """(kind, onset, apex, offset) frame indices of what an annotator would mark: micro- and
        macro-expressions (a smile is a macro-expression) and blinks."""
        return [(TRUTH_KIND[a.kind], a.start, a.apex, a.end) for a in self.actions if a.kind in TRUTH_KIND]

    # ------------------------------------------------------------------ per-frame state
    def local_motions(self, i: int) -> list[tuple[str, float]]:
        """(motion, amplitude in px64) active at frame i."""
        out = []
        for a in self.actions:
            if a.motions and a.start <= i <= a.end:
                level = _talk_level(a, i) if a.kind == "talk" else _level(a, i)
                out += [(m, a.amplitude * level) for m in a.motions]
        return [(m, v) for m, v in out if v > 0]

    def blink(self, i: int) -> float:
        """Eyelid closure 0..1 at frame i."""
        return max((_level(a, i) for a in self.actions if a.kind == "blink" and a.start <= i <= a.end), default=0.0)

    def pose(self, i: int) -> tuple[float, float, float]:
        """(drift in crop sides along x, along y, in-plane rotation in degrees) at frame i (they persist)."""
        dx = dy = angle = 0.0
        for a in self.actions:
            if i < a.start or a.kind not in ("drift", "turn"):
                continue
            level = ramp(a, i)
            if a.kind == "drift":
                dx += level * a.amplitude * np.cos(a.direction)
                dy += level * a.amplitude * np.sin(a.direction)
            else:
                angle += level * a.amplitude * a.direction
        return dx, dy, angle

    def lighting(self, i: int) -> tuple[float, float]:
        """(gain change, left-to-right gradient) at frame i (a step that persists)."""
        gain = gradient = 0.0
        for a in self.actions:
            if a.kind == "light" and i >= a.start:
                level = ramp(a, i)
                gain += level * a.amplitude
                gradient += level * a.direction
        return gain, gradient


def _level(a: Action, i: int) -> float:
    """Raised-cosine rise from start to apex and fall to end; macro-expressions hold near their apex."""
    if a.kind in ("macro", "smile"):
        rise_end = a.apex
        fall_start = a.start + int(round((a.end - a.start) * 0.7))
        if i <= rise_end:
            return 0.5 * (1 - np.cos(np.pi * (i - a.start) / max(rise_end - a.start, 1)))
        if i < fall_start:
            return 1.0
        return 0.5 * (1 + np.cos(np.pi * (i - fall_start) / max(a.end - fall_start, 1)))
    if i <= a.apex:
        return 0.5 * (1 - np.cos(np.pi * (i - a.start) / max(a.apex - a.start, 1)))
    return 0.5 * (1 + np.cos(np.pi * (i - a.apex) / max(a.end - a.apex, 1)))


def _talk_level(a: Action, i: int) -> float:
    for start, end, rel in a.syllables:
        if start <= i <= end:
            mid = (start + end) / 2
            return rel * 0.5 * (1 + np.cos(np.pi * (i - mid) / max((end - start) / 2, 1)))
    return 0.0


def ramp(a: Action, i: int) -> float:
    """0 before start, a smooth step to 1 at end, 1 after."""
    if i >= a.end:
        return 1.0
    x = (i - a.start) / max(a.end - a.start, 1)
    return 0.5 * (1 - np.cos(np.pi * x))


def _frames(rng: np.random.Generator, seconds: tuple[float, float], fps: float) -> int:
    return max(3, int(round(rng.uniform(*seconds) * fps)) + 1)


def draw_action(rng: np.random.Generator, kind: str, start: int, fps: float) -> Action:
    length = _frames(rng, DURATION_S[kind], fps)
    end = start + length - 1
    if kind == "micro":
        apex = start + int(round(rng.uniform(0.35, 0.6) * (length - 1)))
        return Action(kind, start, end, apex, (str(rng.choice(MICRO_MOTIONS)),),
                      float(rng.uniform(*AMPLITUDE_PX64["micro"])))
    if kind in ("macro", "smile"):
        apex = start + int(round(rng.uniform(0.15, 0.3) * (length - 1)))
        motions = ("smile", "cheeks_up") if kind == "smile" else MACRO_MOTIONS[int(rng.integers(len(MACRO_MOTIONS)))]
        return Action(kind, start, end, apex, tuple(motions), float(rng.uniform(*AMPLITUDE_PX64[kind])))
    if kind == "blink":
        return Action(kind, start, end, start + int(round(0.4 * (length - 1))))
    if kind == "drift":
        return Action(kind, start, end, end, amplitude=float(rng.uniform(0.22, 0.30)),
                      direction=float(rng.uniform(0, 2 * np.pi)))
    if kind == "turn":
        return Action(kind, start, end, end, amplitude=float(rng.uniform(4.0, 6.0)),
                      direction=float(rng.choice([-1.0, 1.0])))
    if kind == "light":
        return Action(kind, start, end, end, amplitude=float(rng.choice([-1, 1]) * rng.uniform(0.15, 0.3)),
                      direction=float(rng.uniform(-0.3, 0.3)))
    if kind == "talk":
        syllables, t = [], start
        while True:
            span = max(2, int(round(rng.uniform(0.12, 0.3) * fps)))
            if t + span > end:
                break
            syllables.append((t, t + span, float(rng.uniform(0.4, 1.0))))
            t += span + int(round(rng.uniform(0.0, 0.12) * fps))
        return Action(kind, start, end, start, ("jaw_open",), float(rng.uniform(*AMPLITUDE_PX64["talk"])),
                      syllables=tuple(syllables))
    raise ValueError(f"unknown action kind {kind!r}")


def draw_script(rng: np.random.Generator, fps: float, counts: dict[str, tuple[int, int]] | None = None,
                lead_in_s: tuple[float, float] = (2.5, 3.5), gap_s: tuple[float, float] = (0.8, 2.0),
                tail_s: float = 1.5) -> Script:
    """A random script: the actions of `counts` (kind -> (min, max) how many) in random order, apart by
    random gaps, after a still lead-in (the live spotter's baseline needs one)."""
    counts = DEFAULT_COUNTS if counts is None else counts
    unknown = sorted(set(counts) - set(DURATION_S))
    if unknown:
        raise ValueError(f"unknown action kind(s) {unknown}; known: {sorted(DURATION_S)}")
    kinds = [k for k, (lo, hi) in counts.items() for _ in range(int(rng.integers(lo, hi + 1)))]
    order = rng.permutation(len(kinds))
    actions = []
    t = int(round(rng.uniform(*lead_in_s) * fps))
    for j in order:
        action = draw_action(rng, kinds[j], t, fps)
        actions.append(action)
        t = action.end + 1 + int(round(rng.uniform(*gap_s) * fps))
    frames = max(t, int(round(lead_in_s[1] * fps))) + int(round(tail_s * fps))
    return Script(fps=fps, frames=frames, actions=tuple(actions))
