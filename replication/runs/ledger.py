"""The ledger: the paper protocols' run folders kept in git under `reports/`, filled unit by unit across sessions
and machines, and what is left of them (`python -m replication status`).

A ledger folder is an ordinary run folder (`RunStore`): a fresh clone resumes it, loading every finished unit.
It keeps the units, the trained networks that later units depend on, results.json, report.md and figures; an
unfinished run's SVMs as their support (`stages.save_svms`), rebuilt on resume (refit where a run predates it) and
proven equal to the run's by their digests (`results.verified`).
"""
from __future__ import annotations

import dataclasses
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Dict, List, Optional, Tuple

from replication.runs import protocols
from replication.runs.results import FINGERPRINT_FILE, jsonable, partial_folder, training_record, unit_file

ROOT = Path("reports")

# The paper-count runs the ledger is to hold: (experiment, variant), each in reports/<experiment>/paper[-variant]
CAMPAIGN: Tuple[Tuple[str, str], ...] = (("dnr", ""), ("dnr", "authors-layers"), ("background", "published-letters"),
                                         ("background", ""), ("dnr-sign", ""))

# Seconds per unit at one thread on the "Intel(R) Xeon(R) Processor" machines here, measured by earlier paper-count
# runs (DNR MNIST run 0: stage times of 5,604 s; background split 0 and the Carlini stage, whose two models, 2,768 s,
# train in the first attack's job), used until the folder's own units give a measurement. Keys are unit kinds
# (`kind`). CIFAR-10's units at the paper's counts have never run whole here: see the comments below and
# `CIFAR_OVER_MNIST`.
REFERENCE_SECONDS: Dict[str, Dict[str, float]] = {
    "dnr": {"mnist/network": 885.0, "mnist/run*/defenses": 376.0, "mnist/run*/dnn/eps*": 880.0 / 8,
            "mnist/run*/nr/eps*": 692.0 / 8, "mnist/run*/dnr/eps*": 849.0 / 8,
            "mnist/run*/*/double_init/eps*": 814.0 / 24, "mnist/run*/*/line_search/eps*": 1102.0 / 6,
            "cifar10/network": 75 * 715.0, "cifar10/run*/defenses": 27600.0},
    "background": {"split*": 3000.0, "carlini/baseline": 2768.0 + 4615.0, "carlini/defense": 4637.0, "carlini": 0.0,
                   "letters/*": 437.0, "letter_selection": 0.0, "gallery": 0.0},
}
# One epoch of the CIFAR-10 network at the paper's counts: 715 CPU s, the mean of the paper training's first 5 epochs
# (2026-12-07, "AMD EPYC" AVX2, --threads 1, whose two inter-op threads take ~1.4 cores: 505 s wall alone, 650-780 s
# beside another job). benchmarks/epoch_times.py had timed 306 s wall (one thread, quiet, 2026-12-06) and the MNIST
# network 15 s, against 885 / 50 = 17.7 s on the Intel machines above.
# A letter-selection fold at the paper's counts (offline: 17,554 class-balanced training images, 20 epochs): the
# ledger's first, 437 CPU s on the "AMD EPYC" machine at one thread beside two other jobs.
# A CIFAR-10 defenses unit: ~27,600 CPU s, extrapolated from a partial trace of run 0's (8 of the 16 cells of the
# pool3 search, on the epoch-8 network) and single SVM fits at 1,600-10,000 images (benchmarks/cifar_unit_times.py,
# "AMD EPYC", one thread, 2026-12-07; docs/protocols.md).
# The sign study's cells are DNR MNIST runs on 500 test digits without the DNN's curve: half the DNR reference
REFERENCE_SECONDS["dnr-sign"] = {
    "mnist_e*/network": 885.0 * 3 / 50, "params/*": 376.0, "mnist/run*/defenses": 376.0,
    **{k: v / 2 for k, v in REFERENCE_SECONDS["dnr"].items() if k.startswith("mnist/run*/") and "/dnn/" not in k}}
REFERENCE_FACTOR = {"authors-layers": {"dnr": 95 * 60 / 4700}}  # the authors' 1,600-d pool2 SVM: a run ~95 min
# One iteration of the paper's PGD on CIFAR-10 over one on MNIST, per model (paper networks and layers, SVMs of
# 10,000 support vectors, batch 100, float64 search), timed by benchmarks/attack_unit_costs.py on the "AMD EPYC"
# machine, one thread, quiet (2026-12-06): 3.95 / 0.293 s (DNN), 3.98 / 0.376 s (NR), 10.28 / 0.625 s (DNR). A
# CIFAR-10 attack unit, never run here, is estimated as the MNIST unit of the same kind and model times this ratio
# (same test images, iterations and batches; it assumes as many iterations on CIFAR-10 as on MNIST).
CIFAR_OVER_MNIST = {"dnn": 13.5, "nr": 10.6, "dnr": 16.4}

SHARED = "the main folder's (this variant runs it unchanged)"  # a dataset in `FolderStatus.shared`
BUDGET_BYTES = 100e6  # what the ledger may hold in git: units and small networks (no SVM pickles, no optimizer state)


def folder(experiment: str, variant: str = "", level: str = "paper", root: Path = ROOT) -> Path:
    """`reports/<experiment>/<level>[-<variant>]`."""
    return Path(root) / experiment / (level + (f"-{variant}" if variant else ""))


def protocol_of(experiment: str, variant: str, level: str = "paper"):
    """The protocol a ledger folder runs."""
    if experiment == "dnr":
        p = protocols.dnr(level)
        return protocols.with_authors_layers(p) if variant == "authors-layers" else p
    if experiment == "dnr-sign":
        from replication.dnr import sign
        return sign.study(level)
    p = protocols.background(level)
    return dataclasses.replace(p, letters="published") if variant == "published-letters" else p


def unit_names(experiment: str, protocol) -> List[str]:
    """Every unit of the whole protocol, and each network trained outside a unit (as '<name>/network')."""
    if experiment == "dnr":
        from replication.dnr.experiment import unit_names as names
        sets = (protocol.mnist, protocol.cifar10)
        return [n for p in sets for n in [f"{p.name}/network"] + names(p)]
    if experiment == "dnr-sign":
        from replication.dnr import sign
        return sign.unit_names(protocol)
    from replication.background.experiment import unit_names as names
    return names(protocol)


def kind(name: str, by_model: bool = False) -> str:
    """A unit's kind: its name with run, split, eps, sign-study cell and (unless `by_model`) the model of a check
    generalised ('mnist/run3/nr/double_init/eps1' -> 'mnist/run*/*/double_init/eps*')."""
    out = re.sub(r"^cells/[^/]+/", "", name)  # the sign study: its cells, networks and parameters
    out = re.sub(r"^mnist_e\d+/", "mnist_e*/", out)
    out = re.sub(r"^(params|letters)/.*", r"\1/*", out)  # the sign study's parameters, the letter folds
    out = re.sub(r"run\d+", "run*", out)
    out = re.sub(r"split\d+", "split*", out)
    out = re.sub(r"eps[\d.e+-]+", "eps*", out)
    return out if by_model else re.sub(r"/(dnn|nr|dnr)/(double_init|line_search)/", r"/*/\2/", out)


@dataclass
class UnitState:
    name: str
    done: bool
    seconds: Optional[float]  # measured (done) or estimated (left); None when nothing says


@dataclass
class FolderStatus:
    experiment: str
    variant: str
    path: Path
    units: List[UnitState]
    problem: str = ""         # the folder holds another protocol's run, or units of another fingerprint
    partial: str = ""         # a training cut between epochs
    shared: Tuple[str, ...] = ()  # the datasets this variant leaves to the main folder (`unchanged_datasets`)

    @property
    def done(self) -> int:
        return sum(u.done for u in self.units)

    @property
    def left(self) -> List[UnitState]:
        return [u for u in self.units if not u.done]

    def hours_left(self) -> Tuple[float, int]:
        """Estimated CPU-hours of the units left (one thread), and how many of them have no estimate."""
        known = [u.seconds for u in self.left if u.seconds is not None]
        return sum(known) / 3600.0, len(self.left) - len(known)

    def hours_left_by_part(self) -> Dict[Tuple[str, str], float]:
        """`hours_left` split by (dataset, part): the dataset a unit's name starts with (DNR: mnist, cifar10) and
        its part (`part`); empty for folders whose units name no dataset."""
        out: Dict[Tuple[str, str], float] = {}
        for u in self.left:
            dataset = u.name.split("/")[0]
            if dataset in protocols.DNR_DATASETS:
                key = (dataset, part(u.name))
                out[key] = out.get(key, 0.0) + (u.seconds or 0.0) / 3600.0
        return out

    def timed(self, dataset: str) -> bool:
        """Whether any unit of `dataset` has finished here (else its estimates are references: docs/runs.md)."""
        return any(u.done and u.name.startswith(dataset + "/") for u in self.units)


PARTS = ("network", "defenses", "attacks")


def part(name: str) -> str:
    """A DNR unit's part: the network (its training and digest), the defenses (SVMs, digest, equality check) or
    the attacks (every eps point)."""
    last = name.split("/")[-1]
    if last.startswith("network"):
        return "network"
    return "attacks" if last.startswith("eps") else "defenses"


def cpu_seconds(record: Dict) -> Optional[float]:
    """The CPU seconds a unit or training took; its wall seconds when it predates their count (the ledger's units
    before 2026-12-06, whose wall time a paused or crowded run stretched)."""
    return record.get("cpu_seconds", record.get("seconds"))


def unit_progress(path: Path, run_hash: Optional[str]) -> Tuple[bool, Optional[float]]:
    """(finished by this run, seconds) of a unit file."""
    if not path.exists():
        return False, None
    saved = json.loads(path.read_text())
    return saved.get("fingerprint") == run_hash, cpu_seconds(saved)


def network_state(path: Path, name: str, in_progress: bool = True) -> Tuple[UnitState, str]:
    """A network trained outside a unit: done when its model file is there, with the seconds of its training record;
    with `in_progress`, a training cut between epochs is left with the seconds of its epochs left at its own measured
    CPU seconds per epoch (else, or before any epoch, None: for `estimate` to fill)."""
    from replication.runs.stages import network_file
    dataset = name.split("/")[0]
    model = path / network_file(dataset)
    record = training_record(model)
    seconds = cpu_seconds(json.loads(record.read_text())) if record.exists() else None
    partial = partial_folder(model) / "epochs.json"
    cut = ""
    if in_progress and partial.exists() and not model.exists():
        state = json.loads(partial.read_text())
        cut = f"{dataset} network trained to epoch {state['done']} of {state['of']}"
        per_epoch = cpu_seconds(state) / state["done"] if state["done"] else None
        seconds = None if per_epoch is None else per_epoch * (state["of"] - state["done"])
    return UnitState(name, model.exists(), seconds), cut


def status(experiment: str, variant: str, root: Path = ROOT, in_progress: bool = True) -> FolderStatus:
    """What a ledger folder holds of its protocol's units, and the estimated time of the rest; `in_progress`: also
    read a training cut between epochs (`network_state`), whose checkpoint may be the workspace's alone (git keeps
    no CIFAR-10 one)."""
    path = folder(experiment, variant, root=root)
    protocol = protocol_of(experiment, variant)
    run_hash, problem = None, ""
    if (path / FINGERPRINT_FILE).exists():
        stored = json.loads((path / FINGERPRINT_FILE).read_text())
        run_hash = stored["hash"]
        if stored["fingerprint"]["protocol"] != jsonable(protocol.to_dict()):
            problem = "the folder holds another protocol's run"
    units, partial, shared = [], [], unchanged_datasets(experiment, variant)
    for name in unit_names(experiment, protocol):
        if name.split("/")[0] in shared:  # the main folder's units: the variant would compute the same again
            continue
        if name.endswith("/network"):
            state, cut = network_state(path, name, in_progress)
            units.append(state)
            partial += [cut] if cut else []
            continue
        done, seconds = unit_progress(unit_location(experiment, path, name), run_hash)
        units.append(UnitState(name, done, seconds if done else None))
    base = measured(status(experiment, "", root, in_progress).units) if variant else None
    estimate(units, experiment, variant, base)
    return FolderStatus(experiment, variant, path, units, problem, "; ".join(partial), tuple(sorted(shared)))


def unchanged_datasets(experiment: str, variant: str) -> set:
    """The datasets a DNR variant runs exactly as the main protocol (`--layers authors`: CIFAR-10): the same
    network, SVMs and attacks, so the variant's campaign leaves them to the main folder."""
    if experiment != "dnr" or not variant:
        return set()
    ours, main = protocol_of(experiment, variant), protocol_of(experiment, "")
    return {name for name in protocols.DNR_DATASETS if getattr(ours, name) == getattr(main, name)}


def unit_location(experiment: str, path: Path, name: str) -> Path:
    """The file of a unit of a ledger folder (the sign study keeps each cell's units in its cell's folder)."""
    if experiment == "dnr-sign":
        from replication.dnr import sign
        return sign.unit_path(path, name)
    return unit_file(path, name)


def measured(units: List[UnitState]) -> Dict[str, List[float]]:
    """Seconds of the finished units by kind, by kind and model (`kind`), and by name up to the run or split."""
    out: Dict[str, List[float]] = {}
    for u in units:
        if u.done and u.seconds is not None:
            for key in {kind(u.name), kind(u.name, by_model=True), same(u.name)}:
                out.setdefault(key, []).append(u.seconds)
    return out


def estimate(units: List[UnitState], experiment: str, variant: str,
             base: Optional[Dict[str, List[float]]] = None) -> None:
    """Fill in the seconds of units left that have none (`known_seconds`: the folder's own measurements, for a
    variant the main folder's (`base`), the reference measurements `REFERENCE_SECONDS`); a CIFAR-10 attack unit
    without any, from its MNIST twin (`CIFAR_OVER_MNIST`)."""
    own = measured(units)
    reference = REFERENCE_SECONDS.get(experiment, {})
    factor = REFERENCE_FACTOR.get(variant, {}).get(experiment, 1.0)
    for u in units:
        if u.done or u.seconds is not None:  # done, or a cut training's own estimate (`network_state`)
            continue
        u.seconds = known_seconds(u.name, own, reference, factor, base)
        model = next((m for m in CIFAR_OVER_MNIST if f"/{m}/" in u.name), None)
        if u.seconds is None and u.name.startswith("cifar10/") and model:
            mnist = known_seconds("mnist/" + u.name.split("/", 1)[1], own, reference, factor, base)
            u.seconds = None if mnist is None else mnist * CIFAR_OVER_MNIST[model]


def known_seconds(name: str, own: Dict[str, List[float]], reference: Dict[str, float], factor: float,
                  base: Optional[Dict[str, List[float]]] = None) -> Optional[float]:
    """A unit's seconds: the median of the folder's measured units of the same name in other runs; for a variant,
    else the main folder's (`from_base`); else the median of the folder's of its kind (same model first); else the
    reference measurement of its kind; None when nothing says."""
    if same(name) in own:
        return median(own[same(name)])
    scaled = from_base(name, own, base) if base else None
    if scaled is not None:
        return scaled
    k = kind(name)
    known = next((key for key in (kind(name, by_model=True), k) if key in own), None)
    if known:
        return median(own[known])
    if k in reference:
        return reference[k] * (1.0 if k.endswith("network") else factor)
    if k.endswith("_digest") or k.endswith("/equality"):
        return 0.0  # seconds at most: a few probe images
    return None


def same(name: str) -> str:
    """A unit's name up to its run or split: 'mnist/run3/nr/eps1' -> 'mnist/run*/nr/eps1'."""
    return re.sub(r"(run|split)\d+", r"\1*", name)


def from_base(name: str, own: Dict[str, List[float]], base: Dict[str, List[float]]) -> Optional[float]:
    """A variant's unit from the main folder's measured units of the same name, else of its kind (same model
    first), times the ratio of the variant's to the main folder's attack on the same model at the eps both measured
    (a restart costs what its attack costs, on either layer set), else unscaled; None when the main folder has not
    measured the kind. Medians throughout (of units, of per-eps ratios), so a few paused or crowded units cannot move
    an estimate."""
    known = next((key for key in (same(name), kind(name, by_model=True), kind(name)) if key in base), None)
    if known is None:
        return None
    attack = re.sub(r"/(double_init|line_search)/", "/", kind(name, by_model=True))  # 'mnist/run*/dnr/eps*'
    both = [key for key in own if key in base and key != attack and kind(key, by_model=True) == attack]
    ratio = median(median(own[key]) / median(base[key]) for key in both) if both else 1.0
    return median(base[known]) * ratio


# The protocol variants: name -> (experiment, CLI option, its value). `cli.variant` reads a command's from here.
VARIANTS = {"authors-layers": ("dnr", "layers", "authors"), "published-letters": ("background", "letters", "published")}


def variant_options(variant: str) -> List[str]:
    """The CLI options that select a variant ([] for the protocol as it is)."""
    if not variant:
        return []
    _, option, value = VARIANTS[variant]
    return [f"--{option}", value]


def git_bytes(root: Path = ROOT) -> Optional[int]:
    """What the ledger's tracked files hold in git, in bytes: each distinct file once (a network that a variant's
    folder copies from the main one is one blob), uncompressed; None outside a git checkout."""
    def git(*args: str, stdin: Optional[str] = None) -> str:
        return subprocess.run(["git", "-C", str(root), *args], input=stdin, capture_output=True, text=True,
                              check=True).stdout
    try:
        blobs = {line.split()[1] for line in git("ls-files", "-s", "--", ".").splitlines()}
        sizes = git("cat-file", "--batch-check=%(objectsize)", stdin="\n".join(sorted(blobs)) + "\n")
    except (OSError, subprocess.CalledProcessError):
        return None
    return sum(int(n) for n in sizes.split()) if blobs else 0


def command(experiment: str, variant: str, root: Path = ROOT) -> List[str]:
    """The CLI arguments that run (or resume) a ledger folder at one thread, after `python -m replication` (with
    `--out` when the ledger is not the default `reports/`)."""
    out = [] if Path(root) == ROOT else ["--out", str(folder(experiment, variant, root=root))]
    shared = unchanged_datasets(experiment, variant)
    own = [d for d in protocols.DNR_DATASETS if d not in shared]
    scope = ["--datasets", *own] if shared else []
    return [experiment, "--protocol", "paper", *variant_options(variant), *scope, "--threads", "1", *out]


def render(rows: List[FolderStatus]) -> str:
    """The status table, one line per ledger folder."""
    lines = ["| ledger folder | units done | left | CPU-hours left (1 thread) | note |", "|---|---|---|---|---|"]
    for r in rows:
        hours, unknown = r.hours_left()
        shared = r.shared and f"{', '.join(r.shared)}: {SHARED}"
        note = "; ".join(x for x in (r.problem, r.partial, shared,
                                     unknown and f"{unknown} units without an estimate") if x)
        lines.append(f"| {r.path} | {r.done} of {len(r.units)} | {len(r.left)} | {hours:.1f} | {note} |")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="python -m replication status",
                                 description="What the ledger (reports/) holds of the paper protocols, and what is "
                                             "left to run, in CPU-hours at one thread (estimated from measured "
                                             "unit times).")
    ap.add_argument("--root", default=str(ROOT), help="the ledger's folder (default reports)")
    ap.add_argument("--left", action="store_true", help="also list every unit left")
    args = ap.parse_args(argv)
    rows = [status(e, v, Path(args.root)) for e, v in CAMPAIGN]
    print(render(rows))
    size = git_bytes(Path(args.root))
    if size is not None:
        print(f"\nThe ledger in git: {size / 1e6:.1f} MB of its {BUDGET_BYTES / 1e6:.0f} MB (the files git "
              "tracks, each distinct one once).")
    left = [(e, v) for (e, v), r in zip(CAMPAIGN, rows) if r.left]
    if left:
        print("\nTo run what is left (each resumes its folder; add scope options such as --splits or --runs):")
        print("\n".join("  python -m replication " + " ".join(command(e, v, Path(args.root))) for e, v in left))
    if args.left:
        for r in rows:
            for u in r.left:
                print(f"{r.path}\t{u.name}\t{'?' if u.seconds is None else f'{u.seconds:.0f} s'}")
    return 0
