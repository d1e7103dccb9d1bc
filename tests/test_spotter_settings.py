"""The spotter's settings as a file (`--spotter FILE` in mer-live and mer-spot): read, checked, written."""
from __future__ import annotations

import json

import pytest

from gui import cli
from mer_live.streaming.spotter_settings import (SpotterSettingsError, load_spotter_settings,
                                                 write_spotter_settings)
from mer_live.streaming.spotting import SpotterConfig


def settings_file(tmp_path, text):
    path = tmp_path / "spotter.json"
    path.write_text(text if isinstance(text, str) else json.dumps(text))
    return path


def test_a_file_sets_the_fields_it_names_and_keeps_the_other_defaults(tmp_path):
    config = load_spotter_settings(settings_file(tmp_path, {"open_threshold": 4, "rigid": False, "size": 96.0}))
    assert config == SpotterConfig(open_threshold=4.0, rigid=False, size=96)
    assert isinstance(config.size, int) and isinstance(config.open_threshold, float)


def test_written_settings_read_back_the_same(tmp_path):
    config = SpotterConfig(threshold=4.5, hold_s=1.0, talk_openings=3)
    path = tmp_path / "out" / "s.json"
    path.parent.mkdir()
    write_spotter_settings(path, config)
    assert load_spotter_settings(path) == config and set(json.loads(path.read_text())) == set(vars(config))


@pytest.mark.parametrize("content, words", [
    ({"treshold": 5}, "unknown setting(s) treshold"),
    ({"threshold": "5"}, "threshold must be a number"),
    ({"threshold": True}, "threshold must be a number"),
    ({"rigid": 1}, "rigid must be true or false"),
    ({"size": 64.5}, "size must be a whole number"),
    ({"lag_s": 0}, "lag_s must be a finite number > 0"),
    ('{"lag_s": NaN}', "lag_s must be finite"),
    ("[1, 2]", "must be a JSON object"),
    ("{oops", "not JSON"),
])
def test_a_bad_file_is_refused_in_one_line_naming_the_file_and_the_problem(tmp_path, content, words):
    path = settings_file(tmp_path, content)
    with pytest.raises(SpotterSettingsError) as refused:
        load_spotter_settings(path)
    message = str(refused.value)
    assert words in message and str(path) in message and "\n" not in message


def test_mer_live_uses_the_file_and_threshold_overrides_it(tmp_path, monkeypatch, capsys):
    seen = {}
    monkeypatch.setattr(cli, "run_headless", lambda options, config: seen.update(config=config) or 0)
    path = settings_file(tmp_path, {"open_threshold": 4.0, "threshold": 5.0})
    assert cli.main(["--headless", "--demo", "--spotter", str(path)]) == 0
    assert seen["config"].spotter == SpotterConfig(open_threshold=4.0, threshold=5.0)
    assert cli.main(["--headless", "--demo", "--spotter", str(path), "--threshold", "7"]) == 0
    assert seen["config"].spotter == SpotterConfig(open_threshold=4.0, threshold=7.0)
    with pytest.raises(SystemExit) as refused:
        cli.main(["--headless", "--demo", "--spotter", str(tmp_path / "missing.json")])
    assert refused.value.code == 2 and "no such file" in capsys.readouterr().err
