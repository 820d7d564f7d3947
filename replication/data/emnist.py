"""The EMNIST By Merge pool the background-class experiments draw from, and its letter classes."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from replication.data.datasets import EMNIST_CHARS, Dataset, load
from replication.data.errors import DataError


@dataclass
class Pool:
    """EMNIST images (uint8) with original 47-class labels, and which partition they came from."""

    images: np.ndarray
    labels: np.ndarray
    partition: str
    source: str
    warning: Optional[str] = None


def load_pool(split: str, data_dir: Optional[str], limit: Optional[int], seed: int) -> Pool:
    """EMNIST By Merge `split`; falls back to `test` (loudly) when `train` can be had from no source."""
    warning = None
    try:
        ds = load("emnist/bymerge", split, data_dir)
    except DataError as err:
        if split != "train":
            raise
        warning = (f"EMNIST By Merge 'train' could not be obtained ({str(err).splitlines()[0]}). "
                   "The pool is the By Merge 'test' partition instead: counts are ~6x smaller than the "
                   "paper's and the numbers are not those of the published protocol.")
        warnings.warn(warning, stacklevel=2)
        ds = load("emnist/bymerge", "test", data_dir)
    images, labels = _subsample(ds, limit, seed)
    return Pool(images, labels, ds.split, ds.source, warning)


def _subsample(ds: Dataset, limit: Optional[int], seed: int):
    if limit is None or limit >= len(ds):
        return ds.images, ds.labels
    idx = np.sort(np.random.default_rng(seed).choice(len(ds), limit, replace=False))
    return ds.images[idx], ds.labels[idx]


def letter_index(letters: Sequence[str]) -> np.ndarray:
    """Original EMNIST labels of the given letter characters."""
    unknown = [c for c in letters if c not in EMNIST_CHARS[10:]]
    if unknown:
        raise ValueError(f"not EMNIST By Merge letter classes: {unknown}")
    return np.array([EMNIST_CHARS.index(c) for c in letters], dtype=np.int64)
