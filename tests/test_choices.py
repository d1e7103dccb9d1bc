"""The commands' parser: an invalid choice gets the nearest names (never a correction); help shows real defaults once."""
from __future__ import annotations

import re

import pytest


def test_an_unknown_option_value_is_refused_with_a_suggestion_not_corrected(capsys):
    from training import cli

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["ch3_swin", "/nowhere", "SMIC", "--variant", "nnao"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'nnao'; did you mean 'nano'? (choose from base, small, tiny, nano)" in err


@pytest.mark.parametrize("command", ["training.cli", "mer_live.synthetic.cli", "gui.cli", "export.cli"])
def test_help_shows_each_real_default_once(command, capsys):
    import importlib

    with pytest.raises(SystemExit):
        importlib.import_module(command).main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: None)" not in text and "(default: False)" not in text
    assert not re.search(r"default[^()]*\)\s*\(default", text), text
    expected = {"training.cli": ["epochs per fold (default: 100)", "(default: 224 224)"],
                "mer_live.synthetic.cli": ["clips per subject and class (default: 3)", "(default: 10 30)"],
                "gui.cli": ["seconds between windows (default: 0.1)"], "export.cli": ["(default 18)"]}[command]
    for phrase in expected:
        assert phrase in text
