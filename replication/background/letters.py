"""Section IV.A: which letters a 47-class net rarely confuses with digits (repeated k-fold CV)."""
from __future__ import annotations

from collections import Counter
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from sklearn.model_selection import StratifiedKFold

from replication.data import EMNIST_CHARS
from replication.evaluation import stats
from replication.reporting import published

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


def letter_counts(matrix: np.ndarray, labels: np.ndarray) -> Dict[str, Dict[str, int]]:
    """For each letter: its predictions counted over every fold (`tested`, `as_letter`) and its distinct samples
    among them (`distinct`: each repeat tests every sample once, so a sample tested in two repeats counts once)."""
    per_class = np.bincount(labels, minlength=N_CLASSES)
    rows = matrix[10:]
    return {EMNIST_CHARS[10 + i]: {"tested": int(rows[i].sum()), "as_letter": int(rows[i, 10:].sum()),
                                   "distinct": int(min(rows[i].sum(), per_class[10 + i]))}
            for i in range(len(rows))}


def decision(counts: Dict[str, int], threshold: float) -> str:
    """'kept' or 'removed' when the 95% interval of the letter's rate lies wholly on one side of `threshold`, else
    'undecided'. The interval is Wilson's on the rate with N = the distinct samples: repeats test the same samples
    again, so they narrow nothing."""
    if counts["tested"] == 0:
        return "undecided"
    claim = stats.above(rate_interval(counts), 100 * threshold)  # "the letter's rate is above the threshold"
    return {"supported": "kept", "contradicted": "removed"}.get(claim, "undecided")


def paper_decision(letter: str) -> str:
    """'kept' or 'removed': the paper's decision for a letter (Section IV.A)."""
    return "kept" if letter in published.KEPT_LETTERS else "removed"


def verdict(decided: str, letter: str) -> str:
    """The paper's decision for a letter against ours (`decision`): supported, contradicted or inconclusive
    (undecided)."""
    if decided == "undecided":
        return "inconclusive"
    return "supported" if decided == paper_decision(letter) else "contradicted"


def judged(counts: Dict[str, Dict[str, int]], threshold: float) -> Dict[str, Tuple[str, str]]:
    """Per letter: our decision (`decision`) and the paper's decision judged against it (`verdict`)."""
    out = {}
    for c in counts:
        decided = decision(counts[c], threshold)
        out[c] = (decided, verdict(decided, c))
    return out


def verdict_counts(judgements: Dict[str, Tuple[str, str]]) -> Dict[str, int]:
    """How many letters get each verdict, from `judged`."""
    return dict(sorted(Counter(v for _, v in judgements.values()).items()))


def rate_interval(counts: Dict[str, int]) -> stats.Interval:
    """The letter's rate (as a letter, % of its predictions over every fold) with the Wilson interval on N =
    its distinct samples."""
    rate = counts["as_letter"] / counts["tested"] if counts["tested"] else float("nan")
    return stats.wilson(rate * counts["distinct"], counts["distinct"])


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
                  fit_predict: Callable[[str, np.ndarray, np.ndarray], Sequence[int]],
                  limit: Optional[int] = None) -> np.ndarray:
    """Summed confusion matrix over all folds, or the first `limit` (in `fold_units`' order);
    `fit_predict(name, train, test)` returns test predictions."""
    total = np.zeros((N_CLASSES, N_CLASSES), dtype=np.int64)
    for i, (name, train, test) in enumerate(fold_units(labels, folds, repeats, seed)):
        if limit is not None and i >= limit:
            break
        total += confusion(labels[test], np.asarray(fit_predict(name, train, test), dtype=np.int64))
    return total
