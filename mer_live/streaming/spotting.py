"""Spotting: when does a micro-expression happen, and when is it only a blink, a smile, talking or the head?

The region spotter runs on every frame of the face crop, on its own small gray crop (mer_live.streaming.
face_motion), so it never depends on the classifier, the window stride or dropped windows: the same frames
give the same segments on any machine and thread timing.

1. Registration. Every frame is registered to a reference frame of the face (an affine fit on the face's
   rigid part, chained from the last frame's fit), and each facial region's displacement since the
   reference is measured net of the head's motion, in regions placed in the reference's coordinates: the
   regions follow the features while the head moves, talks or sways. The reference is renewed every
   `reanchor_s` while no motion is open (displacements carry over, so nothing restarts). How far each region
   seems to move when the head moves (a face is not flat; resampling a moving face leaves a bias) is learnt
   on quiet frames and taken off (`_learn_coupling`). Spotting pauses
   only for what registration cannot undo: the head jumping more than `max_head_step` in one frame
   ("paused-motion"), or the fit leaving more than `max_residual` on the face's rigid part for longer than
   a micro-expression ("paused-registration"). After a pause the face is registered afresh and the
   spotter settles for `lag_s` ("settling") before it watches again.
2. Onset. The motion of each region over `lag_s` (its displacement now less `lag_s` ago), taken per group
   of regions (brows, eyes, nose, mouth, jaw), is compared with that group's running noise (median and
   MAD of the last `baseline_s` of quiet frames, plus `floor`): `activity` is the largest robust z. Real
   video has 12-75 times the frame noise of a synthetic face, so every threshold is in these units. Until
   `min_baseline_s` of a face's quiet frames are known, the noise is taken as at least `prior_noise`, the
   quiet motion of the real tuning faces, so a new face is watched from its first frames. A burst
   of motion opens when `activity` passes `open_threshold` and ends when it stays under half of it for
   `quiet_s`. The frame before the burst is its base.
3. The motion itself gives onset and offset (as MDMD and OF-FD spotters do): the burst starts where the
   displacement from the base passes `edge_fraction` of its peak and ends where the face has settled to
   within that fraction of where it came to rest, or, if earlier, where it stopped moving (stayed within
   that fraction of where it was for `quiet_s`: a face that fades back slowly has its offset where the
   motion stopped, not seconds later). A real micro-expression need not return to its base by its offset.
   One that did not come back at least `return_fraction` of the way is held for `hold_s`: if the next burst
   is led by the same group and brings those regions back (a smile let go), both are one segment;
   otherwise the held one is decided alone.
4. The segment is then
   - "noise" (not reported) when the displacement never passed `threshold`,
   - "head" (not reported) when the head travelled more than `max_travel` during it,
   - "blink" (not reported) when the eyelids led and went down `blink_ratio` times more than the brows,
   - "talk" (not reported) when the jaw led (on real faces the chin moves alone in speech, chewing and
     swallowing), when the displacement swung `talk_swings` times, or when the mouth led and the mouth or
     jaw moved again at least `talk_openings` other times within `talk_window_s` around it (speech opens
     the mouth again and again; a mouth micro-expression is alone),
   - "micro" when it lasts at most `max_micro_s` (0.5 s, the MEGC definition), "macro" up to
     `max_macro_s`, and "long" (not reported) beyond.
   A burst judged talking, too long, or a mouth-led macro-expression is also looked into group by group:
   a brow, eye or nose motion inside it that rose and stopped within `max_micro_s` on its own, did not
   swing, was not a blink and did not move in step with the mouth and jaw (correlation under
   SPEECH_COUPLED) is a micro-expression of its own: on a talking face the brows can rise while the mouth
   talks, and the burst as one would hide it.
   Reported segments never overlap. A segment is reported when it is decided (`Segment.reported_at`).
"""
from __future__ import annotations

import bisect
import collections
import dataclasses
from dataclasses import dataclass

import numpy as np

from mer_live.streaming.face_motion import (IDENTITY, REGION_GROUPS, REGION_LAYOUT, REGION_NAMES, FaceMotion,
                                            compose, invert, map_points, unmap_points)

REPORTED_KINDS = ("micro", "macro")          # what becomes an event; "noise", "head", "blink", "talk", "long" never do
GROUP_MEMBERS = {g: [i for i, name in enumerate(REGION_NAMES) if REGION_LAYOUT[name][0] == g] for g in REGION_GROUPS}
SPEECH_GROUPS = ("mouth", "jaw")
SPEECH_MEMBERS = [i for g in SPEECH_GROUPS for i in GROUP_MEMBERS[g]]
OWN_GROUPS = ("brows", "eyes", "nose")      # measured on their own inside a talking or long burst
SPEECH_COUPLED = 0.6    # a group moving in step with the mouth and jaw (correlation) moved with the speech
EDGE_NOISE_Z = 2.0      # onset/offset edges never lower than this (a quiet frame's displacement reaches it)
COUPLING_FRAMES = 600   # quiet frames the head-to-region coupling is learnt from (the latest)
COUPLING_EVERY = 15     # frames between refits
COUPLING_RIDGE_PX = 0.05  # head motion (64-px crop pixels per lag) below which the coupling stays near 0
SPOTTER_STATES = ("watching", "settling", "paused-motion", "paused-registration")


@dataclass(frozen=True)
class SpotterConfig:
    """The region spotter's settings (the record of how they were chosen: docs/SPOTTER_TUNING.md)."""

    open_threshold: float = 5.0     # activity (robust z of a group's motion over `lag_s`) that opens a burst
    threshold: float = 8.0          # a segment counts when its displacement from its base peaks above this
    size: int = 128                 # side of the spotter's gray face crop (its own, not the model's; thresholds
                                    # are in pixels of a 64-px crop whatever the size)
    lag_s: float = 0.1              # onset motion is taken between frames this far apart
    rigid: bool = True              # remove the head's rigid (affine) motion before measuring regions
    reanchor_s: float = 1.0         # the reference frame is renewed this often while no motion is open
    max_head_step: float = 4.0      # the head moving more than this in one frame (pixels of a 64-px crop) pauses
    max_travel: float = 8.0         # a segment during which the head went further than this (pixels of a 64-px
                                    # crop) is the head's ("head", not reported): registration is least exact there
    max_residual: float = 0.8       # the fit leaving more than this (median pixels of a 64-px crop on the face's
                                    # rigid part) for `max_micro_s`, or 3 times as much once, pauses
    baseline_s: float = 4.0         # the running noise statistics cover the last this-much of quiet frames
    min_baseline_s: float = 1.0     # quiet time after which a face's own noise alone sets the scale
    prior_noise: float = 0.15       # until then, each group's quiet motion is taken as at least this (median and
                                    # spread alike; pixels of a 64-px crop per 0.1 s of `lag_s`), as measured on
                                    # the tuning videos: the spotter watches from a face's first frames, never
                                    # more sensitively than a real face allows; 0: it settles for `min_baseline_s`
    quiet_s: float = 0.2            # activity under half of `open_threshold` this long ends a burst
    return_fraction: float = 0.5    # a burst came back when its final displacement is below this part of its peak
    edge_fraction: float = 0.2      # start/end where the displacement passes / settles within this part of its peak
    hold_s: float = 2.0             # a burst that did not come back waits this long for one that brings it back
    max_micro_s: float = 0.5        # MEGC: a micro-expression lasts at most half a second
    max_macro_s: float = 4.0        # longer segments are not reported
    blink_ratio: float = 1.4        # eyelids moving down this many times more than the brows: a blink
    talk_swings: int = 3            # the displacement rising this many separate times in one segment: talking
    talk_window_s: float = 1.5      # mouth or jaw motion this close around a mouth-led segment ...
    talk_openings: int = 2          # ... this many times: talking
    floor: float = 0.03             # pixels (64-px crop) added to the noise scale (chosen in replay: docs/SPOTTER_TUNING.md)

    def __post_init__(self) -> None:
        for name in ("open_threshold", "lag_s", "baseline_s", "quiet_s", "max_micro_s", "max_macro_s",
                     "reanchor_s", "max_head_step", "max_residual", "max_travel", "hold_s", "talk_window_s"):
            value = getattr(self, name)
            if not np.isfinite(value) or value <= 0:
                raise ValueError(f"spotter {name} must be a finite number > 0, got {value}")
        if not np.isfinite(self.threshold) or self.threshold < 0:   # 0: every motion that opened counts
            raise ValueError(f"spotting threshold must be a finite number >= 0, got {self.threshold}")
        if not np.isfinite(self.prior_noise) or self.prior_noise < 0:
            raise ValueError(f"spotter prior_noise must be a finite number >= 0, got {self.prior_noise}")
        if self.size < 24:
            raise ValueError(f"spotter size must be >= 24 pixels, got {self.size}")
        if self.max_macro_s < self.max_micro_s:
            raise ValueError("spotter max_macro_s must be >= max_micro_s")


@dataclass(frozen=True)
class Segment:
    """A closed stretch of facial motion and what it was judged to be."""

    start: float                    # stream seconds, first frame of the motion
    end: float                      # stream seconds, exclusive (one frame period after the last frame)
    kind: str                       # "micro" | "macro" | "noise" | "head" | "blink" | "talk" | "long"
    peak_score: float               # peak displacement / the region's noise
    peak_px: float                  # peak region displacement in pixels of a 64-px crop
    region: str                     # the region that moved most
    reported_at: float              # stream seconds when the segment was decided
    detail: dict = dataclasses.field(default_factory=dict, compare=False)   # per-group peaks, directions

    @property
    def reported(self) -> bool:
        return self.kind in REPORTED_KINDS


@dataclass
class _Candidate:
    """A measured burst (or a held burst and its release), before its kind is decided."""

    start: float
    end: float
    base: np.ndarray                # (R, 2) displacement at the base frame
    base_position: np.ndarray       # (2,) the head's position there
    peak: float
    peak_px: float
    region: int
    lead: str
    groups: dict
    eye_dy: float
    brow_dy: float
    swings: int
    returned: bool
    travel: float                   # how far the head went from where it was at the base (64-px crop pixels)
    decide_at: float = 0.0
    parts: dict = dataclasses.field(default_factory=dict)   # group -> _Part: its own motion inside the burst


@dataclass(frozen=True)
class _Part:
    """One group's own motion inside a burst: where it rose and came to rest, measured on that group alone."""

    start: float
    end: float
    peak: float
    region: int
    peak_px: float
    swings: int
    with_speech: float              # correlation of its motion with the mouth's and jaw's over its span
    lids_down: bool                 # the eyelids went down as in a blink (`RegionSpotter._lids_down`)


def _came_to_rest(moved: np.ndarray, scale: np.ndarray, after: int, edge: float, hold: int) -> int | None:
    """The first frame from `after` on from which the regions (moved (T, R, 2), noise scale (R,)) stay within
    `edge` (robust z) of where they are for `hold` frames: the motion stopped, back or not."""
    for k in range(after, len(moved) - hold):
        ahead = moved[k + 1:k + hold + 1] - moved[k]
        if (np.hypot(ahead[..., 0], ahead[..., 1]) / scale).max() < edge:
            return k
    return None


def _lid_and_brow_dy(moved_at: np.ndarray) -> tuple[float, float]:
    """How far the eyelids and the brows went down (pixels, mean over each group) in one frame's (R, 2)
    displacement: what tells a blink from a brow motion."""
    return float(moved_at[GROUP_MEMBERS["eyes"], 1].mean()), float(moved_at[GROUP_MEMBERS["brows"], 1].mean())


def _swings(envelope: np.ndarray, level: float) -> int:
    """How many separate times the envelope rises above `level` (talking opens the mouth again and again)."""
    above = envelope >= level
    return int(np.count_nonzero(above[1:] & ~above[:-1]) + int(above[0]))


class RegionSpotter:
    """Feed it every face crop in order with `push`; it returns the segments just decided."""

    def __init__(self, config: SpotterConfig | None = None):
        self.config = config or SpotterConfig()
        cfg = self.config
        self.motion = FaceMotion(cfg.size, rigid=cfg.rigid)
        # a `threshold` below the default opens bursts earlier in proportion (never below a z of 1: that is
        # every other quiet frame); `open_threshold` itself always bounds it
        default = SpotterConfig.threshold
        self._open_at = cfg.open_threshold * min(1.0, max(cfg.threshold, 1.0) / default)
        self._px = 64.0 / cfg.size                       # pixels of the spotter's crop -> of a 64-px crop
        self._keep_s = cfg.max_macro_s + cfg.hold_s + cfg.quiet_s + 2 * cfg.lag_s + 1.0
        self._history: collections.deque = collections.deque()     # group motions (G,) of quiet frames
        self._noise_cache: tuple[np.ndarray, np.ndarray] | None = None
        self._landmarks: np.ndarray | None = None          # in the reference's coordinates
        self._coupling = np.zeros((len(REGION_NAMES), 2, 2))  # region motion per head motion (see _learn_coupling)
        self._coupling_x: collections.deque = collections.deque(maxlen=COUPLING_FRAMES)
        self._coupling_y: collections.deque = collections.deque(maxlen=COUPLING_FRAMES)
        self._coupling_due = 0
        self._recent: collections.deque = collections.deque()      # (start, end, lead) of recent bursts
        self._pending: list[_Candidate] = []               # decided but for the talk check
        self._outbox: list[Segment] = []
        self._last_end = -np.inf
        self.state = "settling"
        self.activity = 0.0             # the latest frame's largest robust z over the groups
        self.group_activity = np.zeros(len(GROUP_MEMBERS))   # each group's robust z (REGION_GROUPS order)
        self.head_shift = 0.0           # how far the head moved over `lag_s` (pixels of a 64-px crop)
        self.residual = 0.0             # the registration's residual on the latest frame
        self._restart()

    # ------------------------------------------------------------------ state
    def reset(self, keep_baseline: bool = False) -> None:
        """A new crop box: register afresh and forget any open burst (it is never reported). The noise
        baseline is kept when the same face was only re-anchored (`keep_baseline`), and starts cold for a
        new face: then its noise is taken from `prior_noise` (or, without one, nothing is a candidate) for
        `min_baseline_s`."""
        if not keep_baseline:
            self._history.clear()
            self._noise_cache = None
            self._landmarks = None
            self.motion.set_landmarks(None)
            self._coupling[:] = 0.0
            self._coupling_x.clear()
            self._coupling_y.clear()
        if self._held is not None:               # measured already: decided alone
            self._consider(self._held, self._held.end)
        self._outbox += [s for c in self._pending for s in self._decide_all(c, c.decide_at)]
        self._pending = []
        self.activity = 0.0
        self.head_shift = 0.0
        self._restart()

    def _restart(self) -> None:
        """Register afresh from the next frame on: no reference, no stored motion, no open burst."""
        self._reference: np.ndarray | None = None
        self._reference_t = -np.inf
        self._transform = IDENTITY.copy()
        self._previous = IDENTITY.copy()            # the transform of the frame before
        self._times: list[float] = []
        self._shifts: list[np.ndarray] = []             # (R, 2) region displacements since the reference
        self._positions: list[np.ndarray] = []          # (2,) the head's position (64-px crop pixels)
        self._origin = np.zeros(2)                      # the head's position at the reference
        self._bad_since: float | None = None
        self._burst_from: int | None = None             # index of the open burst's base frame
        self._quiet_since: float | None = None
        self._held: _Candidate | None = None
        self._displacement = 0.0

    @property
    def active(self) -> bool:
        """Motion is open or held (a crop box change now would lose it)."""
        return self._burst_from is not None or self._held is not None

    @property
    def ready(self) -> bool:
        """Enough quiet frames (`min_baseline_s` of them) are known for a baseline."""
        return len(self._history) * self._period() >= self.config.min_baseline_s - 1e-9

    @property
    def score(self) -> float:
        """What to plot against `config.threshold`: while motion is open, how far the face is from its
        base (robust z); otherwise the activity."""
        return self._displacement if self._burst_from is not None else self.activity

    def set_landmarks(self, landmarks_px: np.ndarray | None) -> None:
        """Five landmarks in pixels of the spotter's crop (`config.size`) now; the regions move to them when
        the reference is next renewed (a burst is measured in one set of regions)."""
        if landmarks_px is None:
            self._landmarks = None
            return
        points = np.asarray(landmarks_px, np.float64).reshape(5, 2)
        self._landmarks = unmap_points(self._transform, points) if self._reference is not None else points
        if self._reference is None:
            self._place_regions()

    def _place_regions(self) -> None:
        try:
            self.motion.set_landmarks(self._landmarks)
        except ValueError:              # degenerate landmarks: a frontal face's layout instead
            self.motion.set_landmarks(None)

    # ------------------------------------------------------------------ per frame
    def push(self, t: float, gray: np.ndarray) -> list[Segment]:
        """One normalised gray crop (face_motion.normalised_gray) at stream time `t`; the segments decided."""
        cfg = self.config
        if self._times and t <= self._times[-1]:
            raise ValueError(f"spotter timestamps must increase: {t} s came after {self._times[-1]} s")
        if gray.shape != (cfg.size, cfg.size):
            raise ValueError(f"the spotter takes {cfg.size}x{cfg.size} gray crops (its `size`), got shape {gray.shape}: "
                             f"make them with face_motion.normalised_gray(crop, {cfg.size})")
        out, self._outbox = self._outbox, []
        if self._reference is None:
            self._anchor(t, gray)
            self._store(t, np.zeros((len(REGION_NAMES), 2)))
            self.state = "settling"
            return out + self._due(t)
        # the head keeps its pace from frame to frame: the last frame's motion, applied again, predicts this
        # one (the flow then only has to find what changed, where Farneback is most exact)
        velocity = compose(self._transform, invert(self._previous))
        registered = self.motion.register(self._reference, gray, compose(velocity, self._transform))
        centre = np.array([[cfg.size / 2, cfg.size / 2]])
        step = float(np.hypot(*(map_points(registered.transform, centre) - map_points(self._transform, centre))[0]))
        step *= self._px
        self.residual = registered.residual * self._px
        self._previous, self._transform = self._transform, registered.transform
        if self.residual > cfg.max_residual:
            self._bad_since = t if self._bad_since is None else self._bad_since
        else:
            self._bad_since = None
        if step > cfg.max_head_step:
            return out + self._pause(t, gray, "paused-motion")
        if self.residual > 3 * cfg.max_residual or (self._bad_since is not None
                                                       and t - self._bad_since >= cfg.max_micro_s):
            return out + self._pause(t, gray, "paused-registration")
        self._store(t, registered.vectors * self._px)
        out += self._watch(t)
        if (self._burst_from is None and self._held is None and t - self._reference_t >= cfg.reanchor_s
                and self._bad_since is None):
            self._renew(t, gray)
        return out + self._due(t)

    def flush(self, t: float) -> list[Segment]:
        """End of stream: a held burst is decided alone, pending ones are decided; an open one is dropped."""
        out, self._outbox = self._outbox, []
        if self._held is not None:
            self._consider(self._held, t)
            self._held = None
        out += [s for c in self._pending for s in self._decide_all(c, t)]
        self._pending = []
        self._burst_from = None
        return out

    # ------------------------------------------------------------------ registration
    def _anchor(self, t: float, gray: np.ndarray) -> None:
        """This frame becomes the reference; the head's position carries over."""
        velocity = compose(self._transform, invert(self._previous))
        self._reference = gray
        self._reference_t = t
        self._transform = IDENTITY.copy()
        self._previous = invert(velocity)
        if self._positions:
            self._origin = self._positions[-1].copy()

    def _renew(self, t: float, gray: np.ndarray) -> None:
        """A new reference (the current frame): stored displacements are re-expressed against it, and the
        regions move to the latest landmarks, so a slow drift never carries the regions off the features."""
        if self._landmarks is not None:
            self._landmarks = map_points(self._transform, self._landmarks)
        now = self._shifts[-1].copy()
        self._shifts = [s - now for s in self._shifts]
        self._anchor(t, gray)
        self._place_regions()

    def _pause(self, t: float, gray: np.ndarray, why: str) -> list[Segment]:
        """Motion that registration cannot undo: drop what is open, register afresh from this frame."""
        self.state = why
        self.activity = 0.0
        if self._held is not None:               # its release could not be watched: decided alone
            self._consider(self._held, t)
        if self._landmarks is not None:
            self._landmarks = map_points(self._transform, self._landmarks)
        position = self._positions[-1].copy() if self._positions else self._origin
        self._restart()
        self._origin = position
        self._anchor(t, gray)
        self._place_regions()
        return []

    def _store(self, t: float, shifts: np.ndarray) -> None:
        centre = np.array([[self.config.size / 2, self.config.size / 2]])
        position = self._origin + (map_points(self._transform, centre)[0] - centre[0]) * self._px
        self._times.append(t)
        self._shifts.append(shifts)
        self._positions.append(position)
        drop = bisect.bisect_left(self._times, t - self._keep_s)
        if self._burst_from is not None:
            drop = min(drop, self._burst_from)
        if drop > 64:                            # trimmed in blocks: amortised linear time
            del self._times[:drop], self._shifts[:drop], self._positions[:drop]
            if self._burst_from is not None:
                self._burst_from -= drop

    def _index_before(self, t: float) -> int | None:
        """The newest stored frame at or before time t (None if there is none)."""
        i = bisect.bisect_right(self._times, t + 1e-9) - 1
        return i if i >= 0 else None

    # ------------------------------------------------------------------ bursts
    def _watch(self, t: float) -> list[Segment]:
        cfg = self.config
        lagged = self._index_before(t - cfg.lag_s)
        now = len(self._times) - 1
        if lagged is None:
            self.state = "settling"
            self.activity = 0.0
            return []
        self.head_shift = float(np.hypot(*(self._positions[now] - self._positions[lagged])))
        step = self._positions[now] - self._positions[lagged]
        change = self._shifts[now] - self._shifts[lagged]                                   # (R, 2)
        motion = np.hypot(*(change - self._coupling @ step).T)                               # (R,)
        groups = np.array([motion[members].max() for members in GROUP_MEMBERS.values()])    # (G,)
        noise = self._noise()
        self.group_activity = (groups - noise[0]) / noise[1] if noise is not None else np.zeros(len(groups))
        self.activity = float(np.max(self.group_activity)) if noise is not None else 0.0
        settling = noise is None or (not self.ready and self.config.prior_noise <= 0)
        self.state = "settling" if settling else "watching"
        out: list[Segment] = []
        if self._burst_from is not None:
            out += self._follow(t)
        elif not settling and self.activity > self._open_at:
            base = self._index_before(self._times[lagged] - 1e-6)
            self._burst_from = lagged if base is None else base
            self._quiet_since = None
        else:
            if self.activity <= self._open_at:
                self._history.append(groups)
                self._noise_cache = None
                self._learn_coupling(step, change)
                while len(self._history) * self._period() > cfg.baseline_s:
                    self._history.popleft()
            if self._held is not None and t - self._held.end > cfg.hold_s:      # nothing brought it back
                self._consider(self._held, t)
                self._held = None
        return out

    def _follow(self, t: float) -> list[Segment]:
        """An open burst: measure how far the face is from its base; end it once quiet for `quiet_s`."""
        cfg = self.config
        scale = self._scale()
        base = self._shifts[self._burst_from]
        self._displacement = float(np.max(np.hypot(*(self._shifts[-1] - base).T) / scale))
        if self.activity < self._open_at / 2:
            self._quiet_since = t if self._quiet_since is None else self._quiet_since
        else:
            self._quiet_since = None
        if self._quiet_since is not None and t - self._quiet_since >= cfg.quiet_s:
            self._end_burst(t)
        elif t - self._times[self._burst_from] > cfg.max_macro_s + cfg.quiet_s:
            candidate = self._measure(self._burst_from, len(self._times) - 1)
            self._burst_from = None
            candidate.returned = True               # never held: it is long already
            self._consider(candidate, t)
        return []

    def _end_burst(self, t: float) -> None:
        first = self._burst_from
        self._burst_from = None
        candidate = self._measure(first, len(self._times) - 1)
        self._recent.append((candidate.start, candidate.end, candidate.lead))
        while self._recent and self._recent[0][1] < t - 2 * self.config.talk_window_s - self.config.max_macro_s:
            self._recent.popleft()
        held = self._held
        if held is not None:
            self._held = None
            scale = self._scale()
            left = self._shifts[-1] - held.base - self._coupling @ (self._positions[-1] - held.base_position)
            members = GROUP_MEMBERS[held.lead]                     # where the held motion was
            back = float(np.max(np.hypot(*left[members].T) / scale[members]))
            if candidate.lead == held.lead and back <= self.config.return_fraction * held.peak:
                # this burst, where the held one was, brought the face back: one expression, held and let go
                merged = dataclasses.replace(held, end=candidate.end, peak=max(held.peak, candidate.peak),
                                             swings=held.swings + candidate.swings, returned=True,
                                             travel=max(held.travel, candidate.travel))
                self._consider(merged, t)
                return
            self._consider(held, t)
        if candidate.returned or candidate.peak < self.config.threshold:
            self._consider(candidate, t)
        else:
            self._held = candidate

    def _measure(self, first: int, last: int) -> _Candidate:
        """Onset, offset, peak and what moved, from the displacement since the base frame `first`."""
        cfg = self.config
        times = np.asarray(self._times[first:last + 1])
        shifts = np.stack(self._shifts[first:last + 1])                    # (T, R, 2)
        scale = self._scale()
        travel = np.stack(self._positions[first:last + 1]) - self._positions[first]      # (T, 2)
        moved = shifts - shifts[0] - np.einsum("rij,tj->tri", self._coupling, travel)
        z = np.hypot(moved[..., 0], moved[..., 1]) / scale                  # (T, R)
        envelope = z.max(axis=1)
        peak = float(envelope.max())
        at_peak = int(np.argmax(envelope))
        settled = (np.hypot(*(shifts - shifts[-1]).transpose(2, 0, 1)) / scale).max(axis=1)
        period = float(np.median(np.diff(times))) if len(times) > 1 else cfg.lag_s
        edge = self._edge(peak)
        hold = max(1, round(cfg.quiet_s / period))
        rising = np.flatnonzero(envelope >= edge)
        moving = np.flatnonzero(settled >= edge)
        start = float(times[rising[0]]) if len(rising) else float(times[0])
        end = float(times[moving[-1]]) + period if len(moving) else float(times[-1])
        end = max(end, float(times[at_peak]) + period)
        rest = _came_to_rest(moved, scale, at_peak, edge, hold)
        if rest is not None:                     # a face that does not come back ends where it stopped
            end = min(end, float(times[rest]) + period)
        peaks = z.max(axis=0)
        groups = {g: float(peaks[members].max()) for g, members in GROUP_MEMBERS.items()}
        region = int(np.argmax(peaks))
        parts = {g: self._part(times, moved, z, scale, members, period, hold) for g, members in GROUP_MEMBERS.items()
                 if g in OWN_GROUPS and groups[g] >= cfg.threshold}
        eye_dy, brow_dy = _lid_and_brow_dy(moved[at_peak])
        return _Candidate(start=start, end=end, base=shifts[0].copy(), base_position=self._positions[first].copy(),
                          peak=peak, peak_px=float(np.hypot(*moved[:, region].T).max()), region=region,
                          lead=max(groups, key=groups.get), groups=groups, eye_dy=eye_dy, brow_dy=brow_dy,
                          swings=_swings(envelope, 0.5 * peak),
                          returned=bool(envelope[-1] <= cfg.return_fraction * peak),
                          travel=float(np.hypot(*travel.T).max()), parts=parts)

    def _part(self, times: np.ndarray, moved: np.ndarray, z: np.ndarray, scale: np.ndarray, members: list,
              period: float, hold: int) -> _Part:
        """A group's own rise and rest inside a burst: from where its displacement passed the edge before its
        peak to where it stayed within the edge for `quiet_s` after it (the rest of the burst, speech say,
        does not stretch it)."""
        envelope = z[:, members].max(axis=1)
        at_peak = int(np.argmax(envelope))
        peak = float(envelope[at_peak])
        edge = self._edge(peak)
        below = np.flatnonzero(envelope[:at_peak + 1] < edge)
        first = int(below[-1]) + 1 if len(below) else 0
        rest = _came_to_rest(moved[:, members], scale[members], at_peak, edge, hold)
        last = len(times) - 1 if rest is None else rest
        region = int(members[int(np.argmax(z[at_peak, members]))])
        speech = z[first:last + 1, SPEECH_MEMBERS].max(axis=1)
        own = envelope[first:last + 1]
        coupled = 0.0
        if len(own) >= 3 and own.std() > 0 and speech.std() > 0:
            coupled = float(np.corrcoef(own, speech)[0, 1])
        return _Part(start=float(times[first]), end=float(times[last]) + period, peak=peak, region=region,
                     peak_px=float(np.hypot(*moved[first:last + 1, region].T).max()),
                     swings=_swings(envelope[first:last + 1], 0.5 * peak), with_speech=coupled,
                     lids_down=self._lids_down(*_lid_and_brow_dy(moved[at_peak])))

    def _edge(self, peak: float) -> float:
        """Where a motion of this peak (robust z) starts and stops: `edge_fraction` of it, never under the
        noise of a quiet frame (EDGE_NOISE_Z) unless the peak itself is that small."""
        return max(self.config.edge_fraction * peak, min(EDGE_NOISE_Z, 0.5 * peak))

    def _lids_down(self, eye_dy: float, brow_dy: float) -> bool:
        """The eyelids went down, `blink_ratio` times more than the brows: a blink's shape."""
        return eye_dy > 0 and eye_dy >= self.config.blink_ratio * max(brow_dy, 0.0)

    def _consider(self, candidate: _Candidate, t: float) -> None:
        """Queue a measured candidate. Mouth- or jaw-led motion waits `talk_window_s / 2` to see whether
        speech follows; the rest is due now, but still waits behind earlier ones (events come in order)."""
        candidate.decide_at = t
        if candidate.lead in SPEECH_GROUPS and candidate.peak >= self.config.threshold:
            candidate.decide_at = max(t, candidate.end + self.config.talk_window_s / 2)
        self._pending.append(candidate)

    def _due(self, t: float) -> list[Segment]:
        out, self._outbox = self._outbox, []
        while self._pending and self._pending[0].decide_at <= t and not self._holds_speech(self._pending[0]):
            out += self._decide_all(self._pending.pop(0), t)
        return out

    def _holds_speech(self, candidate: _Candidate) -> bool:
        """A burst that began within the window is still open: wait for it to be measured."""
        return self._burst_from is not None and self._times[self._burst_from] <= candidate.end + self.config.talk_window_s / 2

    def _speech_around(self, candidate: _Candidate) -> int:
        half = self.config.talk_window_s / 2
        return sum(1 for start, end, lead in self._recent
                   if lead in SPEECH_GROUPS and end > candidate.start - half and start < candidate.end + half
                   and not (start >= candidate.start and end <= candidate.end))

    def _decide_all(self, c: _Candidate, t: float) -> list[Segment]:
        """The burst's segment and, when the burst as a whole was talking, too long, or a mouth-led
        macro-expression, each brow, eye or nose motion inside it that was a micro-expression on its own and
        did not move in step with the mouth and jaw: the brows can rise briefly while the mouth talks, and
        that rise is lost if the burst is judged only as one."""
        segment = self._decide(c, t)
        if segment.kind not in ("talk", "long") and not (segment.kind == "macro" and c.lead in SPEECH_GROUPS):
            return [segment]
        cfg = self.config
        own: list[tuple[str, _Part]] = []
        for group, part in sorted(c.parts.items(), key=lambda item: item[1].start):
            duration = part.end - part.start
            blink = group == "eyes" and part.lids_down
            if (duration > cfg.max_micro_s or part.swings >= cfg.talk_swings or blink
                    or part.with_speech >= SPEECH_COUPLED):
                continue
            if own and part.start < own[-1][1].end:     # overlapping parts are one motion (a brow raise lifts
                group, part = max(own.pop(), (group, part), key=lambda gp: gp[1].peak)   # the lids): the stronger
            own.append((group, part))
        out = [segment]
        for group, part in own:
            start = max(part.start, self._last_end)
            if start >= part.end:
                continue
            self._last_end = part.end
            out.append(Segment(start=start, end=part.end, kind="micro", peak_score=part.peak,
                               peak_px=part.peak_px, region=REGION_NAMES[part.region], reported_at=t,
                               detail={"within": segment.kind, "group": group, "swings": part.swings}))
        return out

    def _decide(self, c: _Candidate, t: float) -> Segment:
        cfg = self.config
        duration = c.end - c.start
        below_brows = max(v for g, v in c.groups.items() if g not in ("eyes", "brows"))
        if c.peak < cfg.threshold:
            kind = "noise"
        elif c.travel > cfg.max_travel:
            kind = "head"
        elif duration <= cfg.max_micro_s and c.groups["eyes"] >= below_brows and self._lids_down(c.eye_dy, c.brow_dy):
            kind = "blink"
        elif (c.lead == "jaw" or c.swings >= cfg.talk_swings
              or (c.lead in SPEECH_GROUPS and self._speech_around(c) >= cfg.talk_openings)):
            kind = "talk"
        elif duration <= cfg.max_micro_s:
            kind = "micro"
        elif duration <= cfg.max_macro_s:
            kind = "macro"
        else:
            kind = "long"
        start = c.start
        if kind in REPORTED_KINDS:
            start = max(start, self._last_end)
            if start >= c.end:                       # wholly inside the last reported segment
                kind = "noise"
                start = c.start
            else:
                self._last_end = c.end
        detail = {**{g: round(v, 1) for g, v in c.groups.items()}, "eye_dy": round(c.eye_dy, 2),
                  "brow_dy": round(c.brow_dy, 2), "swings": c.swings, "lead": c.lead, "returned": c.returned}
        return Segment(start=start, end=c.end, kind=kind, peak_score=c.peak, peak_px=c.peak_px,
                       region=REGION_NAMES[c.region], reported_at=t, detail=detail)

    # ------------------------------------------------------------------ noise
    def _learn_coupling(self, step: np.ndarray, change: np.ndarray) -> None:
        """Learn, on quiet frames, how much each region seems to move when the head moves (ridge least
        squares of its lag motion on the head's): a face is not flat, so a head turn or sway shifts the
        nose against the cheeks, and resampling a moving face leaves a bias the affine fit cannot take.
        That part is then taken off every region's motion."""
        self._coupling_x.append(step)
        self._coupling_y.append(change.reshape(-1))
        self._coupling_due -= 1
        if self._coupling_due > 0 or len(self._coupling_x) < 10:
            return
        self._coupling_due = COUPLING_EVERY
        x = np.stack(self._coupling_x)                                  # (N, 2)
        y = np.stack(self._coupling_y)                                  # (N, R * 2)
        gram = x.T @ x + len(x) * COUPLING_RIDGE_PX ** 2 * np.eye(2)
        solved = np.linalg.solve(gram, x.T @ y)                          # (2, R * 2)
        self._coupling = solved.T.reshape(len(REGION_NAMES), 2, 2)


    def _period(self) -> float:
        """The stream's frame period (from the stored frames' span)."""
        if len(self._times) < 2:
            return self.config.lag_s
        return (self._times[-1] - self._times[0]) / (len(self._times) - 1)

    def _noise(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(median, robust spread + floor) of each group's quiet motion (kept until the history changes); before
        `min_baseline_s` of it is known, never under `prior_noise` (None without a prior and 3 quiet frames)."""
        if self._noise_cache is None:
            measured = None
            if len(self._history) >= 3:
                values = np.stack(self._history)
                median = np.median(values, axis=0)
                measured = (median, 1.4826 * np.median(np.abs(values - median), axis=0) + self.config.floor)
            self._noise_cache = measured if self.ready else self._with_prior(measured)
        return self._noise_cache

    def _with_prior(self, measured: tuple[np.ndarray, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray] | None:
        cfg = self.config
        if cfg.prior_noise <= 0:
            return measured
        level = np.full(len(GROUP_MEMBERS), cfg.prior_noise * cfg.lag_s / 0.1)
        if measured is None:
            return level, level + cfg.floor
        return np.maximum(measured[0], level), np.maximum(measured[1], level + cfg.floor)

    def _scale(self) -> np.ndarray:
        """Per-region noise of a displacement: its group's quiet motion median + spread."""
        noise = self._noise()
        if noise is None:
            return np.full(len(REGION_NAMES), self.config.floor)
        per_group = noise[0] + noise[1]
        scale = np.empty(len(REGION_NAMES))
        for g, members in enumerate(GROUP_MEMBERS.values()):
            scale[members] = per_group[g]
        return scale
