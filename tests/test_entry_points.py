"""Console entry points: Ctrl-C while the heavy imports run (the first seconds of a command) is one line, 130."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mer_live.cli_errors import EXIT_INTERRUPTED

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("module,prog,args", [("training.cli", "mer-train", ["ch3_swin", "/nowhere", "SMIC"]),
                                              ("export.cli", "mer-export", ["model.pt"])])
def test_ctrl_c_while_torch_imports_is_one_line_and_status_130(tmp_path, module, prog, args):
    """As the console script runs it (`from M import main; sys.exit(main())`), with a torch whose import is
    interrupted: a KeyboardInterrupt traceback before (issue 22)."""
    fake = tmp_path / "fake" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise KeyboardInterrupt\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(fake.parent), str(ROOT)]))
    script = f"import sys; from {module} import main; sys.exit(main())"
    done = subprocess.run([sys.executable, "-c", script, *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == EXIT_INTERRUPTED, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.strip() == f"{prog}: interrupted while starting; " \
                                                                   "nothing was done"
