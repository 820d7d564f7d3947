"""Every model as a detector on [0, 1] MNIST pixels: 10 digit scores (what the adaptive attack sees) and a margin.

margin(x) = max digit score - reject score; the model detects (rejects) x when margin <= 0. The reject score is
theta for NR/DNR, the background logit for the background-class defense, and -inf for undefended networks.
Raising the threshold t in `margin <= t` trades false rejects for detections (the DNR paper's Fig. 4).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import keras
import numpy as np
import tensorflow as tf

from replication.background.assembly import BACKGROUND
from replication.dnr.tf_svm import Scorer

SHIFT = 0.5  # the Table II net takes [-0.5, 0.5]; x - 0.5 maps [0, 1] onto it (L2 and L-inf norms unchanged)


@dataclass
class Detector:
    """scores: x -> (n, 10) differentiable digit scores; margin: x -> (n,); logits: the full model output that a
    non-adaptive attacker differentiates (None for NR/DNR, whose attacker is always defense-aware here); with_reject:
    the digit scores plus the reject score as a last column (the reject-aware attack's view; None if no reject)."""

    name: str
    scores: Callable[[tf.Tensor], tf.Tensor]
    margin: Callable[[tf.Tensor], tf.Tensor]
    logits: Optional[Callable[[tf.Tensor], tf.Tensor]] = None
    rejects: bool = True
    with_reject: Optional[Callable[[tf.Tensor], tf.Tensor]] = None  # x -> (n, 11): digit scores, reject score last


def table2_detector(name: str, model: keras.Model) -> Detector:
    """The Table II net with 10 (undefended baseline) or 11 outputs (background class as the reject option)."""
    logits = lambda x: model(x - SHIFT, training=False)  # noqa: E731
    if model.output_shape[-1] == BACKGROUND:
        return Detector(name, logits, lambda x: tf.fill([tf.shape(x)[0]], np.inf), logits, rejects=False)

    def margin(x):
        z = logits(x)
        return tf.reduce_max(z[:, :BACKGROUND], 1) - z[:, BACKGROUND]

    return Detector(name, lambda x: logits(x)[:, :BACKGROUND], margin, logits, with_reject=logits)


def scorer_detector(scorer: Scorer, rejects: bool) -> Detector:
    """A DNR-experiment scorer (DNN logits, NR or DNR scores with their constant theta)."""
    if not rejects:
        return Detector(scorer.name, scorer, lambda x: tf.fill([tf.shape(x)[0]], np.inf), scorer, rejects=False)
    def with_reject(x):
        scores = scorer(x)
        return tf.concat([scores, tf.fill([tf.shape(scores)[0], 1], tf.cast(scorer.theta, scores.dtype))], 1)

    return Detector(scorer.name, scorer, lambda x: tf.reduce_max(scorer(x), 1) - scorer.theta,
                    with_reject=with_reject)


def predict(detector: Detector, x: np.ndarray, batch: int = 250):
    """(digit predictions, margins) of float images in [0, 1]."""
    preds, margins = [], []
    for i in range(0, len(x), batch):
        xb = tf.constant(x[i:i + batch], tf.float32)
        preds.append(detector.scores(xb).numpy().argmax(1))
        margins.append(detector.margin(xb).numpy())
    return np.concatenate(preds), np.concatenate(margins).astype(np.float64)


def evaded(pred: np.ndarray, margin: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per sample: a wrong digit, not detected (the attack's success)."""
    return (np.asarray(margin) > 0) & (np.asarray(pred) != y)


def point_evaded(pt: dict, y: np.ndarray) -> np.ndarray:
    """Per sample of an attack point: a wrong digit, not detected (restart points carry it directly)."""
    return np.asarray(pt["evaded"], bool) if "evaded" in pt else evaded(pt["pred"], pt["margin"], y)


def outcomes(pred: np.ndarray, margin: np.ndarray, y: np.ndarray, threshold: float = 0.0) -> dict:
    """% correct (not detected, true digit), other digit (the attack's success), detected."""
    detected = margin <= threshold
    n = max(len(y), 1)
    return {"correct": 100.0 * (~detected & (pred == y)).sum() / n,
            "other_digit": 100.0 * (~detected & (pred != y)).sum() / n,
            "detected": 100.0 * detected.sum() / n}
