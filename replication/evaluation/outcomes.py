"""One vocabulary for what happens to a sample: CORRECT (true class, not rejected), REJECTED (rejected or
detected), EVADED (a wrong class, not rejected). Clean (eps 0) accuracy counts only CORRECT; under attack
(eps > 0) a reject is a success of the defense, so accuracy counts CORRECT and REJECTED (the DNR paper's rule)."""
from __future__ import annotations

import numpy as np

from replication.defenses.base import REJECT, decide

CORRECT, REJECTED, EVADED = 0, 1, 2
NAMES = {CORRECT: "correct", REJECTED: "rejected", EVADED: "evaded"}


def outcome(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per sample, CORRECT / REJECTED / EVADED from (n, classes + 1) scores (reject score last)."""
    label = decide(scores)
    return np.where(label == REJECT, REJECTED, np.where(label == np.asarray(y), CORRECT, EVADED)).astype(np.int8)


def rejected_by(margin: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Per sample: rejected, from its margin (top class score - reject score) at `threshold`."""
    return np.asarray(margin) <= threshold


def outcome_of(pred: np.ndarray, margin: np.ndarray, y: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """`outcome` from a stored view of the scores: each sample's top class and its margin (top class score - reject
    score); rejected where margin <= threshold (0: the defense's own rule; raising it trades false rejects for
    detections, the DNR paper's Fig. 4)."""
    right = np.asarray(pred) == np.asarray(y)
    return np.where(rejected_by(margin, threshold), REJECTED, np.where(right, CORRECT, EVADED)).astype(np.int8)


def accurate(codes: np.ndarray, attacked: bool) -> np.ndarray:
    """Per sample, whether it counts as accurate: correct, or (under attack) rejected."""
    codes = np.asarray(codes)
    return codes != EVADED if attacked else codes == CORRECT


def worst(*codes: np.ndarray) -> np.ndarray:
    """Per sample, the attacker's best over attacks: EVADED beats REJECTED beats CORRECT."""
    return np.max(np.stack([np.asarray(c) for c in codes]), 0)


def percent(mask: np.ndarray) -> float:
    mask = np.asarray(mask, bool)
    return 100.0 * float(mask.mean()) if mask.size else 0.0
