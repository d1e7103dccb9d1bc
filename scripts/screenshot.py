"""Take a screenshot of the real window running the demo, once bars, timeline and an event show.

    xvfb-run -a -s "-screen 0 1280x800x24" python scripts/screenshot.py --out docs/screenshot.png

Runs `mer-live --demo` in-process (demo source + demo model, real engine), waits until at least
`--min-events` events were spotted and the stream ran `--min-seconds` (or `--timeout`), grabs the window and
writes the PNG atomically to `--out` (required: README's docs/screenshot.png is replaced only when asked).
Exits 1 if no event was spotted in time (the PNG is still written). The window shows no path of this
machine: it runs from the repository root with the model as `mer_live/assets/demo_model.onnx` and the
recording file as a bare file name.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="PNG to write, e.g. docs/screenshot.png (README's image)")
    parser.add_argument("--min-seconds", type=float, default=6.5, help="seconds of running stream to wait")
    parser.add_argument("--min-events", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--size", default="1280x800", help="window size WxH")
    args = parser.parse_args(argv)

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from gui.app import apply_dark_theme, create_window
    from gui.cli import build_parser
    from gui.recording import default_recording_path
    from mer_live.atomic import atomic_path

    out = Path(args.out).resolve()           # before the working folder changes below
    os.chdir(ROOT)                           # relative paths in the window's fields: nothing of this machine

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_dark_theme(app)
    window = create_window(build_parser().parse_args(["--demo"]))     # exactly what `mer-live --demo` opens
    if window.demo_model is None or not Path(window.demo_model).resolve().is_relative_to(ROOT):
        raise SystemExit(f"the demo model {window.demo_model} is not under {ROOT}; run this from a source checkout")
    window.model_path.setText(Path(window.demo_model).resolve().relative_to(ROOT).as_posix())
    window.record_path.setText(default_recording_path().name)        # recording would go to the working folder
    width, height = (int(v) for v in args.size.lower().split("x"))
    window.resize(width, height)
    window.show()
    started = time.monotonic()
    outcome = {"rc": 1, "running_since": None}

    def check() -> None:
        now = time.monotonic()
        if outcome["running_since"] is None and window.state == "running":
            outcome["running_since"] = now
        elapsed = now - started
        running_s = now - outcome["running_since"] if outcome["running_since"] else 0.0
        events = len(window.events.events)
        enough = running_s >= args.min_seconds and events >= args.min_events
        ended = window.state == "idle" and elapsed > 2.0
        if not (enough or ended or elapsed >= args.timeout):
            return
        timer.stop()
        window._refresh_stats()
        pixmap = window.grab()
        with atomic_path(out) as tmp:
            if not pixmap.save(str(tmp), "PNG"):
                raise SystemExit(f"could not write {out}")
            os.chmod(tmp, 0o644)            # mkstemp's 0600 would hide the image from other users
        outcome["rc"] = 0 if events >= args.min_events else 1
        print(f"wrote {out} ({pixmap.width()}x{pixmap.height()}) after {elapsed:.1f} s: {events} events, "
              f"status: {window.statusBar().currentMessage()!r}, stats: {window.stats_panel.values}")
        window.shutdown()
        app.quit()

    timer = QTimer()
    timer.setInterval(250)
    timer.timeout.connect(check)
    timer.start()
    app.exec()
    return outcome["rc"]


if __name__ == "__main__":
    raise SystemExit(main())
