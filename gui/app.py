"""Entry of the desktop app: `mer-live` without --headless lands here (gui.cli calls run_app lazily)."""
from __future__ import annotations

import argparse
import functools
import sys

from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from mer_live.streaming.engine import EngineConfig

from gui.main_window import MainWindow
from gui.session import SourceChoice, build_engine, prewarm_face_detector


def apply_dark_theme(app: QApplication) -> None:
    """Fusion with a dark palette: the video and plots are dark, the controls should not glare beside them."""
    app.setStyle("Fusion")
    palette = QPalette()
    colors = {
        QPalette.ColorRole.Window: "#26282c", QPalette.ColorRole.WindowText: "#e0e0e0",
        QPalette.ColorRole.Base: "#1b1c1f", QPalette.ColorRole.AlternateBase: "#232529",
        QPalette.ColorRole.ToolTipBase: "#2d2f33", QPalette.ColorRole.ToolTipText: "#e0e0e0",
        QPalette.ColorRole.Text: "#e0e0e0", QPalette.ColorRole.Button: "#33363b",
        QPalette.ColorRole.ButtonText: "#e0e0e0", QPalette.ColorRole.BrightText: "#ff5252",
        QPalette.ColorRole.Highlight: "#2f7bd8", QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.PlaceholderText: "#8a8a8a", QPalette.ColorRole.Link: "#64b5f6",
    }
    for role, color in colors.items():
        palette.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#777777"))
    app.setPalette(palette)
    app.setStyleSheet("QGroupBox { font-weight: bold; border: 1px solid #3a3c40; border-radius: 4px; "
                      "margin-top: 10px; padding-top: 4px; } "
                      "QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 3px; } "
                      "QPushButton#startButton { background: #2e7d32; font-weight: bold; padding: 6px; } "
                      "QPushButton#startButton:disabled { background: #33363b; } "
                      "QPushButton#stopButton { background: #8e2424; font-weight: bold; padding: 6px; } "
                      "QPushButton#stopButton:disabled { background: #33363b; }")


def demo_model_or_none() -> str | None:
    """The demo model's path if the engine package provides one (the window marks runs that use it)."""
    try:
        from gui.session import demo_model_path

        return str(demo_model_path())
    except Exception:  # noqa: BLE001 - the window works without the demo
        return None


def create_window(args: argparse.Namespace, engine_factory=None, config: EngineConfig | None = None) -> MainWindow:
    """The window set up from the command line (source, model, demo); it starts the run once shown.

    `config` holds the engine's settings (gui.cli builds it from the same command line).
    """
    if engine_factory is None:
        engine_factory = functools.partial(build_engine, config=config, provider=getattr(args, "provider", "auto"),
                                           fps=getattr(args, "fps", None))
    window = MainWindow(engine_factory=engine_factory, demo_model=demo_model_or_none())
    source = getattr(args, "source", None)
    model = getattr(args, "model", None)
    demo = bool(getattr(args, "demo", False))
    # --demo alone: demo stream + demo model; --demo --source S: S with the demo model (as --headless does)
    window.set_source(SourceChoice.parse(source) if source is not None else SourceChoice("demo"))
    if demo and model is None and window.demo_model:
        model = window.demo_model
    if model:
        window.model_path.setText(str(model))
    if demo or source is not None:
        QTimer.singleShot(0, window.start)
    return window


def run_app(args: argparse.Namespace | None = None, config: EngineConfig | None = None) -> int:
    """Open the window and run the Qt event loop; returns the exit status."""
    args = args if args is not None else argparse.Namespace()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("mer-live")
    apply_dark_theme(app)
    config = config or EngineConfig()
    if config.face == "detect":
        prewarm_face_detector()
    window = create_window(args, config=config)
    window.show()
    return int(app.exec())
