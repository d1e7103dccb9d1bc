"""What the mer-spot tests share: a tiny synthetic long-video layout, running the CLI, strict JSON."""
from mer_live.spot_eval import cli

TINY = dict(counts={"micro": (1, 1), "macro": (1, 1)}, lead_in_s=(1.2, 1.2), gap_s=(0.6, 0.6),
            frame_size=(40, 48), crop=True)


def strict_json(constant):
    """`parse_constant` for json.loads: NaN or Infinity in a report is not JSON, and fails the test."""
    raise AssertionError(f"report.json holds a bare {constant}, which is not JSON")


def run(argv, capsys):
    """(exit status, stdout, stderr) of `mer-spot argv`."""
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as done:                     # argparse's own errors
        code = done.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err
