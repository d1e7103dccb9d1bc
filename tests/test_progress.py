"""mer_live.progress: a live bar on a terminal; whole lines, and status lines of their own, anywhere else."""
from __future__ import annotations

import io

from tqdm import tqdm

from mer_live.progress import format_line, progress, write


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_whole_lines_with_status_lines_between_them():
    log = io.StringIO()
    bar = progress(total=5, desc="work", unit="file", file=log, log_every_s=0)
    for i in range(5):
        if i == 2:
            write("[info] halfway", file=log)
        bar.update(1)
    bar.close()
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and "\x1b" not in log.getvalue()
    assert "[info] halfway" in lines                          # its own line, not spliced into a bar
    assert lines[0].startswith("work: file 0/5 (0%, ") and lines[-1].startswith("work: file 5/5 (100%, ")


def test_a_log_is_throttled_to_a_line_every_few_seconds():
    log = io.StringIO()
    for _ in progress(range(1000), desc="fast", file=log):     # default: a line every LOG_EVERY_S seconds
        pass
    assert len(log.getvalue().splitlines()) == 2               # where it started, where it ended


def test_a_terminal_gets_the_live_bar():
    bar = progress(total=3, file=Terminal())
    assert type(bar) is tqdm
    bar.close()


def test_a_log_line_says_what_of_how_many_how_fast_and_the_figures_with_no_drawn_bar():
    assert format_line("fold s01", 10, 10, 12.0, "epoch", postfix="loss=0.412, train UF1=0.84") == \
        "fold s01: epoch 10/10 (100%, 00:12 elapsed, 1.2 s/epoch); loss=0.412, train UF1=0.84"
    assert format_line("mer-live", 300, 600, 5.0, "frame") == \
        "mer-live: frame 300/600 (50%, 00:05 elapsed, 00:05 left, 60.0 frame/s)"
    assert format_line("mer-live", 300, None, 5.0, "frame") == "mer-live: frame 300 (00:05 elapsed, 60.0 frame/s)"
    assert format_line("", 0, 4, 0.0) == "0/4 (0%, 00:00 elapsed)"


def test_a_piped_fold_ends_on_its_last_epoch_with_its_figures_even_when_not_left_on_screen():
    """What mer-train's fold bar does (leave=False, figures set before the count): its log ends on 10/10."""
    log = io.StringIO()
    bar = progress(total=10, desc="fold s01", unit="epoch", leave=False, file=log)   # a line every 10 s
    for epoch in range(10):
        bar.set_postfix({"loss": f"{1 / (epoch + 1):.3f}", "train UF1": "1.00"}, refresh=False)
        bar.update(1)
    bar.close()
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("fold s01: epoch 0/10 (0%, ")
    assert lines[-1].startswith("fold s01: epoch 10/10 (100%, ") and lines[-1].endswith("; loss=0.100, train UF1=1.00")
    assert len(lines) == 2 and not any(c in log.getvalue() for c in "|#\r\x1b")


def test_a_status_line_does_not_repeat_the_progress_line_under_it():
    log = io.StringIO()
    bar = progress(total=3, desc="LOSO", unit="fold", file=log, log_every_s=0)
    bar.set_description("held out s02", refresh=False)
    write("mer-train: warning: fold s02 did not fit", file=log)
    bar.update(1)
    bar.close()
    assert log.getvalue().splitlines()[1:] == ["mer-train: warning: fold s02 did not fit",
                                               log.getvalue().splitlines()[-1]]
    assert log.getvalue().splitlines()[-1].startswith("held out s02: fold 1/3 (33%, ")
