"""'Did you mean ...' for unknown names: a suggestion in one line, never a correction."""
from mer_live.suggest import close_matches, did_you_mean, unknown_choice

FEATURES = ("RGB", "GRAY", "GRAY_OF", "ONLY_OF", "RGB_OF")


def test_close_matches_ignore_case_and_keep_the_choices_spelling():
    assert close_matches("gray_of", FEATURES)[0] == "GRAY_OF"
    assert close_matches("tensorrt", ("auto", "tensorrt", "cuda", "cpu")) == ["tensorrt"]
    assert close_matches("xyz", FEATURES) == []


def test_unknown_choice_is_one_line_with_the_suggestion_and_every_choice():
    assert did_you_mean("SMIC2", ("SMIC", "CASME2", "SAMM")) == "did you mean 'SMIC'?"
    assert did_you_mean("zzz", ("SMIC", "CASME2")) == ""
    message = unknown_choice("dataset", "casme", ("SMIC", "CASME2", "SAMM", "CDE"))
    assert message == "unknown dataset 'casme'; did you mean 'CASME2'? (choose one of: SMIC, CASME2, SAMM, CDE)"
    assert unknown_choice("provider", "opencl", ("auto", "cpu")) == "unknown provider 'opencl' (choose one of: auto, cpu)"
