"""mer_live.progress: a live bar on a terminal; whole lines, and status lines of their own, anywhere else."""
from __future__ import annotations

import io

from tqdm import tqdm

from mer_live.progress import progress, write


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
    assert lines[0].startswith("work:   0%") and lines[-1].startswith("work: 100%") and "5/5" in lines[-1]


def test_a_log_is_throttled_to_a_line_every_few_seconds():
    log = io.StringIO()
    for _ in progress(range(1000), desc="fast", file=log):     # default: a line every LOG_EVERY_S seconds
        pass
    assert len(log.getvalue().splitlines()) == 2               # where it started, where it ended


def test_a_terminal_gets_the_live_bar():
    bar = progress(total=3, file=Terminal())
    assert type(bar) is tqdm
    bar.close()
