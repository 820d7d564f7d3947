"""The reject threshold's trade-off (the DNR paper's Fig. 4): false rejects on clean data vs accuracy under attack."""
from __future__ import annotations

from typing import Dict, List, Sequence

import numpy as np


def threshold_tradeoff(clean_top: np.ndarray, adv_top: np.ndarray, adv_pred: np.ndarray, y: np.ndarray,
                       thetas: Sequence[float]) -> Dict[str, List[float]]:
    """Fig. 4: for each theta, false-reject rate on clean samples and accuracy under attack (%)."""
    frr = [100.0 * float((clean_top <= t).mean()) for t in thetas]
    acc = [100.0 * float(((adv_top <= t) | (adv_pred == y)).mean()) for t in thetas]
    return {"false_reject": frr, "accuracy": acc}
