"""Choices and defaults: an unknown name gets the nearest names (never a correction); help shows real defaults once."""
from __future__ import annotations

import re

import pytest

from mer_live.choices import did_you_mean, unknown_choice
from mer_live.datasets.catalog import DATASETS


def test_unknown_name_gets_the_nearest_names_and_the_list():
    assert did_you_mean("SMCI", DATASETS) == " (did you mean SMIC?)"
    assert did_you_mean("casme2", DATASETS) == " (did you mean CASME2?)"   # case slips too
    assert did_you_mean("ImageNet", DATASETS) == ""
    message = unknown_choice("dataset", "SMCI", DATASETS)
    assert message.startswith("unknown dataset 'SMCI' (did you mean SMIC?)") and "CASME2, SAMM, CDE" in message


def test_an_unknown_model_or_option_is_refused_not_corrected(capsys):
    from mer_live.models import parse_model_name
    from training import cli

    with pytest.raises(ValueError, match=r"unknown model 'ch3_1_fusion_cnnlike' \(did you mean ch3_1_fusion_cnn_like"):
        parse_model_name("ch3_1_fusion_cnnlike")
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["ch3_swin", "/nowhere", "SMIC", "--variant", "nnao"])
    assert exit_info.value.code == 2
    assert "did you mean nano?" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["training.cli", "mer_live.synthetic", "gui.cli", "export.cli"])
def test_help_shows_each_real_default_once(command, capsys):
    import importlib

    with pytest.raises(SystemExit):
        importlib.import_module(command).main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: None)" not in text and "(default: False)" not in text
    assert not re.search(r"default[^()]*\)\s*\(default", text), text
    expected = {"training.cli": ["epochs per fold (default: 100)", "(default: 224 224)"],
                "mer_live.synthetic": ["clips per subject and class (default: 3)", "(default: 10 30)"],
                "gui.cli": ["seconds between windows (default: 0.1)"], "export.cli": ["(default 18)"]}[command]
    for phrase in expected:
        assert phrase in text
