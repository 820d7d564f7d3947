"""Section IV.A: which letters a 47-class net rarely confuses with digits (repeated k-fold CV)."""
from __future__ import annotations

from typing import Callable, Dict, List, Sequence

import numpy as np
from sklearn.model_selection import StratifiedKFold

from replication.data import EMNIST_CHARS

N_CLASSES = len(EMNIST_CHARS)


def fold_name(repeat: int, fold: int) -> str:
    return f"repeat{repeat}_fold{fold}"


def fold_names(folds: int, repeats: int) -> List[str]:
    """The names `fold_units` gives, in its order."""
    return [fold_name(r, f) for r in range(repeats) for f in range(folds)]


def fold_units(labels: np.ndarray, folds: int, repeats: int, seed: int):
    """(name, train_idx, test_idx) for every fold of every repeat of stratified k-fold CV."""
    for r in range(repeats):
        skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed + r)
        for f, (train, test) in enumerate(skf.split(np.zeros(len(labels)), labels)):
            yield fold_name(r, f), train, test


def confusion(true: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """47x47 confusion matrix on the original EMNIST labels (rows: true)."""
    return np.bincount(true * N_CLASSES + pred, minlength=N_CLASSES ** 2).reshape(N_CLASSES, N_CLASSES)


def letter_rates(matrix: np.ndarray) -> Dict[str, float]:
    """For each letter class: the fraction of its samples classified as any letter."""
    rows = matrix[10:]
    totals = rows.sum(1)
    as_letter = rows[:, 10:].sum(1)
    return {EMNIST_CHARS[10 + i]: float(as_letter[i] / totals[i]) if totals[i] else float("nan")
            for i in range(len(rows))}


def select(rates: Dict[str, float], threshold: float) -> str:
    """Letters classified as letters at least `threshold` of the time, most letter-like first."""
    kept = [c for c, r in rates.items() if r >= threshold]
    return "".join(sorted(kept, key=lambda c: -rates[c]))


def agreement(measured: str, published_kept: str, published_removed: str) -> Dict[str, object]:
    """How a measured kept set compares with the published one."""
    m, k = set(measured), set(published_kept)
    return {
        "kept_in_both": "".join(sorted(m & k)),
        "kept_only_measured": "".join(sorted(m - k)),
        "kept_only_published": "".join(sorted(k - m)),
        "agree": len(m & k) + len(set(published_removed) - m),
        "of": len(k) + len(published_removed),
    }


def run_selection(labels: np.ndarray, folds: int, repeats: int, seed: int,
                  fit_predict: Callable[[str, np.ndarray, np.ndarray], Sequence[int]]) -> np.ndarray:
    """Summed confusion matrix over all folds; `fit_predict(name, train, test)` returns test predictions."""
    total = np.zeros((N_CLASSES, N_CLASSES), dtype=np.int64)
    for name, train, test in fold_units(labels, folds, repeats, seed):
        total += confusion(labels[test], np.asarray(fit_predict(name, train, test), dtype=np.int64))
    return total
