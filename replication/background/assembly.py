"""Section IV.B / Table I: pool, confusing letters removed, kept letters -> background, 90:10 splits."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Sequence

import numpy as np

from replication.data import DataError, load
from replication.data.emnist import Pool, letter_index, load_pool
from replication.runs.protocols import BACKGROUND

__all__ = ["BACKGROUND", "Pool", "letter_index", "load_pool"]


def relabel(labels: np.ndarray, kept_letters: Sequence[str]) -> np.ndarray:
    """Digits keep 0-9, kept letters become BACKGROUND, confusing letters become -1 (dropped)."""
    out = np.full(labels.shape, -1, dtype=np.int64)
    out[labels < 10] = labels[labels < 10]
    out[np.isin(labels, letter_index(kept_letters))] = BACKGROUND
    return out


@dataclass
class Split:
    """Indices (into the relabelled pool) of one random 90:10 split."""

    train: np.ndarray
    test: np.ndarray


def make_split(labels: np.ndarray, test_fraction: float, seed: int) -> Split:
    """A random test_fraction split of the usable (label >= 0) samples."""
    usable = np.flatnonzero(labels >= 0)
    perm = np.random.default_rng(seed).permutation(usable)
    n_test = int(round(test_fraction * len(perm)))
    return Split(train=np.sort(perm[n_test:]), test=np.sort(perm[:n_test]))


def split_sets(labels: np.ndarray, split: Split) -> Dict[str, np.ndarray]:
    """Index sets of Table I: baseline trains on digits, the defense on digits + background; both test on digits."""
    digits = labels < 10
    return {
        "baseline_train": split.train[digits[split.train]],
        "defense_train": split.train,
        "test": split.test[digits[split.test]],
    }


def table1_counts(labels: np.ndarray, sets: Dict[str, np.ndarray]) -> Dict[str, int]:
    """Table I counts of one split."""
    defense = labels[sets["defense_train"]]
    return {
        "baseline/train_digits": int(len(sets["baseline_train"])),
        "baseline/test_digits": int(len(sets["test"])),
        "defense/train_digits": int((defense < 10).sum()),
        "defense/train_letters": int((defense == BACKGROUND).sum()),
        "defense/test_digits": int(len(sets["test"])),
    }


def balanced_sample(labels: np.ndarray, per_class: Optional[int], seed: int, equal: bool = False) -> np.ndarray:
    """Indices of at most `per_class` random samples of every class (all when None); with `equal`, the same number
    of every class: `per_class` capped at the smallest class."""
    classes, counts = np.unique(labels, return_counts=True)
    if equal:
        per_class = int(min(per_class or counts.min(), counts.min()))
    rng = np.random.default_rng(seed)
    picked = []
    for c in classes:
        idx = np.flatnonzero(labels == c)
        if per_class is not None and len(idx) > per_class:
            idx = rng.choice(idx, per_class, replace=False)
        picked.append(idx)
    return np.sort(np.concatenate(picked))


# What the letter selection's stand-in for EMNIST Balanced is (`selection_data`); part of a measured-letters run's
# fingerprint, so a change of the rule orphans the selection's units and nothing else.
SELECTION_SAMPLE = "pool, the same count of every class"


def balanced_data(pool: Pool, per_class: Optional[int], data_dir: Optional[str], seed: int, equal: bool = False):
    """EMNIST Balanced train (sampled per class); when it is unavailable, the pool, capped at `per_class` per class,
    and with `equal` class-balanced (every class as many as the smallest)."""
    try:
        ds = load("emnist/balanced", "train", data_dir)
    except DataError:
        idx = balanced_sample(pool.labels, per_class, seed, equal)
        shape = (f"a class-balanced sample of the pool (By Merge {pool.partition}, "
                 f"{int(np.bincount(pool.labels[idx]).max()):,} of every class)" if equal
                 else f"the pool (By Merge {pool.partition}, "
                      f"{'whole' if per_class is None else f'at most {per_class:,} of every class'}, "
                      "not class-balanced)")
        return pool.images[idx], pool.labels[idx], shape + "; EMNIST Balanced unavailable"
    idx = balanced_sample(ds.labels, per_class, seed)
    return ds.images[idx], ds.labels[idx], "EMNIST Balanced train"


def selection_data(pool: Pool, per_class: Optional[int], data_dir: Optional[str], seed: int):
    """The letter selection's data (`SELECTION_SAMPLE`): EMNIST Balanced, or a class-balanced sample of the pool
    (its rates, a letter read as a letter, depend on the class priors)."""
    return balanced_data(pool, per_class, data_dir, seed, equal=True)
