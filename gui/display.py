"""Can Qt open a window here? Found out before Qt is loaded, because Qt aborts the process when it cannot.

Without a usable display Qt's platform plugin calls abort() (exit 134, "Reinstalling the application may fix
this problem"), which no Python code can catch. So on Linux the window's entry first checks the environment
(no DISPLAY / WAYLAND_DISPLAY for the platforms that need one), then lets a short child process start a
QGuiApplication; if the child dies, its reason (e.g. a missing libxcb-cursor0) goes into one line that says
what to do instead.
"""
from __future__ import annotations

import os
import subprocess
import sys
from typing import Mapping

# Qt platforms that draw on a display server; every other one (offscreen, minimal, vnc, eglfs, linuxfb, ...)
# needs none, and choosing one is the user's own way out.
DISPLAY_VARIABLE = {"xcb": "DISPLAY", "wayland": "WAYLAND_DISPLAY"}
FIX = ("use `mer-live --headless ...`, or run the window under a virtual display (`xvfb-run mer-live ...`), "
       "or set QT_QPA_PLATFORM=offscreen")
PROBE = "import sys; from PySide6.QtGui import QGuiApplication; QGuiApplication(sys.argv[:1])"
PROBE_TIMEOUT_S = 30.0


def _platforms(env: Mapping[str, str]) -> list[str]:
    """The platform names QT_QPA_PLATFORM asks for ('xcb;offscreen', 'wayland-egl:opt'), in order."""
    names = [item.split(":")[0].strip().lower() for item in env.get("QT_QPA_PLATFORM", "").split(";")]
    return [name for name in names if name]


def _display_kind(platform: str) -> str | None:
    """'xcb' or 'wayland' for platforms that need that display server, None for the ones that need none."""
    for kind in DISPLAY_VARIABLE:
        if platform.startswith(kind):
            return kind
    return None


def display_problem(env: Mapping[str, str] | None = None, system: str | None = None,
                    probe: bool = True) -> str | None:
    """None when Qt can open a window here; otherwise one line naming the problem and the fix."""
    env = os.environ if env is None else env
    system = sys.platform if system is None else system
    if not system.startswith("linux"):
        return None                          # Windows and macOS always have their own platform
    requested = _platforms(env) or list(DISPLAY_VARIABLE)    # Qt's own default: wayland, then xcb
    if any(_display_kind(p) is None for p in requested):
        return None                          # offscreen, vnc, eglfs...: no display server needed
    variables = [DISPLAY_VARIABLE[_display_kind(p)] for p in requested]
    if not any(env.get(v) for v in variables):
        return f"no display to open the window on ({' and '.join(dict.fromkeys(variables))} not set): {FIX}"
    return _probe(env) if probe else None


def _probe(env: Mapping[str, str]) -> str | None:
    """Start Qt in a child process; its last words if it could not (it aborts, we do not)."""
    try:
        child = subprocess.run([sys.executable, "-c", PROBE], env=dict(env), capture_output=True, text=True,
                               timeout=PROBE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired):
        return None                          # no verdict: let Qt itself try
    if child.returncode == 0:
        return None
    lines = [line.strip() for line in child.stderr.splitlines() if line.strip()]
    reason = next((line for line in lines if "needed" in line or "could not connect" in line.lower()),
                  lines[0] if lines else f"exit status {child.returncode}")
    return f"Qt cannot open a window here ({reason.removeprefix('qt.qpa.plugin: ').removeprefix('qt.qpa.xcb: ')}): {FIX}"
