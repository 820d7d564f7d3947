"""`python -m replication dnr-sign`: which setting moves the sign of DNR - NR (issue 20, section 3).

A paired 2 x 2 x 2 on MNIST, one run per cell: the network's epochs (the `fast` protocol's 3, the paper's 50), the
digits training the SVMs (2,000, 10,000) and the layers feeding them (the paper's text, the authors' code). Every
cell attacks the same test digits and sets theta on the same validation digits (the paper protocol's run-0 draw;
the 2,000-digit cells train on the first 2,000 of its 10,000 SVM digits), so cells are compared digit by digit.
The SVM parameters of each layer set are chosen once, by the protocol's cross-validation on the 50-epoch
network's features of the 10,000 digits (for the paper's layers: the choice of the ledger's DNR run 0), and held
in all its cells: between runs of one protocol the cross-validation's choice moves DNR - NR by itself, and
choosing again per cell would mix it into every factor. Each cell's NR and DNR are attacked with the paper's PGD
and its restart (the DNN, the same in every cell of an epoch count, is not attacked).
"""
from __future__ import annotations

import dataclasses
import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from replication.data import draws
from replication.defenses import DNR
from replication.dnr import claims
from replication.dnr.experiment import run_units
from replication.dnr.records import Run
from replication.evaluation import stats
from replication.evaluation.stats import Interval
from replication.runs import protocols, runtime, stages
from replication.runs.engine import IN_PROCESS, Engine, Job, shared_paths
from replication.runs.protocols import DNRDataset, DNRProtocol
from replication.runs.results import (
    RunStore,
    data_digest,
    digest_differences,
    jsonable,
    load_unit,
    run_fingerprint,
    unit_file,
    write_json,
)

LAYER_SETS = {"paper": protocols.PAPER_LAYERS["mnist"], "authors": protocols.AUTHORS_CODE_LAYERS["mnist"]}
DEFENSES = ("nr", "dnr")


@dataclass(frozen=True)
class Cell:
    """One setting of the three factors."""

    epochs: int
    svm_train: int
    layers: str

    @property
    def name(self) -> str:
        return f"e{self.epochs}-s{self.svm_train}-{self.layers}"


@dataclass(frozen=True)
class SignStudy:
    """The design: two levels per factor (low first), the test digits and the eps grid; the rest is `dnr`'s
    MNIST protocol at `level`."""

    level: str
    epochs: Tuple[int, int] = (3, 50)
    svm_train: Tuple[int, int] = (2000, 10000)
    layers: Tuple[str, str] = ("paper", "authors")
    test: int = 500
    eps_grid: Tuple[float, ...] = (0.0, 1.0, 2.0, 3.0)

    @property
    def base(self) -> DNRProtocol:
        return protocols.dnr(self.level)

    def cells(self) -> List[Cell]:
        return [Cell(e, n, layer) for e, n, layer in itertools.product(self.epochs, self.svm_train, self.layers)]

    def factors(self) -> Dict[str, Tuple]:
        return {"epochs": self.epochs, "svm_train": self.svm_train, "layers": self.layers}

    def to_dict(self) -> Dict:
        return {"design": dataclasses.asdict(self), "dnr": self.base.to_dict()}


def study(level: str) -> SignStudy:
    """The design at `level`: the paper's counts; `fast` and `smoke` shrink the levels and the test digits."""
    if level == "paper":
        return SignStudy("paper")
    if level == "fast":
        return SignStudy("fast", epochs=(1, 3), svm_train=(500, 2000), test=200)
    if level == "smoke":
        return SignStudy("smoke", epochs=(1, 2), svm_train=(100, 200), test=10, eps_grid=(0.0, 1.0))
    raise ValueError(f"unknown protocol {level!r}; choose one of {protocols.LEVELS}")


def cell_dataset(s: SignStudy, cell: Cell) -> DNRDataset:
    """The DNR MNIST protocol of one cell."""
    return dataclasses.replace(s.base.mnist, epochs=cell.epochs, svm_train=cell.svm_train,
                               feature_layers=LAYER_SETS[cell.layers], test=s.test, eps_grid=s.eps_grid, runs=1,
                               line_search_check=(), double_init=True)


def shared_draw(s: SignStudy, pool: draws.Pool, seed: int) -> Dict[str, np.ndarray]:
    """Run 0's draw at the larger SVM count: its SVM digits, validation digits and first `test` test digits."""
    return draws.run_draw(pool, dataclasses.replace(s.base.mnist, svm_train=max(s.svm_train), test=s.test), 0, seed)


def cell_draw(draw: Dict[str, np.ndarray], cell: Cell) -> Dict[str, np.ndarray]:
    return {**draw, "svm_train": draw["svm_train"][:cell.svm_train]}


def network_name(epochs: int) -> str:
    return f"mnist_e{epochs}"


def cell_folder(out: Path, name: str) -> Path:
    """Where a cell's run folder sits inside the study's."""
    return Path(out) / "cells" / name


def open_store(s: SignStudy, out: Path, pool: draws.Pool, seed: int, cell: Optional[Cell] = None,
               fork: bool = False) -> RunStore:
    """The study's folder (`fork`: a sibling named by the fingerprint when `out` holds other settings), or one
    cell's (`cells/<name>`, same fingerprint: a cell is named by its folder)."""
    fingerprint = run_fingerprint("dnr-sign", s.to_dict(), seed,
                                  {"mnist": {"digest": data_digest(pool.images, pool.labels)}})
    return RunStore(out if cell is None else cell_folder(out, cell.name), fingerprint, fork, runtime.identity())


def network(store: RunStore, s: SignStudy, pool: draws.Pool, epochs: int, seed: int, source: Path):
    """The study's network trained `epochs` epochs: the DNR ledger's where it is the same network (copied, proven
    by the ledger's digest); else trained here."""
    p = dataclasses.replace(s.base.mnist, epochs=epochs)
    return stages.train_network(store, p, pool, seed, name=network_name(epochs), source=source)


def layer_params(store: RunStore, s: SignStudy, pool: draws.Pool, draw: Dict, layers: str, seed: int,
                 source: Path) -> Dict:
    """The SVM parameters of a layer set, chosen once (the protocol's cross-validation at the larger epochs and SVM
    count) and held in every cell of that set."""
    ref = cell_dataset(s, Cell(max(s.epochs), max(s.svm_train), layers))

    def compute() -> Dict:
        model = network(store, s, pool, ref.epochs, seed, source)
        y = pool.labels[draw["svm_train"]]
        probe = DNR(model, list(ref.feature_layers), [(1.0, 1.0)] * len(ref.feature_layers), (1.0, 1.0),
                    s.base.stacking_folds, seed)
        feats = probe.features(draws.pixels(pool.images[draw["svm_train"]]))
        return stages.choose_params(ref, feats, y, s.base.stacking_folds, seed)
    return store.unit(f"params/{layers}", compute)


def cell_run(out: Path, s: SignStudy, pool: draws.Pool, cell: Cell, seed: int, source: Path) -> Run:
    """One cell: its network, its layer set's parameters, NR and DNR on the cell's SVM digits, both attacks."""
    store = open_store(s, out, pool, seed)
    draw = shared_draw(s, pool, seed)
    params = layer_params(store, s, pool, draw, cell.layers, seed, source)
    model = network(store, s, pool, cell.epochs, seed, source)
    p = cell_dataset(s, cell)
    return run_units(open_store(s, out, pool, seed, cell), p, s.base, model, pool, 0, seed,
                     draw=cell_draw(draw, cell), params=params, attacked=DEFENSES)


def unit_names(s: SignStudy) -> List[str]:
    """The study's units: each network (as '<name>/network') and its digest, each layer set's parameters, and per
    cell (`cells/<cell>/...`) the run's defenses, digest, equality check and both attacks per eps."""
    names = [n for e in s.epochs for n in (f"{network_name(e)}/network", f"{network_name(e)}/network_digest")]
    names += [f"params/{layers}" for layers in s.layers]
    for cell in s.cells():
        prefix = f"cells/{cell.name}/mnist/run0"
        names += [f"{prefix}/defenses", f"{prefix}/defenses_digest", f"{prefix}/equality"]
        names += [f"{prefix}/{m}/{kind}eps{e:g}" for m in DEFENSES for kind in ("", "double_init/")
                  for e in s.eps_grid]
    return names


def unit_path(root: Path, name: str) -> Path:
    """The file of a unit `unit_names` lists."""
    if name.startswith("cells/"):
        _, cell, rest = name.split("/", 2)
        return unit_file(cell_folder(root, cell), rest)
    return unit_file(root, name)


# --- what the cells say -------------------------------------------------------------------------------------------

def differences(run: Run, restart: bool) -> np.ndarray:
    """Per test digit and eps > 0: DNR correct minus NR correct (1, 0 or -1)."""
    eps = range(1, len(run.curves["nr"]))
    return np.stack([claims.correct(run, "dnr", i, restart).astype(float) -
                     claims.correct(run, "nr", i, restart).astype(float) for i in eps], 1)


def as_dict(interval: Interval) -> Dict:
    return dataclasses.asdict(interval)


def contrast(s: SignStudy, per_digit: Dict[str, np.ndarray], group: Tuple[str, ...]) -> Dict:
    """The 2^3 design's contrast of `group` (levels coded -1 / +1): the mean over the cells whose product of signs
    is +1 minus the mean over those where it is -1, per digit, with a paired bootstrap over the digits the cells
    share. One factor: its main effect (its higher level's cells minus its lower level's); two or three: their
    interaction on the same scale (for two, half the difference between one factor's effect at the other's higher
    and at its lower level)."""
    factors = s.factors()
    sign = lambda c: np.prod([1.0 if getattr(c, f) == factors[f][1] else -1.0 for f in group])  # noqa: E731
    side = lambda k: np.mean([per_digit[c.name] for c in s.cells() if sign(c) == k], 0)  # noqa: E731
    return as_dict(stats.bootstrap_mean(side(1.0) - side(-1.0)))


def main_effects(s: SignStudy, per_digit: Dict[str, np.ndarray]) -> Dict[str, Dict]:
    """Each factor's main effect on DNR - NR (`contrast`), from each cell's per-digit DNR - NR (by cell name)."""
    return {factor: contrast(s, per_digit, (factor,)) for factor in s.factors()}


def interactions(s: SignStudy, per_digit: Dict[str, np.ndarray]) -> Dict[str, Dict]:
    """Each interaction of two or three factors (`contrast`): how much a factor's main effect changes with the
    level of the other(s). Keys: the factors joined by ' x '."""
    factors = s.factors()
    return {" x ".join(group): contrast(s, per_digit, group)
            for size in range(2, len(factors) + 1) for group in itertools.combinations(factors, size)}


def summarise(s: SignStudy, runs: Dict[str, Run]) -> Dict:
    """Per cell: parameters, thetas, accuracy per eps and DNR - NR (mean over eps > 0, and per eps), under the
    paper's attack and with the restart; per factor its main effect, and the interactions."""
    cells: Dict[str, Dict] = {}
    per_digit: Dict[str, Dict[str, np.ndarray]] = {"paper": {}, "restart": {}}
    for c in s.cells():
        run = runs[c.name]
        cell = {"epochs": c.epochs, "svm_train": c.svm_train, "layers": c.layers, "theta": run.defenses["theta"],
                "equality": run.equality}
        for restart in (False, True):
            d = differences(run, restart)
            per_digit["restart" if restart else "paper"][c.name] = d.mean(1)
            cell["restart" if restart else "paper"] = {
                "dnr_minus_nr": as_dict(stats.bootstrap_mean(d)),
                "per_eps": [as_dict(stats.bootstrap_mean(d[:, j])) for j in range(d.shape[1])],
                "accuracy": {m: [100.0 * float(claims.correct(run, m, i, restart).mean())
                                 for i in range(len(s.eps_grid))] for m in DEFENSES}}
        cells[c.name] = cell
    return {"cells": cells, "effects": {attack: {**main_effects(s, d), **interactions(s, d)}
                                        for attack, d in per_digit.items()}}


def ledger_agreement(s: SignStudy, out: Path, source: Path) -> Optional[Dict]:
    """The cell at the paper's settings is the DNR ledger's run 0 on its first `test` digits (same network, SVM
    digits, validation digits and, where the cross-validation chose them alike, SVM parameters): whether its
    defenses' digest and its per-digit outcomes are run 0's. None when the ledger or the cell is not there."""
    paper = s.base.mnist
    corner = Cell(paper.epochs, paper.svm_train, "paper")
    if corner not in s.cells() or LAYER_SETS["paper"] != paper.feature_layers:
        return None
    ours, theirs = cell_folder(out, corner.name), Path(source)
    digest = "mnist/run0/defenses_digest"
    if not (unit_file(ours, digest).exists() and unit_file(theirs, digest).exists()):
        return None
    read = lambda root, name: load_unit(unit_file(root, name))["result"]  # noqa: E731
    digest_gap = digest_differences(read(theirs, digest), read(ours, digest))
    same, total = 0, 0
    for name in (f"mnist/run0/{m}/{kind}eps{e:g}" for m in DEFENSES for kind in ("", "double_init/")
                 for e in s.eps_grid[1:]):
        if not (unit_file(ours, name).exists() and unit_file(theirs, name).exists()):
            continue
        key = "evaded" if "double_init" in name else "outcome"
        a, b = np.asarray(read(ours, name)[key]), np.asarray(read(theirs, name)[key])[:s.test]
        same, total = same + int((a == b).sum()), total + len(a)
    return {"cell": corner.name, "defenses_digest_differences": digest_gap, "same_outcomes": same,
            "outcomes": total}


# --- the command --------------------------------------------------------------------------------------------------

def dnr_folder(out: Path, level: str) -> Path:
    """The DNR run folder of the same protocol beside the study's (`<root>/dnr/<level>` for `<root>/dnr-sign/...`;
    in the ledger, `reports/dnr/paper`)."""
    return Path(out).parent.parent / "dnr" / level


def compute_units(s: SignStudy, out: str, data_dir: Optional[str], seed: int, what: str, source: str) -> None:
    """A worker's job: a network ('network:<epochs>'), a layer set's parameters ('params:<layers>') or a cell
    ('cell:<name>')."""
    pool = draws.load_pool(s.base.mnist, data_dir, seed)
    store = open_store(s, Path(out), pool, seed)
    kind, _, arg = what.partition(":")
    if kind == "network":
        network(store, s, pool, int(arg), seed, Path(source))
    elif kind == "params":
        layer_params(store, s, pool, shared_draw(s, pool, seed), arg, seed, Path(source))
    else:
        cell_run(Path(out), s, pool, next(c for c in s.cells() if c.name == arg), seed, Path(source))


def jobs(s: SignStudy, out: Path, data_dir: Optional[str], seed: int, source: Path) -> List[List[Job]]:
    """Networks, then each layer set's parameters, then the cells."""
    folder, data = shared_paths(out, data_dir)
    ledger = str(Path(source).resolve())
    job = lambda what: Job(compute_units, (s, folder, data, seed, what, ledger), what)  # noqa: E731
    return [[job(f"network:{e}") for e in s.epochs], [job(f"params:{layers}") for layers in s.layers],
            [job(f"cell:{c.name}") for c in s.cells()]]


def run(s: SignStudy, out: Path, data_dir: Optional[str], seed: int, fork: bool = False,
        engine: Engine = IN_PROCESS, source: Optional[Path] = None) -> Dict:
    """Run (or resume) every cell; writes results.json and report.md into the study's folder (`out`, or with
    `fork` a sibling named by the fingerprint when `out` holds other settings). `source`: the DNR run folder whose
    network the study adopts where it is the same, and whose run 0 it is checked against (default `dnr_folder`)."""
    start = time.time()
    pool = draws.load_pool(s.base.mnist, data_dir, seed)
    store = open_store(s, out, pool, seed, fork=fork)
    out, source = store.root, dnr_folder(out, s.level) if source is None else Path(source)
    engine.run(jobs(s, store.root, data_dir, seed, source))
    runs = {c.name: cell_run(out, s, pool, c, seed, source) for c in s.cells()}
    results = jsonable({"experiment": "dnr-sign", "study": s.to_dict()["design"], "seed": seed, "out": str(out),
                        "versions": runtime.versions(), "device": runtime.device_description(),
                        "fingerprint": store.hash, "engine": engine.describe(),
                        "units_computed_by": store.computed_by_units(),
                        "params": {layers: store.unit(f"params/{layers}", lambda: None) for layers in s.layers},
                        "ledger_agreement": ledger_agreement(s, out, source),
                        **summarise(s, runs), "wall_seconds_this_invocation": time.time() - start})
    write_json(Path(out) / "results.json", results)
    from replication.dnr import sign_report
    (Path(out) / "report.md").write_text(sign_report.render(results))
    return results
