"""Scoring conventions that published long-video figures differ on: each is a switch of `mer-spot`, and the
report prints the one used, so a figure is compared with papers that counted the same way.

- Videos without an annotation of a type (`--type-absent`): "count" (MEGC: every video adds its spotted
  intervals of a type to that type's counts, as false ones when it has no annotation of the type) or
  "skip" (SOFTNet's loader: a type is scored only on the videos that hold an annotation of it).
- Annotations whose onset is not coded (`--onset-missing`; SAMM Long Videos writes onset 0 in 10 macro rows):
  "apex" (the public MEGC loaders: scored as [apex, offset]) or "drop" (SOFTNet: left out).

Both act on the stored per-video results, so a finished run's report is rebuilt under another convention
without running the engine again.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

TYPE_ABSENT = {"count": "counted (their spotted intervals of that type are false positives; MEGC)",
               "skip": "left out of that type's counts (SOFTNet's loader)"}
ONSET_MISSING = {"apex": "kept as [apex, offset] (the public MEGC loaders)",
                 "drop": "left out (SOFTNet)"}


@dataclasses.dataclass(frozen=True)
class Conventions:
    type_absent: str = "count"      # a key of TYPE_ABSENT
    onset_missing: str = "apex"     # a key of ONSET_MISSING

    def __post_init__(self):
        if self.type_absent not in TYPE_ABSENT:
            raise ValueError(f"type_absent must be one of {sorted(TYPE_ABSENT)}, not {self.type_absent!r}")
        if self.onset_missing not in ONSET_MISSING:
            raise ValueError(f"onset_missing must be one of {sorted(ONSET_MISSING)}, not {self.onset_missing!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def describe(self) -> list[str]:
        """One line per convention, as the report prints them (with the option that sets it)."""
        return [f"videos with no annotation of the scored type: {TYPE_ABSENT[self.type_absent]} "
                f"(`--type-absent {self.type_absent}`)",
                f"annotations whose onset is not coded (SAMM Long Videos' onset 0): "
                f"{ONSET_MISSING[self.onset_missing]} (`--onset-missing {self.onset_missing}`)"]

    def annotations(self, annotations: Sequence[dict]) -> list[tuple[int, dict]]:
        """(index, annotation) of the stored annotations that are scored under these conventions."""
        return [(i, a) for i, a in enumerate(annotations)
                if not (self.onset_missing == "drop" and "onset" in a.get("filled", ()))]

    def scored_kinds(self, kinds: Sequence[str], annotations: Sequence[dict]) -> tuple[str, ...]:
        """The types a video counts for, given its scored annotations."""
        if self.type_absent == "count":
            return tuple(kinds)
        present = {a["kind"] for a in annotations}
        return tuple(k for k in kinds if k in present)


def records_filled(results: Sequence[dict]) -> bool:
    """Whether the stored results record which bounds the reader took from the apex (results written before
    mer-spot did have no "filled" key, so `--onset-missing drop` cannot tell which rows to leave out)."""
    return all("filled" in a for r in results for a in r.get("annotations", ()))
