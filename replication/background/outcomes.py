"""Table III/V categories: correct, other digit, background."""
from __future__ import annotations

from typing import Dict, Sequence

import numpy as np

from replication.background.assembly import BACKGROUND
from replication.evaluation import CORRECT, EVADED, REJECTED


def outcome_fractions(pred: np.ndarray, true: np.ndarray) -> Dict[str, float]:
    """Percent of samples classified correctly, as another digit, or as background (`true`: digits)."""
    pred, true = np.asarray(pred), np.asarray(true)
    if pred.shape != true.shape:
        raise ValueError(f"pred {pred.shape} and true {true.shape} differ in shape")
    return table_fractions(np.where(pred == BACKGROUND, REJECTED, np.where(pred == true, CORRECT, EVADED)))


def table_fractions(codes: np.ndarray) -> Dict[str, float]:
    """Table III's categories from the library's per-sample outcomes: a reject is a background prediction, an
    evasion another digit."""
    codes = np.asarray(codes)
    n = max(len(codes), 1)
    return {"correct": 100.0 * (codes == CORRECT).sum() / n, "other_digit": 100.0 * (codes == EVADED).sum() / n,
            "background": 100.0 * (codes == REJECTED).sum() / n}


def mean_std(values: Sequence[Dict[str, float]]) -> Dict[str, Dict[str, float]]:
    """Mean and sample std (ddof=1; 0 for one split) over splits, per category."""
    keys = values[0].keys()
    return {k: {"mean": float(np.mean([v[k] for v in values])),
                "std": float(np.std([v[k] for v in values], ddof=1)) if len(values) > 1 else 0.0} for k in keys}
