"""Stages two experiments share, built on the library and checkpointed in a run's store: the DNR paper's network
and its NR/DNR for one run (the DNR experiment and the unified axis), and the background-class paper's Table II
network (the background experiment and the unified axis)."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import keras
import numpy as np

from keras_models.background import build_background_net, compile_background_net
from keras_models.dnr import build_cifar_net, build_mnist_net, compile_dnr_net
from replication.data import draws
from replication.defenses import DNR, NR, select_params, stacked_scores
from replication.defenses.svm import ovr_from_support, ovr_support
from replication.reporting import published
from replication.runs.protocols import DNRDataset, DNRProtocol
from replication.runs.results import (
    FINGERPRINT_FILE,
    ModelMismatch,
    RunStore,
    digest_differences,
    jsonable,
    load_unit,
    save_arrays,
    train_by_epoch,
    training_record,
    unit_file,
    verified,
)

BUILDERS = {"mnist": build_mnist_net, "cifar10": build_cifar_net}
PIXELS = (-0.5, 0.5)  # the Table II network's input range (Section IV)


def keras_verbosity() -> int:
    """Keras' per-epoch lines (2) when the output is a log, its progress bar (1) on a terminal."""
    return 1 if sys.stdout.isatty() else 2


def train_network(store: RunStore, p: DNRDataset, pool: draws.Pool, seed: int, name: str = "",
                  source: Optional[Path] = None) -> keras.Model:
    """The dataset's network, trained once (Table 2) and checkpointed (`name`: another network of the same run
    folder, e.g. 'mnist_e3'; default the dataset's). `source`: another run folder whose network, when it was trained
    exactly as this one would be, is taken instead of training (`adopt_network`) and proven by its digest there."""
    name = name or p.name
    x, y = draws.pixels(pool.images[pool.dnn_idx]), pool.labels[pool.dnn_idx]
    shared = source is not None and adopt_network(store, p, seed, Path(source), name)
    model = train_by_epoch(store.path(network_file(name)),
                           lambda: compile_dnr_net(BUILDERS[p.name](), p.learning_rate),
                           lambda model: fit_one_epoch(model, x, y, p.batch_size), p.epochs, seed)
    ours = verified(store, f"{name}/network_digest", network_digest(model, x[:PROBES]))
    theirs = unit_file(Path(source), f"{p.name}/network_digest") if shared else None
    if theirs is not None and theirs.exists():
        diffs = digest_differences(load_unit(theirs)["result"], ours)
        if diffs:
            raise ModelMismatch(f"the network taken from {source} differs from its digest there ({diffs[0]})")
    return model


NETWORK_SETTINGS = ("dnn_train", "epochs", "batch_size", "learning_rate")  # with data and seed: what trains it


def adopt_network(store: RunStore, p: DNRDataset, seed: int, source: Path, name: str = "") -> bool:
    """Whether the run folder `source` trained `p`'s network exactly as `store`'s run would (same data, seed and
    `NETWORK_SETTINGS`); if so and `store` has none yet, the model (and its training record) is copied in as
    `name`'s."""
    fingerprint, model = Path(source) / FINGERPRINT_FILE, Path(source) / network_file(p.name)
    if Path(source).resolve() == store.root.resolve() or not (model.exists() and fingerprint.exists()):
        return False
    theirs, ours = json.loads(fingerprint.read_text())["fingerprint"], store.fingerprint
    trained = theirs.get("protocol", {}).get(p.name, {})
    if not (theirs.get("seed") == ours.get("seed") and theirs.get("data", {}).get(p.name) == ours["data"].get(p.name)
            and all(trained.get(k) == jsonable(getattr(p, k)) for k in NETWORK_SETTINGS)):
        return False
    target = store.path(network_file(name or p.name))
    if not target.exists():
        shutil.copyfile(model, target)
        if training_record(model).exists():
            shutil.copyfile(training_record(model), training_record(target))
    return True


def network_file(name: str) -> str:
    """A dataset's network (`name`: the dataset, or a named variant of its network) inside a run folder."""
    return f"models/{name}_dnn.keras"


PROBES = 16  # fixed images whose scores identify a trained model (a digest in the ledger)


def network_digest(model: keras.Model, probes: np.ndarray) -> Dict:
    """What identifies a trained network: its outputs on fixed probe images."""
    return {"outputs": model(probes, training=False).numpy().astype(np.float64)}


def defenses_digest(nr: NR, dnr: DNR, probes: np.ndarray) -> Dict:
    """What identifies a run's NR and DNR: theta, support vectors per SVM, scikit-learn's scores on probe images."""
    def svs(ovr) -> List[int]:
        return [int(e.support_vectors_.shape[0]) for e in ovr.estimators_]
    return {"theta": {"nr": nr.theta, "dnr": dnr.theta},
            "support_vectors": {"nr": svs(nr.svm), "dnr_layers": [svs(s) for s in dnr.layer_svms],
                                "dnr_combiner": svs(dnr.combiner)},
            "scores": {"nr": nr.decision_function(probes), "dnr": dnr.decision_function(probes)}}


def fit_one_epoch(model: keras.Model, x: np.ndarray, y: np.ndarray, batch_size: int) -> None:
    """One shuffled epoch of `model.fit` (Keras' epoch line names no epoch count: the caller loops)."""
    model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=True, verbose=keras_verbosity())


def choose_params(p: DNRDataset, feats: List[np.ndarray], y: np.ndarray, folds: int, seed: int) -> Dict:
    """(C, gamma) per SVM: k-fold CV for clean accuracy (paper), or the authors' published values."""
    if not p.search_params:
        pub = published.DNR_SVM_PARAMS[p.name]
        return {"source": "published (authors' code)", "layers": [pub[f"layer_{i}"] for i in range(3)],
                "combiner": pub["combiner"], "nr": pub["nr"]}
    sub = slice(0, p.cv_samples)
    grid = dict(Cs=p.C_grid, gammas=p.gamma_grid, folds=p.cv_folds, seed=seed)
    layers = [select_params(f[sub], y[sub], **grid) for f in feats]
    oof = stacked_scores([f[sub] for f in feats], y[sub], layers, folds, seed)
    return {"source": f"{p.cv_folds}-fold CV on {len(y[sub])} samples", "layers": layers,
            "combiner": select_params(oof, y[sub], **grid), "nr": layers[-1]}


def fit_defenses(store: RunStore, p: DNRDataset, protocol: DNRProtocol, model: keras.Model, pool: draws.Pool,
                 draw: Dict, run: int, seed: int) -> Tuple[NR, DNR, Dict]:
    """NR and DNR of one run and its defenses unit (`defenses_of`), the models built at once."""
    info, models = defenses_of(store, p, protocol, model, pool, draw, run, seed)
    return (*models(), info)


def defenses_of(store: RunStore, p: DNRDataset, protocol: DNRProtocol, model: keras.Model, pool: draws.Pool,
                draw: Dict, run: int, seed: int, params: Optional[Dict] = None
                ) -> Tuple[Dict, Callable[[], Tuple[NR, DNR]]]:
    """One run's defenses unit (SVM parameters, theta) and a function giving its NR and DNR, built only when a unit
    needs them: loaded from the run folder, or fitted (checkpointed without the network; theta rejects
    `reject_rate` of the validation samples; NR reads the last feature layer). `params` (as `choose_params` returns
    them) fixes the SVM parameters instead of choosing them. The SVMs' support is stored in the run folder
    (`save_svms`, a few MB) until the run is whole (`drop_svms`), so that an unfinished run resumes with its own SVMs
    on another machine, whose float arithmetic would make a refit's solver drift. Models rebuilt for a run whose
    units exist are proven by their digest (`results.verified`) before any use."""
    layers = list(p.feature_layers)
    paths = {name: store.path(f"models/{p.name}_run{run}_{name}") for name in ("nr", "dnr")}
    svms = svm_file(store, p, run)
    val = draws.pixels(pool.images[draw["validation"]])
    fitted: Dict = {}

    def svm_features(dnr: DNR) -> List[np.ndarray]:
        """The SVM training images' features at every layer `dnr` reads."""
        return dnr.features(draws.pixels(pool.images[draw["svm_train"]]))

    def compute(chosen: Optional[Dict] = None):
        y = pool.labels[draw["svm_train"]]
        train = svm_features(DNR(model, layers, [(1.0, 1.0)] * len(layers), (1.0, 1.0), protocol.stacking_folds, seed))
        chosen = chosen or params or choose_params(p, train, y, protocol.stacking_folds, seed)
        dnr = DNR(model, layers, chosen["layers"], chosen["combiner"], protocol.stacking_folds, seed)
        dnr.fit_features(train, y)
        nr = NR(model, layers[-1], *chosen["nr"]).fit_features(train[-1:], y)
        for name, defense in (("nr", nr), ("dnr", dnr)):
            defense.set_threshold(val, protocol.reject_rate)
            defense.save(paths[name], include_model=False)
        save_svms(svms, nr, dnr)
        fitted.update(nr=nr, dnr=dnr)
        return {"params": chosen, "theta": {"nr": nr.theta, "dnr": dnr.theta},
                "support_vectors": {"nr": int(nr.svm.estimators_[0].support_vectors_.shape[0])}}

    info = store.unit(f"{p.name}/run{run}/defenses", compute)

    def rebuild() -> None:
        """The run's own SVMs from their stored support (`save_svms`) on the features this network computes now."""
        chosen = info["params"]
        dnr = DNR(model, layers, chosen["layers"], chosen["combiner"], protocol.stacking_folds, seed)
        nr = NR(model, layers[-1], *chosen["nr"])
        load_svms(svms, nr, dnr, svm_features(dnr))
        nr.theta, dnr.theta = info["theta"]["nr"], info["theta"]["dnr"]
        fitted.update(nr=nr, dnr=dnr)

    def models() -> Tuple[NR, DNR]:
        if "proven" not in fitted:
            if "nr" not in fitted and not all((path / "state.joblib").exists() for path in paths.values()):
                # no pickled SVMs (the ledger keeps none): rebuilt from the unfinished run's stored support, else
                # refit with the parameters the unit chose (no second cross-validation); either way proven equal
                # to the run's by their digest below
                if svms.exists():
                    rebuild()
                else:
                    compute(info["params"])
            nr = fitted.get("nr") or NR.load(paths["nr"], model)
            dnr = fitted.get("dnr") or DNR.load(paths["dnr"], model)
            verified(store, f"{p.name}/run{run}/defenses_digest", defenses_digest(nr, dnr, val[:PROBES]))
            fitted.update(nr=nr, dnr=dnr, proven=True)
        return fitted["nr"], fitted["dnr"]
    return info, models


def svm_file(store: RunStore, p: DNRDataset, run: int) -> Path:
    """Where an unfinished run keeps its NR's and DNR's SVMs (their support, `save_svms`)."""
    return store.path(f"models/{p.name}_run{run}_svms.npz")


def save_svms(path: Path, nr: NR, dnr: DNR) -> None:
    """NR's and DNR's SVMs as arrays (`ovr_support`): rows of the training features for the layer SVMs, which the
    network recomputes, and the vectors themselves for the combiner, whose out-of-fold inputs it cannot."""
    groups = {"nr": ovr_support(nr.svm), "combiner": ovr_support(dnr.combiner, vectors=True),
              **{f"layer{i}": ovr_support(s) for i, s in enumerate(dnr.layer_svms)}}
    save_arrays(path, {f"{g}.{k}": v for g, arrays in groups.items() for k, v in arrays.items()})


def load_svms(path: Path, nr: NR, dnr: DNR, train: List[np.ndarray]) -> None:
    """Set NR's and DNR's SVMs to those `save_svms` stored, the layer SVMs' vectors read from `train` (the SVM
    training images' features, one matrix per layer)."""
    groups: Dict[str, Dict[str, np.ndarray]] = {}
    with np.load(path) as f:
        for key in f.files:
            group, name = key.split(".", 1)
            groups.setdefault(group, {})[name] = f[key]
    nr.svm = ovr_from_support(groups["nr"], train[-1])
    dnr.layer_svms = [ovr_from_support(groups[f"layer{i}"], f) for i, f in enumerate(train)]
    dnr.combiner = ovr_from_support(groups["combiner"])


def drop_svms(store: RunStore, p: DNRDataset, run: int) -> None:
    """A whole run needs its SVMs no more: its stored support leaves the run folder (the ledger stays light)."""
    svm_file(store, p, run).unlink(missing_ok=True)


def to_input(images: np.ndarray) -> np.ndarray:
    """uint8 EMNIST images -> float32 in [-0.5, 0.5] (Section IV)."""
    return images.astype(np.float32) / 255.0 - 0.5


def train_table2_net(path: Path, images: np.ndarray, labels: np.ndarray, num_classes: int,
                  epochs: int, batch_size: int, seed: int) -> keras.Model:
    """The trained model saved at `path`, training it first (resumable per epoch) if it is not there yet."""
    x = to_input(images)
    return train_by_epoch(path, lambda: compile_background_net(build_background_net(num_classes)),
                          lambda model: fit_one_epoch(model, x, labels, batch_size), epochs, seed)
