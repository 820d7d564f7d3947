"""Command line: `python -m replication <experiment> [options]`."""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import List, Optional

from replication.protocols import LEVELS

EXPERIMENTS = {"background": "McCoyd & Wagner 2018, background class defense on EMNIST (Tables I, III, IV, V)",
               "dnr": "Sotgiu et al. 2020, deep neural rejection on MNIST and CIFAR-10 (Fig. 3-6)",
               "unified": "beyond the papers: the background class under the adaptive attack; undefended, background "
                          "class, NR and DNR on one MNIST axis"}


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m replication",
        description="Replicate adversarial-ML papers end to end and report measured vs published numbers.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Re-running the same command resumes: finished units in --out are loaded, not recomputed.")
    ap.add_argument("experiment", choices=sorted(EXPERIMENTS),
                    help="; ".join(f"{k}: {v}" for k, v in EXPERIMENTS.items()))
    ap.add_argument("--protocol", choices=LEVELS, default=None,
                    help="paper: the published protocol exactly (GPU-sized); fast: same method, reduced counts, "
                         "under an hour on a 2-core CPU; smoke: tiny counts, minutes (tests). "
                         "Default: paper when TensorFlow sees a GPU, else fast.")
    ap.add_argument("--data-dir", default=None,
                    help="directory of the official raw files (offline); default $REPLICATION_DATA_DIR, "
                         "else tensorflow-datasets")
    ap.add_argument("--out", default=None, help="results folder (default results/<experiment>/<protocol>)")
    ap.add_argument("--seed", type=int, default=0, help="base random seed (default 0)")
    ap.add_argument("--letters", choices=("measured", "published"), default=None,
                    help="background only: run the confusing-letter selection (measured) or use the paper's "
                         "set (published); default: the protocol's (measured)")
    ap.add_argument("--threads", type=int, default=None,
                    help="CPU threads for TensorFlow (default: every core); recorded in results.json")
    ap.add_argument("--deterministic", action="store_true",
                    help="turn on TensorFlow op determinism (same numbers on any thread count; slower)")
    return ap


def default_protocol() -> str:
    """paper on a GPU, else fast."""
    from replication import runtime
    return "paper" if runtime.has_gpu() else "fast"


def main(argv: Optional[List[str]] = None) -> int:
    args = parser().parse_args(argv)
    from replication import runtime
    runtime.configure(args.threads, args.deterministic)
    level = args.protocol or default_protocol()
    banner = f"PROTOCOL: {level}" + ("" if args.protocol else " (default: " +
                                     ("a GPU is visible)" if level == "paper" else "no GPU visible)"))
    print("=" * len(banner), banner, "=" * len(banner), sep="\n", flush=True)
    out = Path(args.out or f"results/{args.experiment}/{level}")
    from replication import protocols
    from replication.data import DataError
    if args.experiment == "background":
        from replication.background import experiment
        protocol = protocols.background(level)
        if args.letters:
            protocol = dataclasses.replace(protocol, letters=args.letters)
    elif args.experiment == "dnr":
        from replication.dnr import experiment
        protocol = protocols.dnr(level)
    else:
        from replication.unified import experiment
        protocol = protocols.unified(level)
    from replication.results import FingerprintMismatch
    try:
        # The default folder forks (results/<experiment>/<protocol>-<hash>) when it holds a run with other
        # settings; a folder the user named is never reused for other settings.
        results = experiment.run(protocol, out, args.data_dir, args.seed, fork=args.out is None)
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
