"""Scores of one finished video, from its stored result (runner.video_result): the MEGC matches per type,
the delay of each matched event, and the false events (with those that fell on an annotated blink).

Working from the stored result, never from the engine, lets a finished run rebuild its report alone, under
any scoring conventions (conventions.py): a type a video does not count for has empty matches there.
"""
from __future__ import annotations

import dataclasses

from mer_live.spot_eval.catalog import KINDS
from mer_live.spot_eval.conventions import Conventions
from mer_live.spot_eval.live_metrics import overlaps_any
from mer_live.spot_eval.scoring import Counts, TypeMatch, score_any_type, score_video


@dataclasses.dataclass(frozen=True)
class VideoEvaluation:
    video_id: str
    duration_s: float
    matches: dict[str, TypeMatch]           # per kind
    delays_s: dict[str, list[float]]        # per kind: reported_at - annotated offset time, per matched event
    matched_events: frozenset[int]          # indices into result["events"] that are true positives
    matched_annotations: frozenset[int]     # indices into result["annotations"]
    false_on_blinks: int                    # false micro events that overlap an annotated blink
    scored_kinds: tuple[str, ...] = KINDS   # the types this video counts for under the conventions
    any_type: Counts = Counts()             # predictions of the scored types against all scored annotations,
                                            # matched whatever their types


def evaluate_video(result: dict, conventions: Conventions = Conventions()) -> VideoEvaluation:
    events, annotations = result["events"], result["annotations"]
    scored = conventions.annotations(annotations)
    kinds = conventions.scored_kinds(KINDS, [a for _, a in scored])
    predicted = [(e["onset"], e["offset"], e["kind"]) for e in events]
    annotated = [(a["onset"], a["offset"], a["kind"]) for _, a in scored]
    matches = score_video(predicted, annotated, kinds)
    any_type = score_any_type([p for p in predicted if p[2] in kinds], [a for a in annotated if a[2] in kinds])
    delays: dict[str, list[float]] = {kind: [] for kind in KINDS}
    matched_events: set[int] = set()
    matched_annotations: set[int] = set()
    for kind in KINDS:
        if kind not in kinds:
            matches[kind] = TypeMatch(Counts(), ())
            continue
        event_ids = [i for i, e in enumerate(events) if e["kind"] == kind]
        annotation_ids = [i for i, a in scored if a["kind"] == kind]
        for p, t in matches[kind].pairs:
            event, annotation = events[event_ids[p]], annotations[annotation_ids[t]]
            delays[kind].append(event["reported_at_s"] - annotation["offset_s"])
            matched_events.add(event_ids[p])
            matched_annotations.add(annotation_ids[t])
    blinks = [(b["onset"], b["offset"]) for b in result.get("blinks", [])]
    on_blinks = sum(1 for i, e in enumerate(events) if e["kind"] == "micro" and "micro" in kinds
                    and i not in matched_events and overlaps_any((e["onset"], e["offset"]), blinks))
    return VideoEvaluation(video_id=result["video_id"], duration_s=result["duration_s"], matches=matches,
                           delays_s=delays, matched_events=frozenset(matched_events),
                           matched_annotations=frozenset(matched_annotations), false_on_blinks=on_blinks,
                           scored_kinds=kinds, any_type=any_type.counts)
