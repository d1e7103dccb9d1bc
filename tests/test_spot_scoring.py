"""MEGC scoring of spotted intervals, and the live figures no published spotter reports (delays, false
events per minute), on hand-made intervals."""
from __future__ import annotations

import pytest

from mer_live.spot_eval.conventions import Conventions
from mer_live.spot_eval.evaluation import evaluate_video
from mer_live.spot_eval.live_metrics import delay_stats, per_minute
from mer_live.spot_eval.report import markdown, summarize
from mer_live.spot_eval.scoring import Counts, iou, match, pooled, score_video
from mer_live.spot_eval.type_limits import TypeLimits


def test_iou_counts_frames_inclusively():
    assert iou((10, 19), (15, 24)) == pytest.approx(5 / 15)
    assert iou((10, 19), (10, 19)) == 1.0
    assert iou((10, 19), (20, 29)) == 0.0                 # touching, no shared frame
    assert iou((10, 19), (19, 28)) == pytest.approx(1 / 19)
    assert iou((5, 5), (5, 5)) == 1.0                     # a one-frame interval is one frame, not zero


def test_iou_of_exactly_one_half_is_a_match():
    assert iou((0, 9), (0, 4)) == 0.5
    assert match([(0, 9)], [(0, 4)]) == [(0, 0)]
    assert match([(0, 9)], [(0, 3)]) == []                # 0.4


def test_matching_is_one_to_one():
    # two predictions on one annotation: one true positive, one false
    assert match([(10, 19), (11, 20)], [(10, 19)]) == [(0, 0)]
    counts = score_video([(10, 19, "micro"), (11, 20, "micro")], [(10, 19, "micro")])["micro"].counts
    assert (counts.tp, counts.fp, counts.fn) == (1, 1, 0)
    # one prediction cannot be the true positive of two (overlapping) annotations
    assert len(match([(0, 11)], [(0, 9), (2, 11)])) == 1


def test_matching_takes_the_highest_iou_first():
    # P0 fits both annotations; P1 fits only T0, better than P0 does. Giving T0 to the first prediction
    # that fits would leave T1 unmatched; MEGC's one-to-one count is 2.
    annotated = [(0, 9), (5, 14)]
    predicted = [(3, 12), (0, 9)]
    assert match(predicted, annotated) == [(0, 1), (1, 0)]


def test_matching_is_maximum_where_greedy_is_not():
    # The case: greedy by IoU takes P0-T0 (.905) first and leaves P1 nothing; P0-T1 (.55) and
    # P1-T0 (.81) are both true positives. Overlapping annotations of one type occur in SAMM Long Videos.
    annotated = [(100, 139), (110, 159)]
    predicted = [(102, 141), (98, 133)]
    assert iou(predicted[0], annotated[0]) > iou(predicted[1], annotated[0]) > iou(predicted[0], annotated[1])
    assert match(predicted, annotated) == [(0, 1), (1, 0)]
    counts = score_video([(*p, "macro") for p in predicted], [(*t, "macro") for t in annotated])["macro"].counts
    assert (counts.tp, counts.fp, counts.fn) == (2, 0, 0)


def test_matching_prefers_the_higher_iou_among_equal_counts():
    assert match([(0, 9)], [(1, 10), (0, 9)]) == [(0, 1)]
    assert match([(1, 10), (0, 9)], [(0, 9)]) == [(1, 0)]


def test_matching_count_equals_brute_force_maximum():
    import itertools
    import random

    rng = random.Random(7)
    for _ in range(200):
        def intervals(n):
            out = []
            for _ in range(n):
                onset = rng.randrange(0, 60)
                out.append((onset, onset + rng.randrange(0, 25)))
            return out
        predicted, annotated = intervals(rng.randrange(0, 5)), intervals(rng.randrange(0, 5))
        pairs = match(predicted, annotated)
        assert len({p for p, _ in pairs}) == len({t for _, t in pairs}) == len(pairs)
        assert all(iou(predicted[p], annotated[t]) >= 0.5 for p, t in pairs)
        best = 0
        for size in range(min(len(predicted), len(annotated)), 0, -1):
            if any(all(iou(predicted[p], annotated[t]) >= 0.5 for p, t in zip(ps, ts))
                   for ps in itertools.permutations(range(len(predicted)), size)
                   for ts in itertools.combinations(range(len(annotated)), size)):
                best = size
                break
        assert len(pairs) == best, (predicted, annotated)


def test_types_only_match_their_own_type():
    result = score_video([(100, 160, "micro")], [(100, 160, "macro")])
    assert result["micro"].counts == Counts(annotated=0, predicted=1, tp=0)
    assert result["macro"].counts == Counts(annotated=1, predicted=0, tp=0)


def test_counts_are_pooled_over_videos_before_f1():
    video_a = score_video([(0, 9, "micro")], [(0, 9, "micro")])
    video_b = score_video([(0, 9, "micro"), (50, 59, "micro"), (90, 99, "micro")], [(200, 209, "micro")])
    total = pooled([video_a, video_b])
    micro = total["micro"]
    assert (micro.annotated, micro.predicted, micro.tp) == (2, 4, 1)
    assert micro.precision == pytest.approx(1 / 4)
    assert micro.recall == pytest.approx(1 / 2)
    assert micro.f1 == pytest.approx(2 / 6)               # not the mean of the per-video F1s (0.5)
    assert total["overall"] == total["micro"] + total["macro"]


def test_overall_adds_micro_and_macro():
    video = score_video([(0, 9, "micro"), (100, 160, "macro"), (300, 309, "micro")],
                        [(0, 9, "micro"), (100, 170, "macro"), (400, 470, "macro")])
    total = pooled([video])
    assert total["micro"] == Counts(annotated=1, predicted=2, tp=1)
    assert total["macro"] == Counts(annotated=2, predicted=1, tp=1)
    assert total["overall"] == Counts(annotated=3, predicted=3, tp=2)
    assert total["overall"].f1 == pytest.approx(4 / 6)


def test_f1_is_zero_with_nothing_on_either_side():
    assert Counts().f1 == 0.0 and Counts().precision == 0.0 and Counts().recall == 0.0


def _interval(onset, offset, kind, fps=30.0):
    return {"onset": onset, "offset": offset, "kind": kind, "apex": None, "onset_s": onset / fps,
            "offset_s": offset / fps}


def _event(onset, offset, kind, reported_at_s, fps=30.0):
    return {"onset": onset, "offset": offset, "kind": kind, "start_s": onset / fps, "end_s": offset / fps,
            "reported_at_s": reported_at_s, "label": "", "confidence": 1.0, "peak_score": 3.0}


def _result(video_id, annotations, events, duration_s, blinks=(), fps=30.0, dataset="CASME_SQ"):
    return {"video_id": video_id, "dataset": dataset, "fps": fps, "duration_s": duration_s,
            "annotations": list(annotations),
            "events": list(events), "blinks": list(blinks),
            "engine": {"warning_count": 0, "errors": []}, "wall_s": 1.0}


def test_delay_runs_from_the_true_offset_to_the_report():
    result = _result("v", [_interval(60, 69, "micro"), _interval(300, 400, "macro")],
                     [_event(60, 69, "micro", reported_at_s=69 / 30 + 0.7),
                      _event(300, 395, "macro", reported_at_s=400 / 30 + 1.5),
                      _event(600, 609, "micro", reported_at_s=25.0)], duration_s=30.0)
    evaluation = evaluate_video(result)
    assert evaluation.delays_s["micro"] == [pytest.approx(0.7)]   # the false event at 600 has no delay
    assert evaluation.delays_s["macro"] == [pytest.approx(1.5)]
    stats = delay_stats([0.1, 0.2, 0.3, 0.4, 2.0])
    assert stats["count"] == 5 and stats["median_s"] == pytest.approx(0.3)
    assert stats["p95_s"] == pytest.approx(0.4 + 0.8 * 1.6)       # numpy's linear percentile
    assert delay_stats([]) == {"count": 0, "median_s": None, "p95_s": None}


def test_false_events_per_minute_and_on_blinks_pool_over_videos():
    a = _result("a", [_interval(60, 69, "micro")],
                [_event(60, 69, "micro", 3.0), _event(200, 209, "micro", 7.5), _event(500, 560, "macro", 19.5)],
                duration_s=60.0, blinks=[_interval(205, 212, "blink")])
    b = _result("b", [], [_event(100, 109, "micro", 4.0)], duration_s=60.0)
    summary = summarize([a, b])
    assert summary["false_per_minute"]["micro"] == pytest.approx(2 / 2.0)     # 2 false micro in 2 minutes
    assert summary["false_per_minute"]["overall"] == pytest.approx(3 / 2.0)
    assert summary["false_per_minute"]["macro"] == pytest.approx(1 / 2.0)
    assert summary["blinks"] == {"annotated": 1, "false_micro_on_blinks": 1}
    assert per_minute(3, 0.0) == 0.0
    assert summary["counts"]["micro"]["tp"] == 1 and summary["delay"]["micro"]["count"] == 1


def test_videos_without_the_type_count_or_are_skipped():
    # video b has no micro annotation: MEGC counts its micro event as false; SOFTNet's loader leaves b out
    a = _result("a", [_interval(60, 69, "micro"), _interval(300, 400, "macro")],
                [_event(60, 69, "micro", 3.0), _event(300, 400, "macro", 14.0)], duration_s=60.0)
    b = _result("b", [_interval(100, 200, "macro")],
                [_event(500, 509, "micro", 17.0), _event(100, 200, "macro", 7.0)], duration_s=60.0)
    counted = summarize([a, b])
    assert (counted["counts"]["micro"]["predicted"], counted["counts"]["micro"]["tp"]) == (2, 1)
    assert counted["false_per_minute"]["micro"] == pytest.approx(1 / 2.0)
    skipped = summarize([a, b], Conventions(type_absent="skip"))
    assert (skipped["counts"]["micro"]["predicted"], skipped["counts"]["micro"]["tp"]) == (1, 1)
    assert skipped["counts"]["macro"] == counted["counts"]["macro"]          # both videos have macro
    assert skipped["counts"]["overall"]["predicted"] == 3
    assert skipped["false_per_minute"]["micro"] == 0.0                       # over video a's minute only
    assert skipped["per_video"][1]["scored_kinds"] == ["macro"]
    assert evaluate_video(b, Conventions(type_absent="skip")).scored_kinds == ("macro",)


def test_annotations_without_a_coded_onset_are_kept_or_dropped():
    kept_row = {**_interval(50, 70, "macro"), "filled": ["onset"]}          # SAMM onset 0: [apex, offset]
    other = {**_interval(300, 400, "macro"), "filled": []}
    result = _result("006_1", [kept_row, other], [_event(50, 70, "macro", 3.0), _event(300, 400, "macro", 14.0)],
                     duration_s=60.0)
    kept = summarize([result])["counts"]["macro"]
    assert (kept["annotated"], kept["tp"], kept["fp"]) == (2, 2, 0)
    dropped = summarize([result], Conventions(onset_missing="drop"))["counts"]["macro"]
    assert (dropped["annotated"], dropped["tp"], dropped["fp"]) == (1, 1, 1)
    evaluation = evaluate_video(result, Conventions(onset_missing="drop"))
    assert evaluation.matched_annotations == frozenset({1})                  # indices into the stored list


def test_conventions_are_checked_and_described():
    with pytest.raises(ValueError, match="type_absent"):
        Conventions(type_absent="sometimes")
    lines = Conventions(type_absent="skip", onset_missing="drop").describe()
    assert "--type-absent skip" in lines[0] and "SOFTNet" in lines[0]
    assert "--onset-missing drop" in lines[1] and "onset 0" in lines[1]


def test_annotations_the_type_rules_cannot_match_are_counted_per_dataset_and_type():
    # 30 fps: a micro of 15 frames is 0.5 s (allowed), of 16 frames 0.53 s (CAS(ME)^2's case: too long); a
    # macro of 15 frames is not longer than 0.5 s (too short), of 121 frames is over 4 s (too long)
    casme = _result("a", [_interval(0, 14, "micro"), _interval(100, 115, "micro"), _interval(200, 214, "macro"),
                          _interval(300, 315, "macro"), _interval(400, 519, "macro"), _interval(600, 720, "macro")],
                    [_event(0, 14, "micro", 1.0), _event(300, 315, "macro", 11.0)], duration_s=30.0)
    # 200 fps (SAMM): 100 frames are 0.5 s, 101 are not; 801 frames are over 4 s
    samm = _result("b", [_interval(0, 99, "micro", 200.0), _interval(500, 600, "micro", 200.0),
                         _interval(1000, 1800, "macro", 200.0)], [], duration_s=30.0, fps=200.0,
                   dataset="SAMM_LV")
    limits = summarize([casme, samm], limits=TypeLimits(0.5, 4.0))["type_limits"]
    assert (limits["max_micro_s"], limits["max_macro_s"]) == (0.5, 4.0)
    micro, macro = limits["datasets"]["CASME_SQ"]["micro"], limits["datasets"]["CASME_SQ"]["macro"]
    assert (micro["annotated"], micro["unmatchable"], micro["too_long"]) == (2, 1, 1)
    assert (macro["annotated"], macro["unmatchable"], macro["too_long"], macro["too_short"]) == (4, 2, 1, 1)
    assert micro["best_recall"] == pytest.approx(1 / 2) and micro["recall"] == pytest.approx(1 / 2)
    assert macro["best_recall"] == pytest.approx(2 / 4) and macro["recall"] == pytest.approx(1 / 4)
    both = limits["datasets"]["CASME_SQ"]["all"]
    assert (both["annotated"], both["unmatchable"], both["best_recall"]) == (6, 3, pytest.approx(1 / 2))
    samm_rows = limits["datasets"]["SAMM_LV"]
    assert (samm_rows["micro"]["unmatchable"], samm_rows["macro"]["too_long"]) == (1, 1)
    assert samm_rows["micro"]["recall"] == 0.0
    # the limits follow the run's spotter settings; a spotter without type rules has none
    longer = summarize([casme], limits=TypeLimits.from_engine({"spotter": {"max_micro_s": 0.6, "max_macro_s": 5}}))
    assert longer["type_limits"]["datasets"]["CASME_SQ"]["micro"]["unmatchable"] == 0
    assert longer["type_limits"]["datasets"]["CASME_SQ"]["macro"]["too_short"] == 2
    assert TypeLimits.from_engine({"spotter": {"threshold": 2.0}}) is None
    assert summarize([casme])["type_limits"] is None


def test_any_type_f1_matches_across_types_one_to_one():
    # a micro event on a macro annotation and a macro event on a micro one: no true positive of either type,
    # two when type is ignored; a second event on the same annotation stays false (one to one)
    result = _result("a", [_interval(0, 14, "micro"), _interval(100, 130, "macro"), _interval(400, 409, "micro")],
                     [_event(100, 130, "micro", 5.0), _event(101, 130, "micro", 5.0), _event(0, 14, "macro", 1.0)],
                     duration_s=30.0)
    summary = summarize([result])
    assert summary["counts"]["overall"]["tp"] == 0
    any_type = summary["any_type"]
    assert (any_type["annotated"], any_type["predicted"], any_type["tp"]) == (3, 3, 2)
    assert any_type["f1"] == pytest.approx(4 / 6)
    # under --type-absent skip a video's types without annotations leave both sides, as in the per-type counts
    macro_only = _result("b", [_interval(100, 130, "macro")], [_event(100, 130, "micro", 5.0)], duration_s=30.0)
    assert summarize([macro_only], Conventions(type_absent="skip"))["any_type"]["predicted"] == 0
    assert summarize([macro_only])["any_type"]["tp"] == 1


def test_report_says_what_the_type_rules_cannot_match_and_the_any_type_f1():
    result = _result("a", [_interval(0, 15, "micro"), _interval(100, 130, "macro")],
                     [_event(0, 15, "macro", 1.0)], duration_s=30.0)
    engine = {"spotter": {"max_micro_s": 0.5, "max_macro_s": 4.0}}
    report = {"run": {"title": "t", "data_path": "/d", "classifier": "c", "mer_live_version": "0", "engine": engine},
              "summary": summarize([result], limits=TypeLimits.from_engine(engine)), "reader_notes": [],
              "anchors": ""}
    text = markdown(report)
    assert "**Any-type F1: 0.667**" in text
    assert "| CASME_SQ | micro | 1 | 1 | 1 | 0 | 0.000 | 0.000 |" in text
    assert "| CASME_SQ | macro | 1 | 0 | 0 | 0 | 1.000 | 0.000 |" in text
