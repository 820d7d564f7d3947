"""Section 4.1 data: pixels in [0, 1]; network training set, then per-run SVM-train / validation / test draws."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional

import numpy as np

from replication.data import load, scale
from replication.runs.protocols import DNRDataset


@dataclass
class Pool:
    """All images (uint8) of a dataset, train partition first, the network's training indices, the rest, and the
    official test partition's (all in the rest)."""

    images: np.ndarray
    labels: np.ndarray
    dnn_idx: np.ndarray
    rest_idx: np.ndarray
    source: str
    test_idx: np.ndarray


def load_pool(p: DNRDataset, data_dir: Optional[str], seed: int) -> Pool:
    """Official train + test; the network trains on `dnn_train` random train images, the rest is for the runs."""
    train, test = load(p.name, "train", data_dir), load(p.name, "test", data_dir)
    images = np.concatenate([train.images, test.images])
    labels = np.concatenate([train.labels, test.labels])
    perm = np.random.default_rng(seed).permutation(len(train))
    dnn_idx = np.sort(perm[:p.dnn_train])
    rest = np.setdiff1d(np.arange(len(images)), dnn_idx)
    return Pool(images, labels, dnn_idx, rest, train.source, np.arange(len(train), len(images)))


def run_draw(pool: Pool, p: DNRDataset, run: int, seed: int) -> Dict[str, np.ndarray]:
    """Disjoint SVM-train, validation (theta) and test indices of one run, all outside the network's training set."""
    need = p.svm_train + p.validation + p.test
    if need > len(pool.rest_idx):
        raise ValueError(f"a run needs {need} samples but only {len(pool.rest_idx)} lie outside the network's "
                         "training set")
    perm = np.random.default_rng(seed + 1000 * (run + 1)).permutation(pool.rest_idx)[:need]
    return {"svm_train": perm[:p.svm_train], "validation": perm[p.svm_train:p.svm_train + p.validation],
            "test": perm[p.svm_train + p.validation:]}


def pixels(images: np.ndarray) -> np.ndarray:
    """uint8 -> float32 in [0, 1] (Section 4.1)."""
    return scale(images, (0.0, 1.0))
