"""Stages two experiments share, built on the library and checkpointed in a run's store: the DNR paper's network
and its NR/DNR for one run (the DNR experiment and the unified axis), and the background-class paper's Table II
network (the background experiment and the unified axis)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, List, Tuple

import keras
import numpy as np

from keras_models.background import build_background_net, compile_background_net
from keras_models.dnr import build_cifar_net, build_mnist_net, compile_dnr_net
from replication import published
from replication.data import draws
from replication.defenses import DNR, NR, select_params, stacked_scores
from replication.protocols import DNRDataset, DNRProtocol
from replication.results import RunStore, load_or_train

BUILDERS = {"mnist": build_mnist_net, "cifar10": build_cifar_net}
PIXELS = (-0.5, 0.5)  # the Table II network's input range (Section IV)


def keras_verbosity() -> int:
    """Keras' per-epoch lines (2) when the output is a log, its progress bar (1) on a terminal."""
    return 1 if sys.stdout.isatty() else 2


def train_network(store: RunStore, p: DNRDataset, pool: draws.Pool, seed: int) -> keras.Model:
    """The dataset's network, trained once (Table 2) and checkpointed."""
    def train() -> keras.Model:
        keras.utils.set_random_seed(seed)
        model = compile_dnr_net(BUILDERS[p.name](), p.learning_rate)
        model.fit(draws.pixels(pool.images[pool.dnn_idx]), pool.labels[pool.dnn_idx], batch_size=p.batch_size,
                  epochs=p.epochs, shuffle=True, verbose=keras_verbosity())
        return model

    return load_or_train(store.path(f"models/{p.name}_dnn.keras"), train)


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
    """NR and DNR of one run (checkpointed without the network), theta rejecting `reject_rate` of the validation
    samples. NR reads the last of the protocol's feature layers."""
    layers = list(p.feature_layers)
    paths = {name: store.path(f"models/{p.name}_run{run}_{name}") for name in ("nr", "dnr")}

    def compute():
        y = pool.labels[draw["svm_train"]]
        dnr = DNR(model, layers, [(1.0, 1.0)] * len(layers), (1.0, 1.0), protocol.stacking_folds, seed)
        train = dnr.features(draws.pixels(pool.images[draw["svm_train"]]))
        params = choose_params(p, train, y, protocol.stacking_folds, seed)
        dnr = DNR(model, layers, params["layers"], params["combiner"], protocol.stacking_folds, seed)
        dnr.fit_features(train, y)
        nr = NR(model, layers[-1], *params["nr"]).fit_features(train[-1:], y)
        val = draws.pixels(pool.images[draw["validation"]])
        for name, defense in (("nr", nr), ("dnr", dnr)):
            defense.set_threshold(val, protocol.reject_rate)
            defense.save(paths[name], include_model=False)
        return {"params": params, "theta": {"nr": nr.theta, "dnr": dnr.theta},
                "support_vectors": {"nr": int(nr.svm.estimators_[0].support_vectors_.shape[0])}}

    info = store.unit(f"{p.name}/run{run}/defenses", compute)
    return NR.load(paths["nr"], model), DNR.load(paths["dnr"], model), info


def to_input(images: np.ndarray) -> np.ndarray:
    """uint8 EMNIST images -> float32 in [-0.5, 0.5] (Section IV)."""
    return images.astype(np.float32) / 255.0 - 0.5


def train_table2_net(path: Path, images: np.ndarray, labels: np.ndarray, num_classes: int,
                  epochs: int, batch_size: int, seed: int) -> keras.Model:
    """The trained model saved at `path`, training it first if it is not there yet."""
    def train() -> keras.Model:
        keras.utils.set_random_seed(seed)
        model = compile_background_net(build_background_net(num_classes))
        model.fit(to_input(images), labels, batch_size=batch_size, epochs=epochs, shuffle=True,
                  verbose=keras_verbosity())
        return model

    return load_or_train(path, train)
