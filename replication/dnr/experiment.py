"""`python -m replication dnr`: Fig. 3-6 of Sotgiu et al. on MNIST and CIFAR-10, resumable, into one report."""
from __future__ import annotations

import functools
import json
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

from replication.attacks import RejectPGD, double_init
from replication.data import draws
from replication.defenses import Defense, Undefended, evaded, scores_of
from replication.dnr.records import (
    MODELS,
    Aggregate,
    CurvePoint,
    DatasetResult,
    Gallery,
    LineSearchPoint,
    MeanStd,
    RestartPoint,
    Run,
)
from replication.evaluation import EVADED, REJECTED, Point, accurate, checks, security_evaluation, threshold_tradeoff
from replication.evaluation.outcomes import percent
from replication.reporting import published
from replication.runs import runtime, stages
from replication.runs.engine import IN_PROCESS, Engine, Job, shared_paths
from replication.runs.protocols import WHOLE, DNRDataset, DNRProtocol, Scope
from replication.runs.results import RunStore, data_digest, jsonable, run_fingerprint, unit_cache, write_json


def equality_check(defenses: Dict[str, Defense], images: np.ndarray) -> Dict:
    """TF scorers vs the scikit-learn pipelines on real images: max relative difference, prediction agreement."""
    x = draws.pixels(images)
    out = {}
    for name in ("nr", "dnr"):
        ref = defenses[name].decision_function(x)
        got = scores_of(defenses[name].scorer, x)[:, :-1].astype(np.float64)
        out[name] = {"max_rel_diff": float(np.max(np.abs(got - ref) / np.maximum(np.abs(ref), 1e-3))),
                     "same_predictions": bool(np.array_equal(got.argmax(1), ref.argmax(1)))}
    return out


SECML_HALVINGS = 10


def pgd(p: DNRDataset, defense: Defense, halvings: Optional[int] = None,
        restart: Optional[np.ndarray] = None, precision: str = "float64") -> RejectPGD:
    """The protocol's defense-aware PGD on `defense` (`halvings` overrides the protocol's line search; `restart`:
    the reference images of secml's double initialisation; `precision`: the search's, never the protocols')."""
    return RejectPGD(defense, eta=p.pgd_eta, max_iter=p.pgd_max_iter, tol=p.pgd_tol, doublings=p.pgd_doublings,
                     batch_size=p.attack_batch, halvings=p.pgd_halvings if halvings is None else halvings,
                     restart=restart, precision=precision)


Defenses = Callable[[str], Defense]  # a run's model by name ('dnn', 'nr', 'dnr'), built when first asked for


def not_stored(key: str) -> Point:
    raise KeyError(f"unit {key} was expected in the run folder")


def attack_sweep(store: RunStore, p: DNRDataset, run: int, name: str, defenses: Defenses, x: np.ndarray,
                 y: np.ndarray) -> List[CurvePoint]:
    """One model's security evaluation curve (`security_evaluation` with the protocol's PGD), one unit per eps;
    read from the run folder without building the model when every unit is there."""
    cache = unit_cache(store, f"{p.name}/run{run}")
    keys = [f"{name}/eps{e:g}" for e in p.eps_grid]
    if all(store.has(f"{p.name}/run{run}/{k}") for k in keys):
        points = [cache(k, lambda k=k: not_stored(k)) for k in keys]
    else:
        defense = defenses(name)
        points = security_evaluation(defense, x, y, p.eps_grid, {name: pgd(p, defense)}, cache=cache,
                                     keep_adversarial=True).points[name]
    example = published.DNR_EXAMPLE_EPS[p.name]  # Fig. 5/6's eps; the gallery shows the nearest on the grid
    gallery_eps = min(p.eps_grid[1:], key=lambda e: abs(e - example)) if len(p.eps_grid) > 1 else None
    return [curve_point(pt, x, y, pt.eps == gallery_eps) for pt in points]


def curve_point(point: Point, x: np.ndarray, y: np.ndarray, gallery: bool) -> CurvePoint:
    """What the run keeps of a point: accuracy and rejection (%), each sample's outcome, top class score and
    class (Fig. 4's trade-off), the largest L2, why survivors stopped, and (`gallery`) the first sample (Fig. 5/6)."""
    codes, classes = point.outcome, point.scores[:, :-1]
    shown = None if not gallery else Gallery(
        x[0], point.adversarial[0], int(classes[0].argmax()), bool(codes[0] == REJECTED), int(y[0]))
    return CurvePoint(point.eps, percent(accurate(codes, point.eps > 0)), percent(codes == REJECTED), point.seconds,
                      classes.max(1), classes.argmax(1), codes, point.distance.max(), point.iterations,
                      checks.survivor_causes(accurate(codes, True), point.still_improving, point.flat_gradient),
                      shown)


def restart_sweep(store: RunStore, p: DNRDataset, run: int, name: str, defenses: Defenses, x: np.ndarray,
                  y: np.ndarray, reference: np.ndarray, points: List[CurvePoint]) -> List[RestartPoint]:
    """The attack-strength check: secml's double-initialisation restart on the samples each eps left unevaded."""
    attack = functools.cache(lambda: pgd(p, defenses(name), restart=reference))  # built for the first unit computed
    out = []
    for point in points:
        def compute(point=point) -> RestartPoint:
            start = time.time()
            result = double_init.restart(attack(), x, y, point.eps, point.outcome == EVADED)
            rejected = (point.outcome == REJECTED) & ~result["restart_evaded"]
            clean = point.eps == 0
            return RestartPoint(point.eps, point.accuracy if clean else 100.0 * float((~result["evaded"]).mean()),
                                point.rejection if clean else 100.0 * float(rejected.mean()),
                                100.0 * float(result["restart_evaded"].mean()), int(len(result["index"])),
                                time.time() - start, result["evaded"])
        out.append(RestartPoint.from_dict(store.unit(f"{p.name}/run{run}/{name}/double_init/eps{point.eps:g}",
                                                     compute)))
    return out


def line_search_check(store: RunStore, p: DNRDataset, name: str, defenses: Defenses, x: np.ndarray,
                      y: np.ndarray, points: List[CurvePoint]) -> List[LineSearchPoint]:
    """The paper's step search (eta * 2^k, k >= 0) against secml's, which may also shrink the step (10 halvings),
    on the same samples at `p.line_search_check`'s eps: per-sample evasion under each (run 0)."""
    attack = functools.cache(lambda: pgd(p, defenses(name), halvings=SECML_HALVINGS))
    out = []
    for point in points:
        if not any(abs(point.eps - e) < 1e-9 for e in p.line_search_check):
            continue

        def compute(point=point) -> LineSearchPoint:
            start = time.time()
            adv, _ = attack().attack(x, y, point.eps)
            return LineSearchPoint(point.eps, time.time() - start, point.outcome == EVADED,
                                   evaded(scores_of(defenses(name).scorer, adv), y))
        out.append(LineSearchPoint.from_dict(store.unit(f"{p.name}/run0/{name}/line_search/eps{point.eps:g}",
                                                        compute)))
    return out


def run_units(store: RunStore, p: DNRDataset, protocol: DNRProtocol, model, pool: draws.Pool, run: int,
              seed: int, draw: Optional[Dict] = None, params: Optional[Dict] = None,
              attacked: Tuple[str, ...] = MODELS) -> Run:
    """One run: defenses, equality check, the three security evaluation curves (and their checks). A designed
    study's run may replace the run's draw (`draws.run_draw`) and its chosen SVM parameters, and attack only some
    models (`attacked`)."""
    draw = draws.run_draw(pool, p, run, seed) if draw is None else draw
    info, models = stages.defenses_of(store, p, protocol, model, pool, draw, run, seed, params)

    @functools.cache
    def defenses(name: str) -> Defense:
        return Undefended(model) if name == "dnn" else dict(zip(("nr", "dnr"), models()))[name]
    x, y = draws.pixels(pool.images[draw["test"]]), pool.labels[draw["test"]]
    check = store.unit(f"{p.name}/run{run}/equality", lambda: equality_check(
        {m: defenses(m) for m in ("nr", "dnr")}, pool.images[draw["validation"]][:200]))
    curves = {m: attack_sweep(store, p, run, m, defenses, x, y) for m in attacked}
    out = Run(np.asarray(y, np.int64), info, check, curves)
    if run == 0 and p.line_search_check:
        out.line_search = {m: line_search_check(store, p, m, defenses, x, y, curves[m]) for m in ("nr", "dnr")}
    if p.double_init:
        reference = draws.pixels(pool.images[draw["validation"]])
        out.double_init = {m: restart_sweep(store, p, run, m, defenses, x, y, reference, curves[m])
                           for m in attacked}
    digest = f"{p.name}/run{run}/defenses_digest"
    if store.has(digest) and digest not in store.timings and digest not in store.resumed:
        store.unit(digest, lambda: None)  # every unit was there: the models were never needed, nor rebuilt
    stages.drop_svms(store, p, run)
    return out


def run_dataset(store: RunStore, p: DNRDataset, protocol: DNRProtocol, pool: draws.Pool, seed: int,
                runs_in_scope: int) -> DatasetResult:
    """Network, then the first `runs_in_scope` runs."""
    model = stages.train_network(store, p, pool, seed, source=network_source(store.root, protocol.level))
    runs = [run_units(store, p, protocol, model, pool, run, seed) for run in range(runs_in_scope)]
    return DatasetResult(list(p.feature_layers), model.name, int(model.count_params()), pool.source, runs,
                         aggregate(p, runs))


def network_alone(store: RunStore, p: DNRDataset, pool: draws.Pool, seed: int, level: str) -> Dict:
    """A dataset at 0 runs: its network (trained, or loaded) and, as the unit `<dataset>/network_accuracy`, its clean
    accuracy on the official test partition (never in its training set)."""
    model = stages.train_network(store, p, pool, seed, source=network_source(store.root, level))

    def compute() -> Dict:
        x, y = draws.pixels(pool.images[pool.test_idx]), pool.labels[pool.test_idx]
        pred = np.argmax(model.predict(x, batch_size=500, verbose=0), axis=1)
        return {"correct": int(np.sum(pred == y)), "n": int(len(y))}
    return {"network": model.name, "network_params": int(model.count_params()),
            **store.unit(f"{p.name}/network_accuracy", compute)}


def network_source(out: Path, level: str) -> Path:
    """The protocol's main run folder beside a variant's (`<root>/dnr/<level>` for `<root>/dnr/<level>-<variant>`):
    a variant takes the network trained there when it was trained exactly as its own would be (`--layers authors`
    changes only the SVMs), so both variants attack the same network."""
    return Path(out).parent / level


def load_pools(protocol: DNRProtocol, data_dir: Optional[str], seed: int) -> Dict[str, draws.Pool]:
    return {p.name: draws.load_pool(p, data_dir, seed) for p in (protocol.mnist, protocol.cifar10)}


def compute_units(protocol: DNRProtocol, out: str, data_dir: Optional[str], seed: int, dataset: str,
                  run: Optional[int]) -> None:
    """A worker's job (`replication.runs.engine`): `dataset`'s network (run None) or its run `run`, in the run folder
    `out`."""
    pools = load_pools(protocol, data_dir, seed)
    store = open_store(protocol, Path(out), pools, seed, fork=False)
    p = getattr(protocol, dataset)
    model = stages.train_network(store, p, pools[dataset], seed, source=network_source(store.root, protocol.level))
    if run is not None:
        run_units(store, p, protocol, model, pools[dataset], run, seed)


def jobs(protocol: DNRProtocol, out: Path, data_dir: Optional[str], seed: int, scope: Scope) -> List[List[Job]]:
    """Stages of independent units: each dataset's network, then every run of every dataset."""
    sets = [p for p in (protocol.mnist, protocol.cifar10) if scope.has(p.name)]
    folder, data = shared_paths(out, data_dir)
    job = lambda p, run: Job(compute_units, (protocol, folder, data, seed, p.name, run),  # noqa: E731
                             p.name + ("" if run is None else f"/run{run}"))
    return [[job(p, None) for p in sets], [job(p, r) for p in sets for r in range(scope.runs_of(p.name, p.runs))]]


def unit_names(p: DNRDataset, scope: Scope = WHOLE) -> List[str]:
    """Units of one dataset in `scope`: the network's digest; per run the defenses and their digest, the equality
    check, three curves (and their restarts); run 0's line search check. At 0 runs: the network's digest and its
    clean accuracy."""
    if not scope.has(p.name):
        return []
    names, runs = [f"{p.name}/network_digest"], scope.runs_of(p.name, p.runs)
    if runs == 0:
        return names + [f"{p.name}/network_accuracy"]
    for run in range(runs):
        prefix = f"{p.name}/run{run}"
        names += [f"{prefix}/defenses", f"{prefix}/defenses_digest", f"{prefix}/equality"]
        names += [f"{prefix}/{m}/eps{e:g}" for m in MODELS for e in p.eps_grid]
        if p.double_init:
            names += [f"{prefix}/{m}/double_init/eps{e:g}" for m in MODELS for e in p.eps_grid]
        if run == 0:
            checked = [e for e in p.eps_grid if any(abs(e - c) < 1e-9 for c in p.line_search_check)]
            names += [f"{prefix}/{m}/line_search/eps{e:g}" for m in ("nr", "dnr") for e in checked]
    return names


def unit_count(p: DNRDataset, scope: Scope = WHOLE) -> int:
    """How many units `unit_names` lists."""
    return len(unit_names(p, scope))


def open_store(protocol: DNRProtocol, out: Path, pools: Dict[str, draws.Pool], seed: int, fork: bool) -> RunStore:
    """The run folder, fingerprinted by protocol, seed and the content of both datasets."""
    data = {name: {"digest": data_digest(pool.images, pool.labels)} for name, pool in pools.items()}
    return RunStore(out, run_fingerprint("dnr", protocol.to_dict(), seed, data), fork, runtime.identity())


def aggregate(p: DNRDataset, runs: List[Run]) -> Aggregate:
    """Mean/std over runs of accuracy and rejection per model and eps; Fig. 4 trade-off from run 0; sanity."""
    curves = {m: {key: MeanStd.of([[getattr(pt, key) for pt in r.curves[m]] for r in runs])
                  for key in ("accuracy", "rejection")} for m in MODELS}
    first = runs[0]
    tradeoff = {}
    for m in ("nr", "dnr"):
        clean_top = first.curves[m][0].top
        thetas = np.quantile(clean_top, np.linspace(0.0, 0.5, 26))
        tradeoff[m] = {f"{pt.eps:g}": threshold_tradeoff(clean_top, pt.top, pt.pred, first.y, thetas)
                       for pt in first.curves[m][1:]}
    causes = {m: {k: float(np.mean([r.curves[m][-1].causes[k] for r in runs])) for k in first.curves[m][-1].causes}
              for m in MODELS}
    out = Aggregate(list(p.eps_grid), curves, tradeoff, causes,
                    checks.sanity(p.eps_grid, {m: curves[m]["accuracy"].mean for m in MODELS}, causes))
    if first.double_init is not None:
        out.double_init = {m: {key: MeanStd.of([[getattr(pt, key) for pt in r.double_init[m]] for r in runs])
                               for key in ("accuracy", "rejection", "restart_gain")} for m in MODELS}
        out.double_init_sanity = checks.sanity(p.eps_grid, {m: out.double_init[m]["accuracy"].mean for m in MODELS})
    return out


def sign_study(out: Path, level: str) -> Optional[Dict]:
    """The results of the sign study of the same protocol (`replication.dnr.sign`), in its folder beside this
    run's (`<root>/dnr-sign/<level>` for a run in `<root>/dnr/<folder>`), if it has run."""
    path = Path(out).parent.parent / "dnr-sign" / level / "results.json"
    return json.loads(path.read_text()) if path.exists() else None


def run(protocol: DNRProtocol, out: Path, data_dir: Optional[str], seed: int, fork: bool = False,
        scope: Scope = WHOLE, engine: Engine = IN_PROCESS) -> Dict:
    """Run (or resume) both datasets' units in `scope` (default: all); writes results.json, report.md and figures
    into the run folder (`out`, or with `fork` a sibling named by the fingerprint when `out` holds a run with other
    settings)."""
    start = time.time()
    pools = load_pools(protocol, data_dir, seed)
    store = open_store(protocol, out, pools, seed, fork)
    engine.run(jobs(protocol, store.root, data_dir, seed, scope))
    store.progress(sum(unit_count(p, scope) for p in (protocol.mnist, protocol.cifar10)), "dnr units")
    datasets, networks = {}, {}
    for p in (protocol.mnist, protocol.cifar10):
        if not scope.has(p.name):
            continue
        runs = scope.runs_of(p.name, p.runs)
        if runs == 0:
            networks[p.name] = network_alone(store, p, pools[p.name], seed, protocol.level)
            continue
        t = time.time()
        datasets[p.name] = run_dataset(store, p, protocol, pools[p.name], seed, runs)
        datasets[p.name].seconds_this_invocation = time.time() - t
    store.close_progress()
    out = store.root
    results = jsonable({"experiment": "dnr", "protocol": protocol.to_dict(), "seed": seed, "out": str(out),
                        "versions": runtime.versions(), "device": runtime.device_description(),
                        "fingerprint": store.hash, "scope": scope.to_dict(), "left_out": scope.left_out(protocol),
                        "engine": engine.describe(), "run": runtime.identity(),
                        "units_computed_by": store.computed_by_units(), "datasets": datasets, "networks": networks,
                        "resumed_units": store.resumed,
                        "units": {"expected": store.expected, "visited": store.visited}})
    results["sign_study"] = sign_study(out, protocol.level)
    from replication.dnr import figures, report
    results["figures"] = figures.draw_all(results, store)
    results["wall_seconds_this_invocation"] = time.time() - start
    write_json(out / "results.json", results)
    (out / "report.md").write_text(report.render(results))
    return results
