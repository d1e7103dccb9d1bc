"""One video's timeline as a PNG: annotated intervals above, spotted events below, by type; matched ones
green, missed annotations orange, false events red, annotated blinks grey. Matplotlib's Agg canvas (no
display, no global backend switch); written atomically."""
from __future__ import annotations

from pathlib import Path

from mer_live.atomic import atomic_path
from mer_live.spot_eval.evaluation import VideoEvaluation

MATCHED, MISSED, FALSE, BLINK = "#2e7d32", "#ef6c00", "#c62828", "#9e9e9e"


def draw_timeline(result: dict, evaluation: VideoEvaluation, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    frame_s = 1.0 / result["fps"]
    rows = [("annotated micro", "annotations", "micro"), ("annotated macro", "annotations", "macro")]
    if result.get("blinks"):
        rows.append(("annotated blinks", "blinks", "blink"))
    rows += [("spotted micro", "events", "micro"), ("spotted macro", "events", "macro")]
    figure = Figure(figsize=(11, 0.45 * len(rows) + 1.4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    for y, (_, field, kind) in enumerate(reversed(rows)):
        spans, colours = [], []
        for i, item in enumerate(result.get(field, [])):
            if field != "blinks" and item["kind"] != kind:
                continue
            if field == "events":
                start, stop = item["start_s"], item["end_s"]
                colours.append(MATCHED if i in evaluation.matched_events else FALSE)
            else:
                start, stop = item["onset_s"], item["offset_s"] + frame_s
                colours.append(BLINK if field == "blinks" else
                               MATCHED if i in evaluation.matched_annotations else MISSED)
            spans.append((start, max(stop - start, frame_s)))
        if spans:
            axes.broken_barh(spans, (y - 0.35, 0.7), facecolors=colours)
    axes.set_yticks(range(len(rows)))
    axes.set_yticklabels([label for label, _, _ in reversed(rows)])
    axes.set_xlim(0, result["duration_s"])
    axes.set_ylim(-0.6, len(rows) - 0.4)
    axes.set_xlabel("time (s)")
    axes.grid(axis="x", alpha=0.3)
    micro, macro = evaluation.matches["micro"].counts, evaluation.matches["macro"].counts
    axes.set_title(f"{result['video_id']}: micro {micro.tp} matched of {micro.annotated} annotated, "
                   f"{micro.predicted} spotted; macro {macro.tp} of {macro.annotated}, {macro.predicted} spotted",
                   fontsize=10)
    figure.legend(handles=[Patch(color=MATCHED, label="matched (IoU >= 0.5)"), Patch(color=MISSED, label="missed"),
                           Patch(color=FALSE, label="false event"), Patch(color=BLINK, label="blink")],
                  loc="lower center", ncol=4, fontsize=8, frameon=False)
    figure.tight_layout(rect=(0, 0.12, 1, 1))
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
