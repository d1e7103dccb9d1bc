"""`mer-synth ROOT`: small synthetic datasets in the real SMIC / CASME II / SAMM layouts (mer_live.synthetic.layouts)."""
from __future__ import annotations

import sys
from typing import Sequence

from mer_live.atomic import check_writable
from mer_live.choices import ArgumentParser
from mer_live.cli_errors import DEBUG_HELP, CommandError, command_errors
from mer_live.cli_numbers import integer
from mer_live.datasets import catalog
from mer_live.synthetic.layouts import NotSyntheticError, make_dataset

DESCRIPTION = ("Synthetic micro-expression data in the real datasets' layouts: the shared fixture for tests, "
               "benchmarks and the demo.")


def main(argv: Sequence[str] | None = None) -> int:
    parser = ArgumentParser(prog="mer-synth", description=DESCRIPTION)
    parser.add_argument("root", metavar="ROOT",
                        help="folder that will hold the dataset folders (SMIC_CROP, CASME2, SAMM); give it to "
                             "mer-train as DATA_PATH. A dataset folder there that mer-synth did not write (a real "
                             "dataset) is refused, never replaced")
    parser.add_argument("--dataset", default="all", choices=[*catalog.SOURCE_DATASETS, "all"],
                        help="which layout to write")
    parser.add_argument("--raw", action="store_true", help="uncropped frames for mer-prepare (SMIC, SAMM)")
    parser.add_argument("--subjects", type=integer(1), default=None,
                        help="subjects per dataset (default: all LOSO ones)")
    parser.add_argument("--clips-per-class", type=integer(1, 100), default=3, help="clips per subject and class")
    parser.add_argument("--size", type=integer(8, 1024), default=64, help="cropped frame side in pixels")
    parser.add_argument("--frames", type=integer(3, 1000), nargs=2, default=(10, 30), metavar=("MIN", "MAX"),
                        help="clip length range in frames")
    parser.add_argument("--seed", type=integer(0, 2**32 - 1), default=0, help="random seed of faces, motions and timings")
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
            subjects = len(catalog.LOSO_SUBJECT_NUMBERS[name]) if args.subjects is None else args.subjects
            try:
                made = make_dataset(args.root, name, subjects=subjects, clips_per_class=args.clips_per_class,
                                    seed=args.seed, raw=args.raw, image_size=args.size, frames_range=tuple(args.frames))
            except NotSyntheticError as exc:
                raise CommandError(str(exc)) from exc
            except ValueError as exc:
                parser.error(str(exc))
            write(f"{name}: {len(made.clips)} clips from {subjects} subjects in {made.folder}", file=sys.stdout)
    return outcome.status

