"""`python -m replication dnr`: Fig. 3-6 of Sotgiu et al. on MNIST and CIFAR-10, resumable, into one report."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import keras
import numpy as np

from keras_models.dnr import build_cifar_net, build_mnist_net, compile_dnr_net, feature_extractor
from replication import published, runtime
from replication.attacks import RejectPGD, double_init
from replication.dnr import draws, evaluation
from replication.dnr.rejection import DNR, NR, select_params
from replication.dnr.tf_svm import Scorer, dnn_scorer, dnr_scorer, nr_scorer
from replication.protocols import DNRDataset, DNRProtocol
from replication.results import RunStore, data_digest, load_or_train, run_fingerprint, write_json

MODELS = ("dnn", "nr", "dnr")
N_CLASSES = 10
BUILDERS = {"mnist": build_mnist_net, "cifar10": build_cifar_net}
GALLERY_EPS = {"mnist": 1.0, "cifar10": 0.2}  # Fig. 5 and Fig. 6


def train_network(store: RunStore, p: DNRDataset, pool: draws.Pool, seed: int) -> keras.Model:
    """The dataset's network, trained once (Table 2) and checkpointed."""
    def train() -> keras.Model:
        keras.utils.set_random_seed(seed)
        model = compile_dnr_net(BUILDERS[p.name](), p.learning_rate)
        model.fit(draws.pixels(pool.images[pool.dnn_idx]), pool.labels[pool.dnn_idx], batch_size=p.batch_size,
                  epochs=p.epochs, shuffle=True, verbose=1 if sys.stdout.isatty() else 2)
        return model

    return load_or_train(store.path(f"models/{p.name}_dnn.keras"), train)


def features(extractor: keras.Model, images: np.ndarray) -> List[np.ndarray]:
    """Per-layer features (float64 for the SVMs)."""
    out = extractor.predict(draws.pixels(images), batch_size=256, verbose=0)
    return [np.asarray(f, np.float64) for f in out]


def choose_params(p: DNRDataset, feats: List[np.ndarray], y: np.ndarray, folds: int, seed: int) -> Dict:
    """(C, gamma) per SVM: k-fold CV for clean accuracy (paper), or the authors' published values."""
    if not p.search_params:
        pub = published.DNR_SVM_PARAMS[p.name]
        return {"source": "published (authors' code)", "layers": [pub[f"layer_{i}"] for i in range(3)],
                "combiner": pub["combiner"], "nr": pub["nr"]}
    sub = slice(0, p.cv_samples)
    grid = dict(Cs=p.C_grid, gammas=p.gamma_grid, folds=p.cv_folds, seed=seed)
    layers = [select_params(f[sub], y[sub], **grid) for f in feats]
    oof = DNR(layers, (1.0, 1.0), folds, seed).out_of_fold_scores([f[sub] for f in feats], y[sub])
    return {"source": f"{p.cv_folds}-fold CV on {len(y[sub])} samples", "layers": layers,
            "combiner": select_params(oof, y[sub], **grid), "nr": layers[-1]}


def fit_defenses(store: RunStore, p: DNRDataset, protocol: DNRProtocol, extractor, pool, draw, run: int,
                 seed: int) -> Tuple[NR, DNR, Dict]:
    """NR and DNR of one run (checkpointed), with theta rejecting `reject_rate` of the validation samples."""
    nr_path, dnr_path = store.path(f"models/{p.name}_run{run}_nr.joblib"), store.path(f"models/{p.name}_run{run}_dnr.joblib")

    def compute():
        train = features(extractor, pool.images[draw["svm_train"]])
        y = pool.labels[draw["svm_train"]]
        params = choose_params(p, train, y, protocol.stacking_folds, seed)
        nr = NR(*params["nr"]).fit(train, y)
        dnr = DNR(params["layers"], params["combiner"], protocol.stacking_folds, seed).fit(train, y)
        val = features(extractor, pool.images[draw["validation"]])
        for defense, path in ((nr, nr_path), (dnr, dnr_path)):
            defense.set_threshold(val, protocol.reject_rate)
            defense.save(path)
        return {"params": params, "theta": {"nr": nr.theta, "dnr": dnr.theta},
                "support_vectors": {"nr": int(nr.svm.estimators_[0].support_vectors_.shape[0])}}

    info = store.unit(f"{p.name}/run{run}/defenses", compute)
    return NR.load(nr_path), DNR.load(dnr_path), info


def equality_check(scorers: Dict[str, Scorer], nr: NR, dnr: DNR, extractor, images: np.ndarray) -> Dict:
    """TF scorers vs the scikit-learn pipelines on real images: max relative difference, prediction agreement."""
    feats = features(extractor, images)
    x = draws.pixels(images)
    out = {}
    for name, defense in (("nr", nr), ("dnr", dnr)):
        ref = defense.decision_function(feats)
        got = scorers[name](x).numpy().astype(np.float64)
        out[name] = {"max_rel_diff": float(np.max(np.abs(got - ref) / np.maximum(np.abs(ref), 1e-3))),
                     "same_predictions": bool(np.array_equal(got.argmax(1), ref.argmax(1)))}
    return out


def scores_of(scorer: Scorer, x: np.ndarray, batch: int = 200) -> np.ndarray:
    return np.concatenate([scorer(x[i:i + batch]).numpy() for i in range(0, len(x), batch)])


SECML_HALVINGS = 10


def pgd(p: DNRDataset, scorer: Scorer, halvings: Optional[int] = None) -> RejectPGD:
    """The protocol's defense-aware PGD on `scorer` (`halvings` overrides the protocol's line search)."""
    return RejectPGD(scorer, eta=p.pgd_eta, max_iter=p.pgd_max_iter, tol=p.pgd_tol, doublings=p.pgd_doublings,
                     batch_size=p.attack_batch, halvings=p.pgd_halvings if halvings is None else halvings)


def attack_sweep(store: RunStore, p: DNRDataset, run: int, name: str, scorer: Scorer, x: np.ndarray,
                 y: np.ndarray) -> List[Dict]:
    """One model's security evaluation curve: one unit per eps."""
    attack = pgd(p, scorer)
    gallery_eps = min(p.eps_grid[1:], key=lambda e: abs(e - GALLERY_EPS[p.name])) if len(p.eps_grid) > 1 else None
    points = []
    for eps in p.eps_grid:
        def compute(eps=eps):
            start = time.time()
            adv, history = attack.attack(x, y, eps)
            scores = scores_of(scorer, adv)
            point = evaluation.outcome(scores, scorer.theta, y, eps)
            diag = attack.diagnose(adv, y, history)
            correct = (scores.max(1) <= scorer.theta) | (scores.argmax(1) == y)
            point.update(eps=eps, seconds=time.time() - start, top=scores.max(1), pred=scores.argmax(1),
                         l2=np.sqrt(((adv - x) ** 2).reshape(len(x), -1).sum(1)).max(), iterations=diag["iterations"],
                         causes=evaluation.survivor_causes(correct, diag["still_improving"], diag["flat_gradient"]))
            if eps == gallery_eps:
                point["gallery"] = {"x": x[0], "adv": adv[0], "pred": int(scores[0].argmax()),
                                    "rejected": bool(scores[0].max() <= scorer.theta), "true": int(y[0])}
            return point
        points.append(store.unit(f"{p.name}/run{run}/{name}/eps{eps:g}", compute))
    return points


def restart_sweep(store: RunStore, p: DNRDataset, run: int, name: str, scorer: Scorer, x: np.ndarray,
                  y: np.ndarray, starts: np.ndarray, points: List[Dict]) -> List[Dict]:
    """The attack-strength check: secml's double-initialisation restart on the samples each eps left unevaded."""
    attack = pgd(p, scorer)
    out = []
    for point in points:
        def compute(point=point):
            start = time.time()
            top, pred = np.asarray(point["top"]), np.asarray(point["pred"])
            first = (pred != y) & (top > scorer.theta)
            result = double_init.restart(attack, x, y, point["eps"], starts,
                                          double_init.evaded_by_scores(scorer, scorer.theta), first)
            rejected = (top <= scorer.theta) & ~result["restart_evaded"]
            accuracy = point["accuracy"] if point["eps"] == 0 else 100.0 * float((~result["evaded"]).mean())
            return {"eps": point["eps"], "accuracy": accuracy,
                    "rejection": point["rejection"] if point["eps"] == 0 else 100.0 * float(rejected.mean()),
                    "restart_gain": 100.0 * float(result["restart_evaded"].mean()),
                    "restarted": int(len(result["index"])), "seconds": time.time() - start,
                    "evaded": result["evaded"]}
        out.append(store.unit(f"{p.name}/run{run}/{name}/double_init/eps{point['eps']:g}", compute))
    return out


def line_search_check(store: RunStore, p: DNRDataset, name: str, scorer: Scorer, x: np.ndarray, y: np.ndarray,
                      points: List[Dict]) -> List[Dict]:
    """The paper's step search (eta * 2^k, k >= 0) against secml's, which may also shrink the step (10 halvings),
    on the same samples at `p.line_search_check`'s eps: per-sample evasion under each (run 0)."""
    attack = pgd(p, scorer, halvings=SECML_HALVINGS)
    out = []
    for point in points:
        if not any(abs(point["eps"] - e) < 1e-9 for e in p.line_search_check):
            continue

        def compute(point=point):
            start = time.time()
            adv, _ = attack.attack(x, y, point["eps"])
            scores = scores_of(scorer, adv)
            top, pred = np.asarray(point["top"]), np.asarray(point["pred"])
            return {"eps": point["eps"], "seconds": time.time() - start,
                    "evaded_paper": (pred != y) & (top > scorer.theta),
                    "evaded_secml": double_init.evaded(scores, scorer.theta, y)}
        out.append(store.unit(f"{p.name}/run0/{name}/line_search/eps{point['eps']:g}", compute))
    return out


def run_dataset(store: RunStore, p: DNRDataset, protocol: DNRProtocol, pool: draws.Pool, seed: int) -> Dict:
    """Network, then per run: defenses, equality check, and the three security evaluation curves."""
    model = train_network(store, p, pool, seed)
    layers = list(p.feature_layers)
    extractor = feature_extractor(model, layers)
    runs = []
    for run in range(p.runs):
        draw = draws.run_draw(pool, p, run, seed)
        nr, dnr, info = fit_defenses(store, p, protocol, extractor, pool, draw, run, seed)
        scorers = {"dnn": dnn_scorer(model), "nr": nr_scorer(extractor, nr), "dnr": dnr_scorer(extractor, dnr)}
        x, y = draws.pixels(pool.images[draw["test"]]), pool.labels[draw["test"]]
        check = store.unit(f"{p.name}/run{run}/equality",
                           lambda: equality_check(scorers, nr, dnr, extractor, pool.images[draw["validation"]][:200]))
        curves = {m: attack_sweep(store, p, run, m, scorers[m], x, y) for m in MODELS}
        runs.append({"defenses": info, "equality": check, "curves": curves, "y": y})
        if run == 0 and p.line_search_check:
            runs[-1]["line_search"] = {m: line_search_check(store, p, m, scorers[m], x, y, curves[m])
                                       for m in ("nr", "dnr")}
        if p.double_init:
            reference = draws.pixels(pool.images[draw["validation"]])
            runs[-1]["double_init"] = {
                m: restart_sweep(store, p, run, m, scorers[m], x, y,
                                 double_init.class_starts(scorers[m], reference, N_CLASSES), curves[m])
                for m in MODELS}
    return {"feature_layers": layers, "network": model.name, "network_params": int(model.count_params()),
            "data_source": pool.source, "runs": runs, "aggregate": aggregate(p, runs)}


def open_store(protocol: DNRProtocol, out: Path, pools: Dict[str, draws.Pool], seed: int, fork: bool) -> RunStore:
    """The run folder, fingerprinted by protocol, seed and the content of both datasets."""
    data = {name: {"digest": data_digest(pool.images, pool.labels)} for name, pool in pools.items()}
    return RunStore(out, run_fingerprint("dnr", protocol.to_dict(), seed, data), fork, runtime.identity())


def aggregate(p: DNRDataset, runs: List[Dict]) -> Dict:
    """Mean/std over runs of accuracy and rejection per model and eps; Fig. 4 trade-off from run 0; sanity."""
    out: Dict = {"eps": list(p.eps_grid)}
    for m in MODELS:
        for key in ("accuracy", "rejection"):
            out.setdefault(m, {})[key] = mean_std([[pt[key] for pt in r["curves"][m]] for r in runs])
    first = runs[0]
    out["tradeoff"] = {}
    for m in ("nr", "dnr"):
        clean_top = np.asarray(first["curves"][m][0]["top"])
        thetas = np.quantile(clean_top, np.linspace(0.0, 0.5, 26))
        out["tradeoff"][m] = {f"{pt['eps']:g}": evaluation.threshold_tradeoff(
            clean_top, np.asarray(pt["top"]), np.asarray(pt["pred"]), first["y"], thetas)
            for pt in first["curves"][m][1:]}
    out["causes"] = {m: {k: float(np.mean([r["curves"][m][-1]["causes"][k] for r in runs]))
                         for k in runs[0]["curves"][m][-1]["causes"]} for m in MODELS}
    out["sanity"] = evaluation.sanity(p.eps_grid, {m: out[m]["accuracy"]["mean"] for m in MODELS}, out["causes"])
    if "double_init" in runs[0]:
        out["double_init"] = {m: {key: mean_std([[pt[key] for pt in r["double_init"][m]] for r in runs])
                                  for key in ("accuracy", "rejection", "restart_gain")} for m in MODELS}
        out["double_init_sanity"] = evaluation.sanity(
            p.eps_grid, {m: out["double_init"][m]["accuracy"]["mean"] for m in MODELS})
    return out


def mean_std(values: List[List[float]]) -> Dict[str, List[float]]:
    """Mean and sample std over runs (axis 0); std 0 for a single run."""
    values = np.asarray(values, float)
    return {"mean": values.mean(0).tolist(),
            "std": (values.std(0, ddof=1) if len(values) > 1 else 0 * values[0]).tolist()}


def run(protocol: DNRProtocol, out: Path, data_dir: Optional[str], seed: int, fork: bool = False) -> Dict:
    """Run (or resume) both datasets; writes results.json, report.md and figures into the run folder (`out`, or
    with `fork` a sibling named by the fingerprint when `out` holds a run with other settings)."""
    start = time.time()
    pools = {p.name: draws.load_pool(p, data_dir, seed) for p in (protocol.mnist, protocol.cifar10)}
    store = open_store(protocol, out, pools, seed, fork)
    datasets = {}
    for p in (protocol.mnist, protocol.cifar10):
        t = time.time()
        datasets[p.name] = run_dataset(store, p, protocol, pools[p.name], seed)
        datasets[p.name]["seconds_this_invocation"] = time.time() - t
    out = store.root
    results = {"experiment": "dnr", "protocol": protocol.to_dict(), "seed": seed, "out": str(out),
               "versions": runtime.versions(), "device": runtime.device_description(), "fingerprint": store.hash,
               "run": runtime.identity(), "units_computed_by": store.computed_by_units(), "datasets": datasets,
               "resumed_units": store.resumed}
    from replication.dnr import figures, report
    results["figures"] = figures.draw_all(results, store)
    results["wall_seconds_this_invocation"] = time.time() - start
    write_json(out / "results.json", results)
    (out / "report.md").write_text(report.render(results))
    return results
