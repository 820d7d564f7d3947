"""Command line: `python -m replication <experiment> [options]`."""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import List, Optional

from replication.runs.protocols import DNR_DATASETS, LEVELS, SPLITS_ZERO_NEEDS_SELECTION

EXPERIMENTS = {"background": "McCoyd & Wagner 2018, background class defense on EMNIST (Tables I, III, IV, V)",
               "dnr": "Sotgiu et al. 2020, deep neural rejection on MNIST and CIFAR-10 (Fig. 3-6)",
               "dnr-sign": "beyond the papers: which of network epochs, SVM training digits and layers moves the "
                           "sign of DNR - NR (a paired 2 x 2 x 2 on MNIST)",
               "unified": "beyond the papers: the background class under the adaptive attack; undefended, background "
                          "class, NR and DNR on one MNIST axis"}


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m replication",
        description="Replicate adversarial-ML papers end to end and report measured vs published numbers.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Re-running the same command resumes: finished units in --out are loaded, not recomputed. "
               "`python -m replication status`: what the ledger (reports/) holds and what is left to run.")
    ap.add_argument("experiment", choices=sorted(EXPERIMENTS),
                    help="; ".join(f"{k}: {v}" for k, v in EXPERIMENTS.items()))
    ap.add_argument("--protocol", choices=LEVELS, default=None,
                    help="paper: the published protocol exactly (GPU-sized); fast: same method, reduced counts, "
                         "under an hour on a 2-core CPU; smoke: tiny counts, minutes (tests). "
                         "Default: paper when TensorFlow sees a GPU, else fast.")
    ap.add_argument("--data-dir", default=None,
                    help="directory of the official raw files (offline); default $REPLICATION_DATA_DIR, "
                         "else tensorflow-datasets")
    ap.add_argument("--out", default=None,
                    help="run folder (default: reports/<experiment>/paper[-<variant>] for the paper protocol, the "
                         "ledger kept in git; else results/<experiment>/<protocol>[-<variant>])")
    ap.add_argument("--seed", type=int, default=0, help="base random seed (default 0)")
    ap.add_argument("--letters", choices=("measured", "published"), default=None,
                    help="background only: run the confusing-letter selection (measured) or use the paper's "
                         "set (published); default: the protocol's (measured)")
    ap.add_argument("--layers", choices=("paper", "authors"), default="paper",
                    help="dnr only: the layers feeding the SVMs: the paper's text (MNIST: the last three layers, "
                         "logits included; default) or the authors' public code (MNIST: pool2, fc1, fc2 ReLU; NR on "
                         "fc2), a declared deviation")
    scope = ap.add_argument_group(
        "scope", "compute only part of the protocol's units; each is the protocol's own, so running the rest later "
        "in the same --out reuses them, and the report names what was left out")
    scope.add_argument("--splits", type=int, default=None, metavar="K",
                       help="background: the first K splits only (0: stop after the letter selection, with the "
                            "final selection in the report)")
    scope.add_argument("--folds", type=int, default=None, metavar="K",
                       help="background, measured letters: the letter selection's first K fold trainings only (of "
                            "folds x repeats); fewer than all stops there, with a provisional selection in the report")
    scope.add_argument("--no-carlini", dest="carlini", action="store_false",
                       help="background: leave out the Carlini-Wagner stage")
    scope.add_argument("--runs", nargs="+", default=None, metavar="K",
                       help="dnr: the first K runs of each dataset only, or per dataset (`mnist=5 cifar10=0`: the "
                            "datasets not named run whole); 0: the network alone, with its clean accuracy")
    scope.add_argument("--datasets", nargs="+", choices=DNR_DATASETS, default=None,
                       help="dnr: these datasets only")
    cluster = ap.add_argument_group(
        "cluster", "spread the run's independent units (letter-selection folds, splits, Carlini, DNR runs, unified "
        "models) over Ray workers; same numbers as one process (pip install '.[cluster]')")
    cluster.add_argument("--workers", type=int, default=1, metavar="N",
                         help="Ray workers on this machine (an embedded local cluster); 1 (default): no Ray. Each "
                              "task uses --threads threads (default: the cores divided among the workers); the same "
                              "numbers as one process need the same --threads")
    cluster.add_argument("--ray-address", default=None, metavar="ADDR",
                         help="join this Ray cluster instead (default $RAY_ADDRESS); --out must be a folder every "
                              "node sees")
    ap.add_argument("--threads", type=int, default=None,
                    help="CPU threads for TensorFlow (default: every core); recorded in results.json")
    ap.add_argument("--deterministic", action="store_true",
                    help="turn on TensorFlow op determinism (same numbers on any thread count; slower)")
    return ap


def default_protocol() -> str:
    """paper on a GPU, else fast."""
    from replication.runs import runtime
    return "paper" if runtime.has_gpu() else "fast"


def variant(args: argparse.Namespace) -> str:
    """The protocol variant a command runs ('' for the protocol as it is): DNR's authors' layers, background's
    published letters."""
    from replication.runs.ledger import VARIANTS

    return next((name for name, (experiment, option, value) in VARIANTS.items()
                 if args.experiment == experiment and getattr(args, option, None) == value), "")


def default_folder(args: argparse.Namespace, level: str) -> Path:
    """`reports/<experiment>/paper[-<variant>]` for the paper protocol (the ledger, kept in git: a fresh clone
    resumes it), else `results/<experiment>/<protocol>[-<variant>]`."""
    name = level + (f"-{variant(args)}" if variant(args) else "")
    from replication.runs import ledger

    return (ledger.ROOT if level == "paper" else Path("results")) / args.experiment / name


SCOPE_OPTIONS = {"background": ("splits", "folds", "carlini"), "dnr": ("runs", "datasets"), "unified": (),
                 "dnr-sign": ()}


def check_options(args: argparse.Namespace, ap: argparse.ArgumentParser) -> None:
    """--letters is background's, --layers dnr's: given to another experiment it is an error, not ignored."""
    if args.letters and args.experiment != "background":
        ap.error(f"--letters does not apply to {args.experiment}")
    if args.layers != "paper" and args.experiment != "dnr":
        ap.error(f"--layers does not apply to {args.experiment}")
    if args.folds is not None and args.letters == "published":
        ap.error("--folds limits the letter selection, which --letters published skips")
    if args.splits == 0 and args.letters == "published":
        ap.error(SPLITS_ZERO_NEEDS_SELECTION)


def scope_of(args: argparse.Namespace, ap: argparse.ArgumentParser):
    """The run's Scope from the command line; an option that does not apply to the experiment is an error."""
    from replication.runs.protocols import Scope
    given = {k: getattr(args, k) for k in ("splits", "folds", "carlini", "runs", "datasets")
             if getattr(args, k) != getattr(Scope(), k)}
    wrong = sorted(set(given) - set(SCOPE_OPTIONS[args.experiment]))
    if wrong:
        ap.error(f"{', '.join('--' + ('no-carlini' if k == 'carlini' else k) for k in wrong)} does not apply to "
                 f"{args.experiment}")
    if "runs" in given:
        given["runs"] = runs_option(given["runs"], ap)
    scope = Scope(**{k: tuple(v) if k == "datasets" else v for k, v in given.items()})
    try:
        for k in ("splits", "folds"):
            scope.count(k, 1)  # Scope's own check of the limit
        for name in DNR_DATASETS:
            scope.runs_of(name, 1)
    except ValueError as err:
        ap.error(str(err))
    return scope


def runs_option(values: List[str], ap: argparse.ArgumentParser):
    """`--runs K` (every dataset) or `--runs mnist=K cifar10=K` (per dataset) as `Scope.runs`."""
    if len(values) == 1 and "=" not in values[0]:
        if not values[0].lstrip("-").isdigit():
            ap.error(f"--runs takes a count or DATASET=COUNT, got {values[0]!r}")
        return int(values[0])
    pairs = [v.partition("=") for v in values]
    bad = [v for v, (name, eq, k) in zip(values, pairs)
           if not eq or name not in DNR_DATASETS or not k.lstrip("-").isdigit()]
    if bad:
        ap.error(f"--runs takes a count or DATASET=COUNT per dataset ({', '.join(DNR_DATASETS)}), got {bad[0]!r}")
    return tuple((name, int(k)) for name, _, k in pairs)


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["status"]:  # what the ledger holds and what is left
        from replication.runs import ledger
        return ledger.main(argv[1:])
    ap = parser()
    args = ap.parse_args(argv)
    check_options(args, ap)
    scope = scope_of(args, ap)
    from replication.runs import runtime
    runtime.configure(args.threads, args.deterministic)
    level = args.protocol or default_protocol()
    banner = f"PROTOCOL: {level}" + ("" if args.protocol else " (default: " +
                                     ("a GPU is visible)" if level == "paper" else "no GPU visible)"))
    print("=" * len(banner), banner, "=" * len(banner), sep="\n", flush=True)
    out = Path(args.out or default_folder(args, level))
    from replication.data import DataError
    from replication.runs import protocols
    if args.experiment == "background":
        from replication.background import experiment
        protocol = protocols.background(level)
        if args.letters:
            protocol = dataclasses.replace(protocol, letters=args.letters)
    elif args.experiment == "dnr":
        from replication.dnr import experiment
        protocol = protocols.dnr(level)
        if args.layers == "authors":
            protocol = protocols.with_authors_layers(protocol)
    elif args.experiment == "dnr-sign":
        from replication.dnr import sign as experiment
        protocol = experiment.study(level)
    else:
        from replication.unified import experiment
        protocol = protocols.unified(level)
    from replication.runs.results import FingerprintMismatch
    try:
        # The default folder forks (results/<experiment>/<protocol>-<hash>) when it holds a run with other
        # settings; a folder the user named is never reused for other settings.
        run_args = {"scope": scope} if args.experiment in ("background", "dnr") else {}
        from replication.runs.engine import engine
        run_args["engine"] = engine(args.workers, args.ray_address, args.threads)
        fork = args.out is None and level != "paper"  # the ledger's folders are never forked
        results = experiment.run(protocol, out, args.data_dir, args.seed, fork=fork, **run_args)
    except DataError as err:
        print(f"data error: {err}", file=sys.stderr)
        return 2
    except FingerprintMismatch as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if Path(results["out"]) != out:
        print(f"note: {out} holds a run with other settings; this run is in {results['out']}")
    print(f"report: {Path(results['out']) / 'report.md'}")
    return 0
