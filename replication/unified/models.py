"""The five models of the unified comparison, all trained on the same MNIST digits (checkpointed, resumable)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional

import numpy as np

from replication.data import draws
from replication.data.emnist import letter_index, load_pool
from replication.defenses import Defense, Undefended
from replication.reporting import published
from replication.runs import stages
from replication.runs.protocols import BACKGROUND, UnifiedProtocol
from replication.runs.results import RunStore
from replication.unified.detectors import table2_defense

MODELS = ("baseline", "background", "dnn", "nr", "dnr")
LABELS = {"baseline": "Table II net (undefended)", "background": "background class",
          "dnn": "Carlini net (undefended)", "nr": "NR", "dnr": "DNR"}


@dataclass
class Setup:
    defenses: Dict[str, Defense]
    x: np.ndarray                 # test images in [0, 1], outside every model's training set
    y: np.ndarray
    info: Dict
    reference: np.ndarray         # clean validation digits (the DNR run-0 theta draw): double-initialisation starts


STYLE_DIGITS = 5000  # EMNIST digits kept aside for the style control


def background_letters(p: UnifiedProtocol, n_digits: int, data_dir: Optional[str], seed: int):
    """EMNIST By Merge images of the paper's kept letters (the background class), the pool's record, and up to
    `STYLE_DIGITS` EMNIST digits (never trained on) for the style control."""
    pool = load_pool("train", data_dir, None, seed)
    idx = np.flatnonzero(np.isin(pool.labels, letter_index(published.KEPT_LETTERS)))
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
    dnn = stages.train_network(store, mp, pool, seed)
    draw = draws.run_draw(pool, mp, 0, seed)
    nr, dnr, fitted = stages.fit_defenses(store, mp, p.dnr, dnn, pool, draw, 0, seed)
    digits, digit_labels = pool.images[pool.dnn_idx], pool.labels[pool.dnn_idx]
    letters, letter_info = data.letters, data.letter_info
    fit = dict(epochs=p.background_epochs, batch_size=p.background_batch_size, seed=seed)
    baseline = stages.train_table2_net(store.path("models/baseline.keras"), digits, digit_labels, BACKGROUND,
                                       **fit)
    background = stages.train_table2_net(
        store.path("models/background.keras"), np.concatenate([digits, letters]),
        np.concatenate([digit_labels, np.full(len(letters), BACKGROUND)]), BACKGROUND + 1, **fit)
    defenses = {"baseline": table2_defense(baseline), "background": table2_defense(background),
                "dnn": Undefended(dnn), "nr": nr, "dnr": dnr}
    info = {"mnist_source": pool.source, "digits": int(len(digits)), "background": letter_info,
            "defenses": fitted, "test": int(len(draw["test"]))}
    return Setup(defenses, draws.pixels(pool.images[draw["test"]]), pool.labels[draw["test"]], info,
                 draws.pixels(pool.images[draw["validation"]]))
