"""`mer-live`'s command line: it maps options onto the engine's own config and choices, nothing more."""
from __future__ import annotations

import pytest

from gui import cli


@pytest.fixture
def captured_run(monkeypatch):
    """run_headless replaced by a recorder of what the command line handed it."""
    seen = {}

    def fake_run(options, config):
        seen.update(options=options, config=config)
        return 0

    monkeypatch.setattr(cli, "run_headless", fake_run)
    return seen


def test_threshold_zero_is_honoured_not_taken_for_unset(captured_run):
    assert cli.main(["--headless", "--demo", "--threshold", "0"]) == 0
    assert captured_run["config"].spotter.threshold == 0.0


def test_defaults_are_the_engine_dataclass_defaults(captured_run):
    from mer_live.streaming.engine import EngineConfig

    assert cli.main(["--headless", "--demo"]) == 0
    assert captured_run["config"] == EngineConfig()
    assert captured_run["options"].provider == "auto" and captured_run["options"].demo


def usage_error(capsys, *argv: str) -> str:
    """The one-line error of a command line refused before any work (exit status 2)."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--headless", "--demo", *argv])
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def test_engine_config_refuses_bad_values_as_a_usage_error(captured_run, capsys):
    assert "argument --stride: must be more than 0" in usage_error(capsys, "--stride", "0")
    assert not captured_run


@pytest.mark.parametrize("option, value", [
    ("--clip-seconds", "-1"), ("--clip-seconds", "0"), ("--clip-seconds", "nan"), ("--clip-seconds", "inf"),
    ("--clip-seconds", "11"), ("--fps", "-5"), ("--fps", "0"), ("--fps", "nan"), ("--fps", "inf"),
    ("--fps", "1001"), ("--threshold", "nan"), ("--threshold", "inf"), ("--threshold", "-0.5"),
    ("--stride", "nan"), ("--stride", "inf"), ("--stride", "-0.1"), ("--detect-every", "0"),
    ("--detect-every", "nan"), ("--detect-every", "1.5")])
def test_numbers_are_checked_when_the_command_line_is_parsed(captured_run, capsys, option, value):
    """0 is no "use the default", nan no number: refused in one line (status 2) before anything runs."""
    err = usage_error(capsys, option, value)
    assert f"argument {option}:" in err and value in err and "Traceback" not in err
    assert len(err.strip().splitlines()[-1]) < 200
    assert not captured_run


def test_threshold_comes_from_the_spotter_file_unless_given(captured_run, tmp_path):
    settings = tmp_path / "spotter.json"
    settings.write_text('{"threshold": 2.5}')
    assert cli.main(["--headless", "--demo", "--spotter", str(settings)]) == 0
    assert captured_run["config"].spotter.threshold == 2.5
    assert cli.main(["--headless", "--demo", "--spotter", str(settings), "--threshold", "0"]) == 0
    assert captured_run["config"].spotter.threshold == 0.0


def test_unknown_choice_suggests_the_nearest_never_corrects(captured_run, capsys):
    assert "did you mean 'cuda'?" in usage_error(capsys, "--provider", "cdua")
    assert not captured_run


def run_mer_live(env_changes: dict, *argv: str):
    """`python -m gui.cli ARGV` in a child process, with environment variables set (value) or removed (None)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in env_changes}
    env.update({k: v for k, v in env_changes.items() if v is not None})
    return subprocess.run([sys.executable, "-m", "gui.cli", *argv], env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="display servers are a Linux matter")
@pytest.mark.parametrize("display", [None, ":987"], ids=["no-display", "unreachable-display"])
def test_window_without_a_usable_display_says_what_to_do_instead_of_aborting(display):
    child = run_mer_live({"DISPLAY": display, "WAYLAND_DISPLAY": None, "QT_QPA_PLATFORM": None}, "--demo")
    assert child.returncode == 2, (child.returncode, child.stderr)        # Qt's abort would be -6 (or 134)
    lines = child.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mer-live: error: "), child.stderr
    assert "--headless" in lines[0] and "xvfb-run" in lines[0] and "QT_QPA_PLATFORM=offscreen" in lines[0]


def test_display_check_leaves_platforms_without_a_display_server_alone():
    from gui.display import display_problem

    for platform in ("offscreen", "vnc", "xcb;offscreen", "eglfs"):
        assert display_problem({"QT_QPA_PLATFORM": platform}, "linux", probe=False) is None
    assert display_problem({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}, "linux", probe=False)
    assert display_problem({"DISPLAY": ":0"}, "linux", probe=False) is None
    assert display_problem({}, "win32") is None
