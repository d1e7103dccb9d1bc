"""What the package ships besides code (package data: the demo model) carries nothing of the machine that
built it: no build folders, home folders or installed-package paths."""
from __future__ import annotations

from pathlib import Path

import mer_live

SHIPPED_PACKAGES = ("mer_live", "training", "export", "gui")   # pyproject's packages


def package_data() -> list[Path]:
    root = Path(mer_live.__file__).resolve().parent.parent
    return sorted(path for package in SHIPPED_PACKAGES for path in (root / package).rglob("*")
                  if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts)


def test_no_shipped_asset_holds_a_build_path(build_paths):
    files = package_data()
    assert any(path.name == "demo_model.onnx" for path in files)
    found = {str(path): build_paths(path.read_bytes()) for path in files}
    assert all(not paths for paths in found.values()), {path: paths for path, paths in found.items() if paths}


def test_demo_model_build_script_says_its_defaults_and_keeps_the_demo_stream_out():
    """`python scripts/build_demo_model.py` is the documented command: its docstring states the defaults it
    runs with, and neither its training nor its validation streams are the demo stream."""
    import importlib.util

    from mer_live.streaming import demo

    path = Path(mer_live.__file__).resolve().parent.parent / "scripts" / "build_demo_model.py"
    spec = importlib.util.spec_from_file_location("build_demo_model", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    defaults = {action.dest: action.default for action in script.build_parser()._actions}
    stated = " ".join(f"--{key} {value}" for key, value in script.DEFAULTS.items())
    assert stated in " ".join(script.__doc__.split())
    assert defaults["out"] == path.parent.parent / script.DEFAULTS["out"]
    assert all(defaults[key] == value for key, value in script.DEFAULTS.items() if key != "out")
    seeds = {1000 * script.DEFAULTS["seed"] + i for i in range(1, script.DEFAULTS["streams"] + 1)}
    validation = 1000 * script.DEFAULTS["seed"] + script.VALIDATION_OFFSET
    assert demo.DEMO_SEED not in seeds | {validation} and validation not in seeds
    assert script.VALIDATION_EVENTS != demo.DEMO_EVENTS
