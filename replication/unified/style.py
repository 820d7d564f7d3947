"""Control for the unified axis: does the background class learn EMNIST's *style* rather than letter *shapes*?

The axis trains the background class on EMNIST letters beside MNIST digits. EMNIST characters are framed and
thickened differently from MNIST digits, so "background" may mean "looks like EMNIST". Two measurements:
- a linear classifier's held-out accuracy at telling MNIST digits from EMNIST digits by pixels alone (style is
  learnable when it is far above 50%);
- how often the background model calls clean EMNIST *digits* background (it learned style when it does, since
  those are digits it should classify).
"""
from __future__ import annotations

from typing import Dict

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from replication.defenses import Defense
from replication.evaluation.outcomes import CORRECT, REJECTED, outcome_of
from replication.unified.detectors import predict


def style_separability(mnist: np.ndarray, emnist: np.ndarray, seed: int) -> Dict:
    """Held-out accuracy (30% held out) of logistic regression on pixels: MNIST (0) vs EMNIST (1) digits."""
    n = min(len(mnist), len(emnist))
    x = np.concatenate([mnist[:n], emnist[:n]]).reshape(2 * n, -1).astype(np.float32) / 255.0
    y = np.concatenate([np.zeros(n, int), np.ones(n, int)])
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.3, random_state=seed, stratify=y)
    clf = LogisticRegression(C=1.0, max_iter=300).fit(x_tr, y_tr)
    return {"correct": int((clf.predict(x_te) == y_te).sum()), "n": int(len(y_te)), "per_style": int(n)}


def background_on_emnist_digits(defense: Defense, emnist_digits: np.ndarray, labels: np.ndarray) -> Dict:
    """Clean EMNIST digits through a detector: how many it detects (calls background) and classifies right."""
    pred, margin = predict(defense, emnist_digits.astype(np.float32) / 255.0)
    codes = outcome_of(pred, margin, labels)
    return {"detected": int((codes == REJECTED).sum()), "correct": int((codes == CORRECT).sum()), "n": int(len(labels))}
