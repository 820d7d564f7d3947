"""The five models of the unified comparison, all trained on the same MNIST digits (checkpointed, resumable)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional

import numpy as np

from keras_models.dnr import feature_extractor
from replication import published
from replication.background import assembly, training
from replication.dnr import draws
from replication.dnr import experiment as dnr_experiment
from replication.dnr.tf_svm import dnn_scorer, dnr_scorer, nr_scorer
from replication.protocols import UnifiedProtocol
from replication.results import RunStore
from replication.unified.detectors import Detector, scorer_detector, table2_detector

MODELS = ("baseline", "background", "dnn", "nr", "dnr")
LABELS = {"baseline": "Table II net (undefended)", "background": "background class",
          "dnn": "Carlini net (undefended)", "nr": "NR", "dnr": "DNR"}


@dataclass
class Setup:
    detectors: Dict[str, Detector]
    x: np.ndarray                 # test images in [0, 1], outside every model's training set
    y: np.ndarray
    info: Dict
    reference: np.ndarray         # clean validation digits (the DNR run-0 theta draw): double-initialisation starts


STYLE_DIGITS = 5000  # EMNIST digits kept aside for the style control


def background_letters(p: UnifiedProtocol, n_digits: int, data_dir: Optional[str], seed: int):
    """EMNIST By Merge images of the paper's kept letters (the background class), the pool's record, and up to
    `STYLE_DIGITS` EMNIST digits (never trained on) for the style control."""
    pool = assembly.load_pool("train", data_dir, None, seed)
    idx = np.flatnonzero(np.isin(pool.labels, assembly.letter_index(published.KEPT_LETTERS)))
    want = min(len(idx), p.letters if p.letters is not None else n_digits)
    idx = np.sort(np.random.default_rng(seed).choice(idx, want, replace=False))
    digit_idx = np.flatnonzero(pool.labels < 10)
    digit_idx = np.sort(np.random.default_rng(seed + 1).choice(digit_idx, min(STYLE_DIGITS, len(digit_idx)),
                                                               replace=False))
    info = {"partition": pool.partition, "source": pool.source, "warning": pool.warning,
            "letters": published.KEPT_LETTERS, "count": int(want)}
    return pool.images[idx], info, (pool.images[digit_idx], pool.labels[digit_idx])


@dataclass
class Data:
    """The unified run's data: the MNIST pool (as the DNR experiment draws it) and the background letters."""

    mnist: draws.Pool
    letters: np.ndarray
    letter_info: Dict
    emnist_digits: np.ndarray     # EMNIST By Merge digits (not used in training): the style control
    emnist_digit_labels: np.ndarray


def load_data(p: UnifiedProtocol, data_dir: Optional[str], seed: int) -> Data:
    """MNIST pool and EMNIST letters (the kept set) and digits."""
    mp = p.dnr.mnist
    pool = draws.load_pool(mp, data_dir, seed)
    letters, letter_info, (emnist_digits, emnist_labels) = background_letters(p, mp.dnn_train, data_dir, seed)
    return Data(pool, letters, letter_info, emnist_digits, emnist_labels)


def build(store: RunStore, p: UnifiedProtocol, data: Data, seed: int) -> Setup:
    """Train (or reload) all models on the DNN's MNIST training digits; test on the DNR run-0 test draw."""
    mp = p.dnr.mnist
    pool = data.mnist
    dnn = dnr_experiment.train_network(store, mp, pool, seed)
    extractor = feature_extractor(dnn, list(mp.feature_layers))
    draw = draws.run_draw(pool, mp, 0, seed)
    nr, dnr, defenses = dnr_experiment.fit_defenses(store, mp, p.dnr, extractor, pool, draw, 0, seed)
    digits, digit_labels = pool.images[pool.dnn_idx], pool.labels[pool.dnn_idx]
    letters, letter_info = data.letters, data.letter_info
    fit = dict(epochs=p.background_epochs, batch_size=p.background_batch_size, seed=seed)
    baseline = training.train_or_load(store.path("models/baseline.keras"), digits, digit_labels, 10, **fit)
    background = training.train_or_load(
        store.path("models/background.keras"), np.concatenate([digits, letters]),
        np.concatenate([digit_labels, np.full(len(letters), assembly.BACKGROUND)]), 11, **fit)
    detectors = {"baseline": table2_detector("baseline", baseline),
                 "background": table2_detector("background", background),
                 "dnn": scorer_detector(dnn_scorer(dnn), rejects=False),
                 "nr": scorer_detector(nr_scorer(extractor, nr), rejects=True),
                 "dnr": scorer_detector(dnr_scorer(extractor, dnr), rejects=True)}
    info = {"mnist_source": pool.source, "digits": int(len(digits)), "background": letter_info,
            "defenses": defenses, "test": int(len(draw["test"]))}
    return Setup(detectors, draws.pixels(pool.images[draw["test"]]), pool.labels[draw["test"]], info,
                 draws.pixels(pool.images[draw["validation"]]))
