"""`python -m replication background`: every experiment of the paper, resumable, into one report."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from replication.background import assembly, carlini, gallery, letters, training, weak_attacks
from replication.background.outcomes import mean_std, outcome_fractions, table_fractions
from replication.background.records import MODELS, Aggregate, Carlini, LetterSelection, Split, WeakAttack
from replication.background.weak_attacks import NORMS
from replication.evaluation import evaluate_point, security_evaluation
from replication.reporting import published
from replication.runs import runtime
from replication.runs.engine import IN_PROCESS, Engine, Job, shared_paths
from replication.runs.protocols import BACKGROUND, WHOLE, BackgroundProtocol, Scope
from replication.runs.results import RunStore, data_digest, jsonable, run_fingerprint, write_json


def fold_predictor(store: RunStore, images: np.ndarray, labels: np.ndarray, p: BackgroundProtocol, seed: int):
    """fit_predict(name, train, test) of the letter selection: one unit per fold."""
    def fit_predict(name, train, test):
        def compute():
            model = training.train_table2_net(store.path(f"models/letters_{name}.keras"), images[train], labels[train],
                                              letters.N_CLASSES, p.selection_epochs, p.batch_size, seed)
            return training.predict(model, training.to_input(images[test])).tolist()
        return store.unit(f"letters/{name}", compute)
    return fit_predict


def select_letters(store: RunStore, pool: assembly.Pool, p: BackgroundProtocol, data_dir, seed: int,
                   limit: Optional[int] = None) -> LetterSelection:
    """Section IV.A on EMNIST Balanced (or a class-balanced pool sample), one unit per fold; with `limit`, a
    provisional selection from the first `limit` fold trainings."""
    images, labels, origin = assembly.selection_data(pool, p.selection_per_class, data_dir, seed)
    total = p.selection_folds * p.selection_repeats
    matrix = letters.run_selection(labels, p.selection_folds, p.selection_repeats, seed,
                                   fold_predictor(store, images, labels, p, seed), limit)
    rates = letters.letter_rates(matrix)
    kept = letters.select(rates, p.selection_threshold)
    return LetterSelection(origin, int(len(labels)), rates, kept,
                           letters.agreement(kept, published.KEPT_LETTERS, published.REMOVED_LETTERS),
                           letters.letter_counts(matrix, labels), min(limit or total, total), total)


def letter_choice(store: RunStore, pool: assembly.Pool, p: BackgroundProtocol, data_dir, seed: int):
    """(the selection's unit or None, the letters kept as background): measured (Section IV.A) or published."""
    if p.letters != "measured":
        return None, published.KEPT_LETTERS
    selection = LetterSelection.from_dict(store.unit("letter_selection", lambda: select_letters(
        store, pool, p, data_dir, seed), inner=p.selection_folds * p.selection_repeats))
    return selection, selection.kept


def split_unit(store: RunStore, i: int, pool: assembly.Pool, labels: np.ndarray, p: BackgroundProtocol,
               seed: int) -> Split:
    return Split.from_dict(store.unit(f"split{i}", lambda: run_split(store, i, pool, labels, p, seed)))


def carlini_unit(store: RunStore, pool: assembly.Pool, kept, p: BackgroundProtocol, data_dir, seed: int) -> Carlini:
    return Carlini.from_dict(store.unit("carlini", lambda: carlini.run_carlini(store, pool, kept, p, data_dir, seed),
                                        inner=2 * len(MODELS)))


def compute_units(protocol: BackgroundProtocol, out: str, data_dir: Optional[str], seed: int, key: str) -> None:
    """A worker's job (`replication.runs.engine`): the units `key` names in the run folder `out` ('letters/<fold>',
    'letter_selection', 'split<i>', 'gallery', 'carlini/models' (the two checkpoints), 'carlini/<model>' or
    'carlini')."""
    pool = assembly.load_pool(protocol.pool_split, data_dir, protocol.pool_limit, seed)
    store = open_store(protocol, Path(out), pool, seed, fork=False)
    if key.startswith("letters/"):
        images, labels, _ = assembly.selection_data(pool, protocol.selection_per_class, data_dir, seed)
        fit_predict = fold_predictor(store, images, labels, protocol, seed)
        for name, train, test in letters.fold_units(labels, protocol.selection_folds, protocol.selection_repeats, seed):
            if f"letters/{name}" == key:
                fit_predict(name, train, test)
        return
    _, kept = letter_choice(store, pool, protocol, data_dir, seed)
    if key == "carlini":
        carlini_unit(store, pool, kept, protocol, data_dir, seed)
    elif key.startswith("carlini/"):
        ready = carlini.prepare(store, pool, kept, protocol, data_dir, seed)
        if key != "carlini/models":
            carlini.attack_unit(store, ready, key[len("carlini/"):], protocol.carlini)
    elif key.startswith("split"):
        split_unit(store, int(key[len("split"):]), pool, assembly.relabel(pool.labels, kept), protocol, seed)
    elif key == "gallery":
        gallery_unit(store, pool, assembly.relabel(pool.labels, kept), protocol, seed)


def stages(p: BackgroundProtocol, scope: Scope = WHOLE) -> List[List[str]]:
    """The keys of a run's jobs in `scope`, as stages of independent work: the letter-selection folds, their summary,
    then the splits beside the Carlini models, then each model's Carlini attack beside the gallery (split 0's models),
    then the Carlini summary."""
    out = []
    if p.letters == "measured":
        folds = letters.fold_names(p.selection_folds, p.selection_repeats)
        out.append([f"letters/{n}" for n in folds[:scope.count("folds", len(folds))]])
        if scope.whole_selection(p):
            out.append(["letter_selection"])
        if scope.partial_selection(p):
            return out
    splits = [f"split{i}" for i in range(scope.count("splits", p.splits))]
    if not scope.carlini:
        return out + [splits, ["gallery"]]
    return out + [splits + ["carlini/models"], [f"carlini/{m}" for m in MODELS] + ["gallery"], ["carlini"]]


def jobs(protocol: BackgroundProtocol, out: Path, data_dir: Optional[str], seed: int, scope: Scope) -> List[List[Job]]:
    """The run's `stages` as engine jobs (`compute_units`)."""
    folder, data = shared_paths(out, data_dir)
    return [[Job(compute_units, (protocol, folder, data, seed, key), key) for key in stage]
            for stage in stages(protocol, scope)]


def run_split(store: RunStore, i: int, pool: assembly.Pool, labels: np.ndarray, p: BackgroundProtocol,
              seed: int) -> Split:
    """Train baseline and defense on split i; clean accuracy, FGS/FG at the paper's eps and over the grids."""
    sets = assembly.split_sets(labels, assembly.make_split(labels, p.test_fraction, seed + i))
    models = {
        name: training.train_table2_net(store.path(f"models/split{i}_{name}.keras"), pool.images[sets[f"{name}_train"]],
                                        labels[sets[f"{name}_train"]], classes, p.epochs, p.batch_size, seed + i)
        for name, classes in (("baseline", BACKGROUND), ("defense", BACKGROUND + 1))
    }
    x, y = training.to_input(pool.images[sets["test"]]), labels[sets["test"]]
    curve_idx = np.random.default_rng(seed + i).permutation(len(y))[:p.curve_samples or len(y)]
    out = Split(assembly.table1_counts(labels, sets), {}, WeakAttack({}, {}), WeakAttack({}, {}), {})
    xs, ys = x[curve_idx], y[curve_idx]
    for name, model in models.items():
        defense = training.defense_of(model)
        out.clean[name] = outcome_fractions(training.classify(defense, x), y)
        for attack, eps in (("fgs", p.fgs_eps), ("fg", p.fg_eps)):
            run = weak_attacks.attack(defense, attack)
            point = evaluate_point(defense, run, x, y, eps, attack)  # Table V: the paper's eps, every test digit
            getattr(out, attack).outcomes[name] = table_fractions(point.outcome)
            getattr(out, attack).l2_mean[name] = float(point.distance.mean())
            curve = security_evaluation(defense, xs, ys, p.fgs_grid if attack == "fgs" else p.fg_grid, {attack: run})
            out.curves.setdefault(attack, {})[name] = [table_fractions(pt.outcome) for pt in curve.points[attack]]
    return out


def aggregate(splits: List[Split]) -> Aggregate:
    """Mean/std over splits of every table quantity, and mean curves."""
    tables = {t: {m: mean_std([s.outcomes(t)[m] for s in splits]) for m in MODELS} for t in ("clean", "fgs", "fg")}
    return Aggregate(
        counts={k: float(np.mean([s.counts[k] for s in splits])) for k in splits[0].counts}, **tables,
        curves={a: {m: [mean_std([s.curves[a][m][j] for s in splits]) for j in range(len(splits[0].curves[a][m]))]
                    for m in MODELS} for a in NORMS},
        l2_mean={a: {m: float(np.mean([getattr(s, a).l2_mean[m] for s in splits])) for m in MODELS} for a in NORMS})


def open_store(protocol: BackgroundProtocol, out: Path, pool: assembly.Pool, seed: int, fork: bool) -> RunStore:
    """The run folder, fingerprinted by protocol (letters included), seed, the pool's partition and content, and
    (measured letters) the letter selection's sampling rule."""
    data = {"pool_partition": pool.partition, "pool_size": int(len(pool.labels)),
            "pool_digest": data_digest(pool.images, pool.labels)}
    if protocol.letters == "measured":
        data["selection_sample"] = assembly.SELECTION_SAMPLE
    return RunStore(out, run_fingerprint("background", protocol.to_dict(), seed, data), fork, runtime.identity())


def unit_names(p: BackgroundProtocol, scope: Scope = WHOLE) -> List[str]:
    """Units of a run in `scope`: its jobs' keys (`stages`), the Carlini models' job standing for each model's
    digest."""
    digests = [f"carlini/{m}_digest" for m in MODELS]
    return [name for stage in stages(p, scope) for key in stage
            for name in (digests if key == "carlini/models" else [key])]


def unit_count(p: BackgroundProtocol, scope: Scope = WHOLE) -> int:
    """How many units `unit_names` lists."""
    return len(unit_names(p, scope))


def run(protocol: BackgroundProtocol, out: Path, data_dir: Optional[str], seed: int, fork: bool = False,
        scope: Scope = WHOLE, engine: Engine = IN_PROCESS) -> Dict:
    """Run (or resume) the experiment's units in `scope` (default: all); writes results.json, report.md and
    figures into the run folder (`out`, or with `fork` a sibling named by the fingerprint when `out` holds a run
    with other settings)."""
    start = time.time()
    n_splits, stops = scope.count("splits", protocol.splits), scope.partial_selection(protocol)
    pool = assembly.load_pool(protocol.pool_split, data_dir, protocol.pool_limit, seed)
    store = open_store(protocol, out, pool, seed, fork)
    out = store.root
    engine.run(jobs(protocol, out, data_dir, seed, scope))
    store.progress(unit_count(protocol, scope), "background units")
    if stops:
        return run_partial_selection(protocol, store, pool, data_dir, seed, scope, engine, start)
    selection, kept = letter_choice(store, pool, protocol, data_dir, seed)
    labels = assembly.relabel(pool.labels, kept)
    splits = [split_unit(store, i, pool, labels, protocol, seed) for i in range(n_splits)]
    weak = gallery_unit(store, pool, labels, protocol, seed)
    cw = carlini_unit(store, pool, kept, protocol, data_dir, seed) if scope.carlini else None
    results = results_of(protocol, store, pool, seed, scope, engine, selection, kept, splits, cw, stages=(
        ["letter_selection"] * (selection is not None) + [f"split{i}" for i in range(n_splits)]
        + ["carlini"] * scope.carlini))
    from replication.background import figures
    results["figures"] = figures.draw_all(results, store, weak, protocol)
    return finish(results, store, start)


def gallery_unit(store: RunStore, pool: assembly.Pool, labels: np.ndarray, p: BackgroundProtocol,
                 seed: int) -> Optional[List[Dict]]:
    """The report gallery's FGS and FG rows from split 0's models (`gallery.weak_rows`), kept as a unit because the
    ledger keeps no background models; None (and no unit) when neither the unit nor the models are in the folder."""
    if not store.has("gallery") and not gallery.has_models(store):
        return None
    return store.unit("gallery", lambda: gallery.weak_rows(store, pool, labels, p, seed))


def results_of(protocol: BackgroundProtocol, store: RunStore, pool: assembly.Pool, seed: int, scope: Scope,
               engine: Engine, selection: Optional[LetterSelection], kept: str, splits: List[Split],
               cw: Optional[Carlini], stages: List[str]) -> Dict:
    """results.json's content (figures and wall time aside); `stages`: the units whose seconds it lists."""
    results = jsonable({
        "experiment": "background", "protocol": protocol.to_dict(), "seed": seed, "out": str(store.root),
        "versions": runtime.versions(), "device": runtime.device_description(), "fingerprint": store.hash,
        "scope": scope.to_dict(), "left_out": scope.left_out(protocol), "engine": engine.describe(),
        "run": runtime.identity(), "units_computed_by": store.computed_by_units(),
        "data": {"pool_partition": pool.partition, "pool_size": int(len(pool.labels)), "source": pool.source,
                 "warning": pool.warning, "kept_letters": kept},
        "letter_selection": selection, "splits": splits, "aggregate": aggregate(splits) if splits else None,
        "carlini": cw, "stage_seconds": {name: store.seconds(name) for name in stages},
        "resumed_units": store.resumed, "units": {"expected": store.expected, "visited": store.visited},
    })
    store.close_progress()
    return results


def finish(results: Dict, store: RunStore, start: float) -> Dict:
    """Write results.json and report.md into the run folder."""
    from replication.background import report
    results["wall_seconds_this_invocation"] = time.time() - start
    write_json(store.root / "results.json", results)
    (store.root / "report.md").write_text(report.render(results))
    return results


def run_partial_selection(protocol: BackgroundProtocol, store: RunStore, pool: assembly.Pool, data_dir: Optional[str],
                          seed: int, scope: Scope, engine: Engine, start: float) -> Dict:
    """A run stopped in its letter selection: inside it (`Scope.folds`), the fold units in scope and the provisional
    selection they give (never stored as the `letter_selection` unit, which rests on every fold); right after it
    (`Scope.splits` 0), the `letter_selection` unit. Then its report."""
    if scope.whole_selection(protocol):
        selection, _ = letter_choice(store, pool, protocol, data_dir, seed)
    else:
        selection = select_letters(store, pool, protocol, data_dir, seed,
                                   scope.count("folds", protocol.selection_folds * protocol.selection_repeats))
    folds = letters.fold_names(protocol.selection_folds, protocol.selection_repeats)[:selection.trainings]
    results = results_of(protocol, store, pool, seed, scope, engine, selection, selection.kept, [], None,
                         stages=[f"letters/{name}" for name in folds])
    from replication.background import figures
    results["figures"] = {"letters": figures.FIGURES["letters"].file}
    figures.letter_rates(selection, protocol.selection_threshold, store.path(results["figures"]["letters"]))
    return finish(results, store, start)
