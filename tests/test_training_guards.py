"""mer-train against a hostile or careless user: numbers refused when the command line is parsed, one run
at a time in an `--out` folder, temporary files of a killed run swept, and no `options.json` left by a run
that failed before training."""
from __future__ import annotations

import pytest

from training import cli, run as run_module

MODEL = "ch3_1_fusion_cnn_like"


@pytest.mark.parametrize("option, value", [("-lr", "nan"), ("-lr", "-1"), ("-lr", "inf"), ("-lr", "0"),
                                           ("--workers", "-1"), ("--seed", "-1"), ("-bs", "0"), ("-ep", "0"),
                                           ("-num_frames", "0"), ("-imgsize", "-4"), ("--clip-grad", "nan"),
                                           ("--warmup-epochs", "-1"), ("--retry-collapsed", "-2")])
def test_numbers_are_checked_when_the_command_line_is_parsed(option, value, capsys, monkeypatch):
    monkeypatch.setattr(run_module, "run", lambda options: pytest.fail(f"{option} {value} was accepted"))
    with pytest.raises(SystemExit) as exit_:
        cli.main([MODEL, "/data", "SMIC", option, value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert option in err and value in err and "Traceback" not in err
    assert len(err.strip().splitlines()[-1]) < 200
