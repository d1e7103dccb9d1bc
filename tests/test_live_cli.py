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


def test_engine_config_refuses_bad_values_as_a_usage_error(captured_run, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--headless", "--demo", "--stride", "0"])
    assert exit_info.value.code == 2
    assert "stride must be > 0" in capsys.readouterr().err
    assert not captured_run


def test_unknown_choice_suggests_the_nearest_never_corrects(captured_run, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--headless", "--demo", "--provider", "cdua"])
    assert exit_info.value.code == 2
    assert "did you mean cuda?" in capsys.readouterr().err
    assert not captured_run
