"""Annotations the spotter's type rules can never match, and the recall a perfect detector would reach.

The region spotter calls a segment "micro" when it lasts at most `max_micro_s`, "macro" when it lasts more
than that and at most `max_macro_s`, and reports nothing longer. Real annotations do not keep to those
limits (CAS(ME)^3 part A codes most micro-expressions longer than 0.5 s; SAMM Long Videos has macro
intervals over 4 s), and an annotation outside its type's limits cannot be a true positive whatever the
spotter sees, so the report counts them per dataset and type rather than letting them read as misses.

An annotation lasts (offset - onset + 1) / fps seconds: frames are counted inclusively, as the scoring does.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

from mer_live.spot_eval.catalog import KINDS
from mer_live.spot_eval.conventions import Conventions

_EPS_S = 1e-9           # 15 frames at 30 fps is 0.5 s, not a hair over it


@dataclasses.dataclass(frozen=True)
class TypeLimits:
    """The durations (seconds) the spotter gives each type: micro <= max_micro_s < macro <= max_macro_s."""

    max_micro_s: float = 0.5
    max_macro_s: float = 4.0

    @classmethod
    def from_engine(cls, engine: dict | None) -> "TypeLimits | None":
        """The limits of a run's engine settings (runner.engine_settings); None for a spotter without them
        (EngineConfig.legacy(), which scores windows and has no type rule)."""
        spotter = (engine or {}).get("spotter") or {}
        if "max_micro_s" not in spotter or "max_macro_s" not in spotter:
            return None
        return cls(float(spotter["max_micro_s"]), float(spotter["max_macro_s"]))

    def why_unmatchable(self, kind: str, frames: int, fps: float) -> str | None:
        """"too long" / "too short" when an annotation of `kind` lasting `frames` frames can never be spotted
        as that type; None when it can (and for kinds the spotter does not type)."""
        seconds = frames / fps
        if kind == "micro":
            return "too long" if seconds > self.max_micro_s + _EPS_S else None
        if kind == "macro":
            if seconds > self.max_macro_s + _EPS_S:
                return "too long"
            if seconds <= self.max_micro_s + _EPS_S:
                return "too short"
        return None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _empty() -> dict:
    return {"annotated": 0, "unmatchable": 0, "too_long": 0, "too_short": 0}


def unmatchable_counts(results: Sequence[dict], limits: TypeLimits,
                       conventions: Conventions = Conventions()) -> dict[str, dict[str, dict]]:
    """{dataset: {kind: {"annotated", "unmatchable", "too_long", "too_short"}}} over the annotations each
    video is scored on under `conventions`, with each video's own fps."""
    out: dict[str, dict[str, dict]] = {}
    for result in results:
        per_kind = out.setdefault(result.get("dataset", "?"), {kind: _empty() for kind in KINDS})
        for _, annotation in conventions.annotations(result["annotations"]):
            kind = annotation["kind"]
            if kind not in per_kind:
                continue
            row = per_kind[kind]
            row["annotated"] += 1
            why = limits.why_unmatchable(kind, annotation["offset"] - annotation["onset"] + 1, result["fps"])
            if why:
                row["unmatchable"] += 1
                row["too_long" if why == "too long" else "too_short"] += 1
    return out


def best_recall(annotated: int, unmatchable: int) -> float:
    """The recall of a detector that finds every annotation its type rules allow; 0 with no annotation."""
    return (annotated - unmatchable) / annotated if annotated else 0.0
