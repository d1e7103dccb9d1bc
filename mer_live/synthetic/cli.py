"""`mer-synth ROOT`: small synthetic datasets in the real SMIC / CASME II / SAMM layouts (mer_live.synthetic.layouts)."""
from __future__ import annotations

import sys
from typing import Sequence

from mer_live.atomic import check_writable
from mer_live.choices import ArgumentParser
from mer_live.cli_errors import DEBUG_HELP, command_errors
from mer_live.datasets import catalog
from mer_live.synthetic.layouts import make_dataset

DESCRIPTION = ("Synthetic micro-expression data in the real datasets' layouts: the shared fixture for tests, "
               "benchmarks and the demo.")


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(prog="mer-synth", description=DESCRIPTION)
    parser.add_argument("root", help="folder to write into (the DATA_PATH to give training)")
    parser.add_argument("--dataset", default="all", choices=[*catalog.SOURCE_DATASETS, "all"],
                        help="which layout to write")
    parser.add_argument("--raw", action="store_true", help="uncropped frames for mer-prepare (SMIC, SAMM)")
    parser.add_argument("--subjects", type=int, default=None, help="subjects per dataset (default: all LOSO ones)")
    parser.add_argument("--clips-per-class", type=int, default=3, help="clips per subject and class")
    parser.add_argument("--size", type=int, default=64, help="cropped frame side in pixels")
    parser.add_argument("--frames", type=int, nargs=2, default=(10, 30), metavar=("MIN", "MAX"),
                        help="clip length range in frames")
    parser.add_argument("--seed", type=int, default=0, help="random seed of faces, motions and timings")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    args = parser.parse_args(argv)
    names = catalog.SOURCE_DATASETS if args.dataset == "all" else (args.dataset,)
    if args.raw:
        skipped = [n for n in names if n not in catalog.RAW_DIRS]
        names = tuple(n for n in names if n in catalog.RAW_DIRS)
        if skipped and args.dataset != "all":
            parser.error(f"--raw is not available for {skipped[0]}: it ships its own cropped frames")
        for n in skipped:
            print(f"mer-synth: no raw layout for {n} (it ships cropped frames); skipped", file=sys.stderr)
    from mer_live.progress import progress, write

    with command_errors("mer-synth", debug=args.debug,
                        interrupted="run it again to write every dataset (it writes the same files)") as outcome:
        check_writable(args.root, folder=True)
        for name in progress(names, desc="mer-synth", unit="dataset"):
            subjects = args.subjects or len(catalog.LOSO_SUBJECT_NUMBERS[name])
            try:
                made = make_dataset(args.root, name, subjects=subjects, clips_per_class=args.clips_per_class,
                                    seed=args.seed, raw=args.raw, image_size=args.size, frames_range=tuple(args.frames))
            except ValueError as exc:
                parser.error(str(exc))
            write(f"{name}: {len(made.clips)} clips from {subjects} subjects in {made.folder}", file=sys.stdout)
    return outcome.status

