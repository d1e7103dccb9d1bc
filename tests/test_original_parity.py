"""Defaults as the original code (Hong et al. 2022) has them, and deviations that are on purpose.

The original's main.py: `-feature` default "RGB" for every model. Its other formulas are tested beside the
code they concern (interpolation, TIM, heads, augmentation border, crop).
"""
from __future__ import annotations

from pathlib import Path

from mer_live.features import FEATURE_CHANNELS
from mer_live.models import MODEL_NAMES, compatible_features, model_in_channels
from training import cli

ORIGINAL_DEFAULT_FEATURE = "RGB"


def test_default_feature_is_the_original_codes_rgb_wherever_the_model_takes_it():
    parser = cli.build_parser()
    for name in MODEL_NAMES:
        feature = cli.options_from_args(parser.parse_args([name, "/data", "SMIC"]), parser).feature
        if model_in_channels(name) == FEATURE_CHANNELS[ORIGINAL_DEFAULT_FEATURE]:
            assert feature == ORIGINAL_DEFAULT_FEATURE, name
        else:  # the original's RGB cannot run here: the one mode that fits, said in --help
            assert [feature] == compatible_features(name), name
    assert "RGB, as the original code" in " ".join(parser.format_help().split())


def test_changed_interpolation_code_misses_the_clip_cache(tmp_path, monkeypatch):
    """Prepared clips are cached under a hash of the code that made them: new interpolation, new clips."""
    from mer_live import interpolation
    from training import cache

    before = cache._code_version()
    edited = tmp_path / "interpolation.py"
    edited.write_bytes(Path(interpolation.__file__).read_bytes() + b"\n# changed\n")
    monkeypatch.setattr(interpolation, "__file__", str(edited))
    assert cache._code_version() != before
