"""Unified experiment: (1) the background class under FGS/FG, non-adaptive PGD and the adaptive PGD; (2) all
defenses on one axis (adaptive L2 PGD, same samples, same eps grid); (3) the threshold trade-off of each."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from replication.defenses import Defense
from replication.evaluation import Point, checks, security_evaluation, threshold_tradeoff
from replication.runs import runtime, stages
from replication.runs.engine import IN_PROCESS, Engine, Job, shared_paths
from replication.runs.protocols import UnifiedProtocol
from replication.runs.results import RunStore, data_digest, jsonable, run_fingerprint, unit_cache, write_json
from replication.unified import attacks, style
from replication.unified.detectors import outcomes, view
from replication.unified.models import MODELS, Data, build, load_data
from replication.unified.records import AttackPoint, Axis, RestartPoint

CURVE_MODELS = ("baseline", "background")   # part 1: the background-class paper's two models
REJECTORS = ("background", "nr", "dnr")     # part 3: the models with a reject option


def sweep(store: RunStore, model: str, defense: Defense, attack: str, eps: List[float], x: np.ndarray,
          y: np.ndarray, p: UnifiedProtocol) -> List[AttackPoint]:
    """One (model, attack) security evaluation over `eps` (`security_evaluation`), one resumable unit per eps."""
    evaluation = security_evaluation(defense, x, y, eps, {attack: attacks.attack_for(attack, defense, p)},
                                     cache=unit_cache(store, model))
    return [attack_point(pt, y) for pt in evaluation.points[attack]]


def attack_point(pt: Point, y: np.ndarray) -> AttackPoint:
    """What the run keeps of a point: outcome percentages, each sample's digit and margin, and for the adaptive
    attacks (eps > 0) why samples stopped."""
    pred, margin = view(pt.scores)
    rates = outcomes(pred, margin, y)
    diag = ({} if pt.iterations is None or pt.eps == 0 else
            {"iterations": pt.iterations, "still_improving": float(pt.still_improving.mean()),
             "flat_gradient": float(pt.flat_gradient.mean())})
    accuracy = rates["correct"] + (rates["detected"] if pt.eps > 0 else 0.0)  # a detection is correct under attack
    return AttackPoint(pt.eps, pt.seconds, **rates, accuracy=accuracy, pred=pred, margin=margin, diagnostics=diag)


def grid(p: UnifiedProtocol, attack: str):
    return p.l2_grid if attacks.ATTACKS[attack][0] == "l2" else p.linf_grid


def first_below(eps: List[float], acc: List[float], level: float) -> Optional[float]:
    """Smallest eps > 0 at which accuracy under attack is below `level` %, None if it never is."""
    return next((e for e, a in zip(eps, acc) if e > 0 and a < level), None)


def open_store(protocol: UnifiedProtocol, out: Path, data: Data, seed: int, fork: bool) -> RunStore:
    """The run folder, fingerprinted by protocol, seed and the content of the MNIST pool and EMNIST images."""
    digest = {"mnist": data_digest(data.mnist.images, data.mnist.labels),
              "emnist": data_digest(data.letters, data.emnist_digits, data.emnist_digit_labels),
              "emnist_partition": data.letter_info["partition"]}
    return RunStore(out, run_fingerprint("unified", protocol.to_dict(), seed, digest), fork, runtime.identity())


def style_control(store: RunStore, data: Data, setup, seed: int) -> Dict:
    """Does the background class detect EMNIST's style? (see `replication.unified.style`)."""
    def compute():
        mnist = data.mnist.images[data.mnist.dnn_idx][:len(data.emnist_digits)]
        return {"separability": style.style_separability(mnist, data.emnist_digits, seed),
                "background_on_emnist_digits": style.background_on_emnist_digits(
                    setup.defenses["background"], data.emnist_digits, data.emnist_digit_labels)}
    return store.unit("style_control", compute)


def unit_count(p: UnifiedProtocol) -> int:
    """Units of a run: NR/DNR and the digests of the network and of NR/DNR, the style control, the
    background-class curves and the one axis (adaptive, restart, reject-aware)."""
    curves = len(CURVE_MODELS) * sum(len(grid(p, a)) for a in attacks.ATTACKS)
    e = len(p.dnr.mnist.eps_grid)
    return 4 + curves + len(MODELS) * e * (2 if p.double_init else 1) + len(REJECTORS) * e


def run(protocol: UnifiedProtocol, out: Path, data_dir: Optional[str], seed: int, fork: bool = False,
        engine: Engine = IN_PROCESS) -> Dict:
    """Run (or resume) all three parts; writes results.json, report.md and figures into the run folder (`out`, or
    with `fork` a sibling named by the fingerprint when `out` holds a run with other settings)."""
    start = time.time()
    data = load_data(protocol, data_dir, seed)
    store = open_store(protocol, out, data, seed, fork)
    out = store.root
    engine.run(jobs(protocol, out, data_dir, seed))
    store.progress(unit_count(protocol), "unified units")
    setup = build(store, protocol, data, seed)
    y = setup.y
    control = style_control(store, data, setup, seed)
    units = {m: model_units(store, protocol, setup, m) for m in MODELS}
    stages.drop_svms(store, protocol.dnr.mnist, 0)  # the run is whole: NR and DNR stay in models/ (pickled)
    curves = {m: units[m]["curves"] for m in CURVE_MODELS}
    axis = one_axis(protocol, setup, units)
    results = jsonable({"experiment": "unified", "protocol": protocol.to_dict(), "seed": seed, "out": str(out),
               "versions": runtime.versions(), "device": runtime.device_description(), "fingerprint": store.hash,
               "run": runtime.identity(), "units_computed_by": store.computed_by_units(), "setup": setup.info,
               "engine": engine.describe(),
               "style_control": control, "y": y, "curves": curves, "axis": axis,
               "tradeoff": {m: tradeoff_curves(axis.points[m], y, protocol.tradeoff_eps) for m in REJECTORS},
               "resumed_units": store.resumed,
               "units": {"expected": store.expected, "visited": store.visited}})
    store.close_progress()
    from replication.unified import figures, report
    results["figures"] = figures.draw_all(results, store)
    results["wall_seconds_this_invocation"] = time.time() - start
    write_json(out / "results.json", results)
    (out / "report.md").write_text(report.render(results))
    return results


def one_axis(protocol: UnifiedProtocol, setup, units: Dict[str, Dict]) -> Axis:
    """Part 2 from each model's units (`model_units`): every model under the adaptive L2 PGD, its double-
    initialisation restart and (models with a reject option) the reject-aware variant; the per-sample worst case,
    where each model fails, and the sanity checks."""
    y, eps = setup.y, list(protocol.dnr.mnist.eps_grid)
    axis = {m: units[m]["axis"] for m in MODELS}
    restarts = {m: units[m]["restart"] for m in MODELS} if protocol.double_init else {}
    aware = {m: units[m]["reject_aware"] for m in REJECTORS}
    worst = worst_case(y, axis, restarts, aware)
    accuracy = lambda curves: {m: [pt.accuracy for pt in c] for m, c in curves.items()}  # noqa: E731
    fails = {m: {"below_50": first_below(eps, worst[m], 50.0), "below_10": first_below(eps, worst[m], 10.0)}
             for m in MODELS}
    return Axis(eps, axis, restarts, aware, worst, fails, checks.sanity(eps, accuracy(axis)),
                checks.sanity(eps, accuracy(restarts)), checks.sanity(eps, worst),
                {m: axis[m][-1].diagnostics for m in MODELS})


def restart_units(store: RunStore, protocol: UnifiedProtocol, setup, m: str,
                  points: List[AttackPoint]) -> List[RestartPoint]:
    """Model m's double-initialisation restart of the adaptive L2 PGD, one unit per eps."""
    attack = attacks.adaptive(setup.defenses[m], "l2", protocol, restart=setup.reference)
    return [RestartPoint.from_dict(store.unit(f"{m}/adaptive_l2_restart/eps{pt.eps:g}",
                                              lambda pt=pt: attacks.restart(attack, pt, setup.x, setup.y)))
            for pt in points]


def model_units(store: RunStore, protocol: UnifiedProtocol, setup, m: str) -> Dict:
    """Every unit of model m: its part-1 curves (CURVE_MODELS), its axis points, their restart, the reject-aware
    attack (REJECTORS); an entry the model does not have is None."""
    x, y, defense = setup.x, setup.y, setup.defenses[m]
    eps = protocol.dnr.mnist.eps_grid
    curves = ({a: sweep(store, m, defense, a, grid(protocol, a), x, y, protocol) for a in attacks.ATTACKS}
              if m in CURVE_MODELS else None)
    axis = sweep(store, m, defense, "adaptive_l2", eps, x, y, protocol)
    restart = restart_units(store, protocol, setup, m, axis) if protocol.double_init else None
    aware = sweep(store, m, defense, "reject_aware_l2", eps, x, y, protocol) if m in REJECTORS else None
    return {"curves": curves, "axis": axis, "restart": restart, "reject_aware": aware}


def compute_units(protocol: UnifiedProtocol, out: str, data_dir: Optional[str], seed: int, key: str) -> None:
    """A worker's job (`replication.runs.engine`) in the run folder `out`: 'models' trains them all, 'style' is the
    style control, any other key is a model's units (`model_units`)."""
    data = load_data(protocol, data_dir, seed)
    store = open_store(protocol, Path(out), data, seed, fork=False)
    setup = build(store, protocol, data, seed)
    if key == "style":
        style_control(store, data, setup, seed)
    elif key != "models":
        model_units(store, protocol, setup, key)


def jobs(protocol: UnifiedProtocol, out: Path, data_dir: Optional[str], seed: int) -> List[List[Job]]:
    """Stages of independent units: the models, then the style control and each model's attacks."""
    folder, data = shared_paths(out, data_dir)
    job = lambda key: Job(compute_units, (protocol, folder, data, seed, key), key)  # noqa: E731
    return [[job("models")], [job("style")] + [job(m) for m in MODELS]]


def worst_case(y: np.ndarray, *attacks: Dict[str, List]) -> Dict[str, List[float]]:
    """Per model and eps, accuracy when a sample counts as evaded as soon as any of the attacks evades it."""
    out: Dict[str, List[float]] = {}
    for m in attacks[0]:
        curves = [a[m] for a in attacks if m in a]
        out[m] = [pts[0].accuracy if pts[0].eps == 0 else
                  100.0 * float(1.0 - np.any([pt.evaded_samples(y) for pt in pts], 0).mean()) for pts in zip(*curves)]
    return out


def tradeoff_curves(points: List[AttackPoint], y: np.ndarray, eps_values) -> Dict:
    """Accuracy under attack vs false-reject rate as the margin threshold moves (thresholds: clean quantiles)."""
    clean = points[0].margin
    thetas = np.quantile(clean, np.linspace(0.0, 0.5, 26))
    out = {}
    for pt in points[1:]:
        if any(abs(pt.eps - e) < 1e-9 for e in eps_values):
            out[f"{pt.eps:g}"] = threshold_tradeoff(clean, pt.margin, pt.pred, y, thetas)
    out["operating_point"] = {"false_reject": float((clean <= 0).mean() * 100)}
    return out
