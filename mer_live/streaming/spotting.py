"""Spotting: when does a micro-expression happen, and when is it only a blink, a smile, talking or the head?

The region spotter runs on every frame of the face crop, on its own small gray crop (mer_live.streaming.
face_motion), so it never depends on the classifier, the window stride or dropped windows: the same frames
give the same segments on any machine and thread timing.

1. Onset. Every frame, the flow from the frame `lag_s` earlier (the head's motion removed) is averaged in
   each facial region and compared with that region's running noise (median and MAD of the last
   `baseline_s` of quiet frames): `activity` is the largest robust z. A segment opens when it passes
   `open_threshold`; nothing opens until `min_baseline_s` of quiet frames are known (a new face starts cold).
2. Verification. The frame before the motion is the segment's reference, and every later frame is compared
   with it: the regions' displacement shows whether the face went back to where it was (a micro-expression
   does within half a second; a held smile, talking or a new pose do not). While the head moves faster than
   `max_head_shift`, spotting pauses and an open segment is dropped.
3. Closing. When the displacement is back near the reference (`return_fraction` of its peak) and the motion
   quiet for `quiet_s`, the segment closes. Its start and end are where the displacement envelope crosses
   `edge_fraction` of its rise. It is then
   - "noise" (not reported) when the displacement never passed `threshold`,
   - "blink" (not reported) when the eyelids went down, `blink_ratio` times more than the brows (a brow
     lowered over the eye moves the lid region too, but less than the brow),
   - "talk" (not reported) when the displacement rose `talk_swings` separate times (the mouth opening
     again and again),
   - "micro" when it lasts at most `max_micro_s` (0.5 s, the MEGC definition),
   - "macro" when it lasts up to `max_macro_s`, and "long" (not reported) beyond, or when it never comes
     back within `max_macro_s`.
   Segments follow one another, so events never overlap. A segment is reported when it closes
   (`Segment.reported_at`), `quiet_s` after its end.
"""
from __future__ import annotations

import collections
import dataclasses
from dataclasses import dataclass

import numpy as np

from mer_live.streaming.face_motion import REGION_GROUPS, REGION_LAYOUT, REGION_NAMES, FaceMotion

REPORTED_KINDS = ("micro", "macro")          # what becomes an event; "noise", "blink", "talk", "long" never do
GROUP_MEMBERS = {g: [i for i, name in enumerate(REGION_NAMES) if REGION_LAYOUT[name][0] == g] for g in REGION_GROUPS}


@dataclass(frozen=True)
class SpotterConfig:
    """The region spotter's settings (tuned on mer_live.synthetic.distractors seeds 0-9)."""

    open_threshold: float = 3.0     # activity (robust z of a region's flow over `lag_s`) that opens a segment
    threshold: float = 6.0          # a segment counts when its displacement from the reference peaks above this
    size: int = 64                  # side of the spotter's gray face crop (its own, not the model's)
    lag_s: float = 0.1              # onset flow is taken between frames this far apart
    rigid: bool = True              # remove the head's rigid (affine) motion before measuring regions
    max_head_shift: float = 0.75    # the head moving more than this over `lag_s` (pixels of a 64-px crop)
                                    # pauses spotting (an open segment is dropped) until it is still again
    baseline_s: float = 4.0         # the running noise statistics cover the last this-much of quiet frames
    min_baseline_s: float = 1.0     # quiet time needed before anything can be a candidate
    quiet_s: float = 0.25           # back near the reference and still for this long closes a segment
    return_fraction: float = 0.3    # "back near the reference": displacement below this part of its peak
    edge_fraction: float = 0.1      # start/end where the displacement envelope crosses this part of its rise
    max_micro_s: float = 0.5        # MEGC: a micro-expression lasts at most half a second
    max_macro_s: float = 4.0        # longer segments are not reported
    blink_ratio: float = 1.4        # eyelids moving down this many times more than the brows (and more than
                                    # the nose, mouth and chin): a blink
    talk_swings: int = 3            # the displacement rising this many separate times in one segment: talking
    floor: float = 0.01             # pixels added to the noise scale (a noise-free synthetic face)

    def __post_init__(self) -> None:
        for name in ("open_threshold", "lag_s", "baseline_s", "quiet_s", "max_micro_s", "max_macro_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"spotter {name} must be > 0, got {getattr(self, name)}")
        if self.threshold < 0:            # 0: every motion that opened a segment counts
            raise ValueError(f"spotting threshold must be >= 0, got {self.threshold}")
        if self.size < 24:
            raise ValueError(f"spotter size must be >= 24 pixels, got {self.size}")
        if self.max_macro_s < self.max_micro_s:
            raise ValueError("spotter max_macro_s must be >= max_micro_s")


@dataclass(frozen=True)
class Segment:
    """A closed stretch of facial motion and what it was judged to be."""

    start: float                    # stream seconds, first frame of the motion
    end: float                      # stream seconds, exclusive (one frame period after the last frame)
    kind: str                       # "micro" | "macro" | "noise" | "blink" | "talk" | "long"
    peak_score: float               # peak displacement / the region's noise
    peak_px: float                  # peak region displacement in pixels of a 64-px crop
    region: str                     # the region that moved most
    reported_at: float              # stream seconds when the segment closed
    detail: dict = dataclasses.field(default_factory=dict, compare=False)   # per-group peaks, directions

    @property
    def reported(self) -> bool:
        return self.kind in REPORTED_KINDS


def _swings(envelope: np.ndarray, level: float) -> int:
    """How many separate times the envelope rises above `level` (talking opens the mouth again and again)."""
    above = envelope >= level
    return int(np.count_nonzero(above[1:] & ~above[:-1]) + int(above[0]))


class RegionSpotter:
    """Feed it every face crop in order with `push`; it returns the segments that just closed."""

    def __init__(self, config: SpotterConfig | None = None):
        self.config = config or SpotterConfig()
        self.motion = FaceMotion(self.config.size, rigid=self.config.rigid)
        self._keep_s = self.config.max_macro_s + self.config.quiet_s + 2 * self.config.lag_s + 1.0
        self._frames: collections.deque = collections.deque()         # (t, gray) of the last _keep_s
        self._history: collections.deque = collections.deque()        # region magnitudes of quiet frames
        self._noise_cache: tuple[np.ndarray, np.ndarray] | None = None
        self._landmarks: np.ndarray | None = None
        self._landmarks_due = False
        self.activity = 0.0             # the latest frame's largest robust z over the regions
        self.head_shift = 0.0           # the head's rigid shift over `lag_s` (pixels of a 64-px crop)
        self._still_since: float | None = None
        self._last_end = -np.inf
        self._reset_segment()

    # ------------------------------------------------------------------ state
    def reset(self, keep_baseline: bool = False) -> None:
        """A new crop box: forget the frames and any open segment (it is never reported). The noise
        baseline is kept when the same face was only re-anchored (`keep_baseline`), and starts cold for a
        new face: then nothing is a candidate for `min_baseline_s`."""
        self._frames.clear()
        if not keep_baseline:
            self._history.clear()
            self._noise_cache = None
        self.activity = 0.0
        self.head_shift = 0.0
        self._still_since = None
        self._reset_segment()

    def _reset_segment(self) -> None:
        self._ref: tuple[float, np.ndarray] | None = None
        self._opened_at = 0.0
        self._track: list[tuple[float, np.ndarray]] = []   # (t, region displacement vectors) since the ref
        self._returned_since: float | None = None
        self._displacement = 0.0
        self._apply_landmarks()

    @property
    def active(self) -> bool:
        """A segment is open (motion seen, not yet closed)."""
        return self._ref is not None

    @property
    def ready(self) -> bool:
        """Enough quiet frames (`min_baseline_s` of them) are known for a baseline."""
        return len(self._history) * self._period() >= self.config.min_baseline_s - 1e-9

    @property
    def score(self) -> float:
        """What to plot against `config.threshold`: while a segment is open, how far the face is from its
        reference now (robust z); otherwise the activity."""
        return self._displacement if self.active else self.activity

    def set_landmarks(self, landmarks_px: np.ndarray | None) -> None:
        """Five landmarks in pixels of the spotter's crop (`config.size`); applied once no segment is open
        (a segment is measured in one set of regions)."""
        self._landmarks = None if landmarks_px is None else np.asarray(landmarks_px, np.float64)
        self._landmarks_due = True
        self._apply_landmarks()

    def _apply_landmarks(self) -> None:
        if self._landmarks_due and not self.active:
            try:
                self.motion.set_landmarks(self._landmarks)
            except ValueError:              # degenerate landmarks: a frontal face's layout instead
                self.motion.set_landmarks(None)
            self._landmarks_due = False

    # ------------------------------------------------------------------ per frame
    def push(self, t: float, gray: np.ndarray) -> list[Segment]:
        """One normalised gray crop (face_motion.normalised_gray) at stream time `t`; the segments closed."""
        cfg = self.config
        if self._frames and t <= self._frames[-1][0]:
            raise ValueError(f"spotter timestamps must increase: {t} s came after {self._frames[-1][0]} s")
        self._frames.append((t, gray))
        while self._frames[0][0] < t - self._keep_s:
            self._frames.popleft()
        lagged = self._frame_before(t - cfg.lag_s)
        if lagged is None:
            return []
        uv, affine = self.motion.head(lagged[1], gray)
        centre = np.array([cfg.size / 2, cfg.size / 2, 1.0])
        self.head_shift = float(np.hypot(*(affine @ centre))) * 64.0 / cfg.size
        if self.head_shift > cfg.max_head_shift:
            self._still_since = None
            self.activity = 0.0
            if self.active:                 # the head moved: what the regions show is not trusted
                self._reset_segment()
            return []
        vectors = self.motion.face(lagged[1], gray, uv, affine)
        magnitude = np.hypot(vectors[:, 0], vectors[:, 1])
        noise = self._noise()
        self.activity = float(np.max((magnitude - noise[0]) / noise[1])) if noise is not None else 0.0
        if self._still_since is None:
            self._still_since = t
        still = t - self._still_since >= cfg.quiet_s
        if self.active:
            self._track.append((t, self.motion.measure(self._ref[1], gray)[0]))
            return self._maybe_close(t)
        if self.ready and still and self.activity > cfg.open_threshold:
            self._open(t, lagged[0])
            return self._maybe_close(t)
        if still or not self.ready:
            self._history.append(magnitude)
            self._noise_cache = None
            while len(self._history) * self._period() > cfg.baseline_s:
                self._history.popleft()
        return []

    def flush(self, t: float) -> list[Segment]:
        """End of stream: a segment that already went back to its reference closes; any other is dropped."""
        if self.active and self._returned_since is not None:
            return [self._close(t)]
        self._reset_segment()
        return []

    # ------------------------------------------------------------------ internals
    def _period(self) -> float:
        """The stream's frame period (median spacing of the stored frames)."""
        if len(self._frames) < 2:
            return self.config.lag_s
        times = np.fromiter((ft for ft, _ in self._frames), float, len(self._frames))
        return float(np.median(np.diff(times)))

    def _frame_before(self, t: float) -> tuple[float, np.ndarray] | None:
        """The newest stored frame at or before time t (None if there is none)."""
        best = None
        for item in self._frames:
            if item[0] > t + 1e-9:
                break
            best = item
        return best

    def _noise(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(median, robust spread + floor) of each region's quiet magnitudes (kept until the history changes)."""
        if len(self._history) < 3:
            return None
        if self._noise_cache is None:
            mags = np.stack(self._history)
            median = np.median(mags, axis=0)
            self._noise_cache = (median, 1.4826 * np.median(np.abs(mags - median), axis=0) + self.config.floor)
        return self._noise_cache

    def _scale(self) -> np.ndarray:
        """Per-region noise of a displacement: the quiet magnitude's median + spread."""
        median, spread = self._noise()
        return median + spread

    def _open(self, t: float, lag_t: float) -> None:
        """Motion began after the lagged frame: the frame before that is the reference."""
        ref = self._frame_before(lag_t - 1e-6) or self._frames[0]
        self._ref = ref
        self._opened_at = t
        self._track = [(ft, self.motion.measure(ref[1], g)[0]) for ft, g in self._frames if ref[0] < ft <= t]

    def _maybe_close(self, t: float) -> list[Segment]:
        cfg = self.config
        scale = self._scale()
        peak = max(float(np.max(np.hypot(v[:, 0], v[:, 1]) / scale)) for _, v in self._track)
        vectors = self._track[-1][1]
        self._displacement = float(np.max(np.hypot(vectors[:, 0], vectors[:, 1]) / scale))
        if self._displacement <= max(cfg.return_fraction * peak, 2.0) and self.activity < cfg.open_threshold:
            if self._returned_since is None:
                self._returned_since = t
            if t - self._returned_since >= cfg.quiet_s:
                return [self._close(t)]
        else:
            self._returned_since = None
        if t - self._opened_at > cfg.max_macro_s + cfg.quiet_s:          # it never came back
            segment = Segment(start=self._track[0][0], end=t, kind="long", peak_score=peak, peak_px=0.0,
                              region="", reported_at=t)
            self._reset_segment()
            return [segment]
        return []

    def _close(self, t: float) -> Segment:
        cfg = self.config
        times = np.array([ft for ft, _ in self._track])
        vectors = np.stack([v for _, v in self._track]) * 64.0 / cfg.size     # (T, R, 2), 64-px crop pixels
        z = np.hypot(vectors[..., 0], vectors[..., 1]) / (self._scale() * 64.0 / cfg.size)   # (T, R)
        envelope = z.max(axis=1)
        peak = float(envelope.max())
        # the edges are where the envelope crosses edge_fraction of its rise above where it came back to:
        # a head that kept moving slowly leaves a little residual the face did not make
        rest = float(np.median(envelope[times >= self._returned_since]))
        above = np.flatnonzero(envelope >= rest + cfg.edge_fraction * (peak - rest))
        period = float(np.median(np.diff(times))) if len(times) > 1 else cfg.lag_s
        start = max(float(times[above[0]]), self._last_end)
        end = float(times[above[-1]]) + period
        duration = end - start
        peaks = z.max(axis=0)                                                # (R,)
        region = int(np.argmax(peaks))
        group_peak = {g: float(peaks[members].max()) for g, members in GROUP_MEMBERS.items()}
        at_peak = int(np.argmax(envelope))
        eye_dy = float(vectors[at_peak, GROUP_MEMBERS["eyes"], 1].mean())
        brow_dy = float(vectors[at_peak, GROUP_MEMBERS["brows"], 1].mean())
        below_brows = max(v for g, v in group_peak.items() if g not in ("eyes", "brows"))
        swings = _swings(envelope, 0.5 * peak)
        if peak < cfg.threshold:
            kind = "noise"
        elif (duration <= cfg.max_micro_s and group_peak["eyes"] >= below_brows and eye_dy > 0
              and eye_dy >= cfg.blink_ratio * max(brow_dy, 0.0)):
            kind = "blink"
        elif swings >= cfg.talk_swings:
            kind = "talk"
        elif duration <= cfg.max_micro_s:
            kind = "micro"
        elif duration <= cfg.max_macro_s:
            kind = "macro"
        else:
            kind = "long"
        detail = {**{g: round(v, 1) for g, v in group_peak.items()}, "eye_dy": round(eye_dy, 2),
                  "brow_dy": round(brow_dy, 2), "swings": swings}
        segment = Segment(start=start, end=end, kind=kind, peak_score=peak,
                          peak_px=float(np.hypot(*vectors[:, region].T).max()), region=REGION_NAMES[region],
                          reported_at=t, detail=detail)
        self._last_end = end
        self._reset_segment()
        return segment
