"""Every model of the unified axis as a defense on [0, 1] MNIST pixels (`replication.defenses`), and what a unit
records of it: the predicted digit and the margin (top digit score - reject score).

The model detects (rejects) x when margin <= 0. The reject score is theta for NR/DNR, the background logit for the
background-class defense, and -inf for undefended networks. Raising the threshold t in `margin <= t` trades false
rejects for detections (the DNR paper's Fig. 4).
"""
from __future__ import annotations

import keras
import numpy as np

from replication.defenses import BackgroundClass, Defense, Undefended, scores_of
from replication.evaluation.outcomes import CORRECT, EVADED, REJECTED, outcome_of
from replication.runs.protocols import BACKGROUND
from replication.runs.stages import PIXELS

BOX = (0.0, 1.0)  # every model takes MNIST pixels in [0, 1]; the Table II nets shift them to PIXELS


def table2_defense(model: keras.Model) -> Defense:
    """The Table II net with 10 outputs (undefended baseline) or 11 (the background class as the reject option)."""
    if model.output_shape[-1] == BACKGROUND + 1:
        return BackgroundClass(model, BACKGROUND, input_range=BOX, model_range=PIXELS)
    return Undefended(model, input_range=BOX, model_range=PIXELS)


def predict(defense: Defense, x: np.ndarray, batch: int = 250):
    """(digit predictions, margins) of float images in [0, 1]."""
    return view(scores_of(defense.scorer, x, batch))


def view(scores: np.ndarray):
    """What a unit records of (n, classes + 1) scores: (digit predictions, margins over the reject score)."""
    classes = scores[:, :-1]
    return classes.argmax(1), (classes.max(1) - scores[:, -1]).astype(np.float64)


def evaded(pred: np.ndarray, margin: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per sample: a wrong digit, not detected (the attack's success)."""
    return outcome_of(pred, margin, y) == EVADED


def outcomes(pred: np.ndarray, margin: np.ndarray, y: np.ndarray, threshold: float = 0.0) -> dict:
    """% correct (not detected, true digit), other digit (the attack's success), detected."""
    codes, n = outcome_of(pred, margin, y, threshold), max(len(y), 1)
    return {"correct": 100.0 * (codes == CORRECT).sum() / n, "other_digit": 100.0 * (codes == EVADED).sum() / n,
            "detected": 100.0 * (codes == REJECTED).sum() / n}
