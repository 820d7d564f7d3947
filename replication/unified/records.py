"""Typed records of a unified run: an attack point, a restart point, the one axis, the style control.

Each record reads (`from_dict`) and writes (`to_dict`) exactly the JSON its unit file or `results.json` holds, so a
report regenerated from `results.json` and a run resumed from unit files see the same records.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Dict, List, Optional

import numpy as np

from replication.evaluation.outcomes import rejected_by
from replication.unified.detectors import evaded


@dataclass
class AttackPoint:
    """One (model, attack, eps) unit: outcome percentages (correct, other digit, detected; accuracy counts a
    detection as correct under attack), each sample's digit and margin over the reject score, and for the adaptive
    attacks how they stopped (iterations, fractions still improving and at a vanishing gradient)."""

    eps: float
    seconds: float
    correct: float
    other_digit: float
    detected: float
    accuracy: float
    pred: np.ndarray
    margin: np.ndarray
    diagnostics: Dict[str, float]

    def evaded_samples(self, y: np.ndarray) -> np.ndarray:
        """Per sample: a wrong digit, not detected."""
        return evaded(self.pred, self.margin, y)

    def detected_samples(self) -> np.ndarray:
        """Per sample: detected (margin <= 0)."""
        return rejected_by(self.margin)

    @classmethod
    def from_dict(cls, d: Dict) -> AttackPoint:
        return cls(float(d["eps"]), d["seconds"], d["correct"], d["other_digit"], d["detected"], d["accuracy"],
                   np.asarray(d["pred"], np.int64), np.asarray(d["margin"], float), d["diagnostics"])

    def to_dict(self) -> Dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class RestartPoint:
    """secml's double-initialisation restart at one eps: accuracy when the attacker keeps whichever run evades, what
    the restart gained (%), on how many samples it ran, and per sample whether either run evaded."""

    eps: float
    accuracy: float
    restart_gain: float
    restarted: int
    evaded: np.ndarray

    def evaded_samples(self, y: np.ndarray) -> np.ndarray:
        """Per sample: evaded by the first run or the restart."""
        return self.evaded

    @classmethod
    def from_dict(cls, d: Dict) -> RestartPoint:
        return cls(float(d["eps"]), d["accuracy"], d["restart_gain"], d["restarted"], np.asarray(d["evaded"], bool))

    def to_dict(self) -> Dict:
        return asdict(self)


def _curves(cls, d: Dict[str, List[Dict]]) -> Dict[str, List]:
    return {m: [cls.from_dict(p) for p in pts] for m, pts in d.items()}


def _dicts(curves: Dict[str, List]) -> Dict[str, List[Dict]]:
    return {m: [p.to_dict() for p in pts] for m, pts in curves.items()}


@dataclass
class Axis:
    """Part 2: every model under the adaptive L2 PGD (`points`), its restart and (models with a reject option) the
    reject-aware variant, per eps; the worst-case accuracy over them, where each model fails, how the adaptive
    attack stopped at the largest eps, and the sanity criterion on each."""

    eps: List[float]
    points: Dict[str, List[AttackPoint]]
    restart: Dict[str, List[RestartPoint]]
    reject_aware: Dict[str, List[AttackPoint]]
    worst_case: Dict[str, List[float]]
    fails: Dict[str, Dict[str, Optional[float]]]
    sanity: List[str]
    restart_sanity: List[str]
    worst_case_sanity: List[str]
    stops: Dict[str, Dict[str, float]]

    @classmethod
    def from_dict(cls, d: Dict) -> Axis:
        return cls(list(d["eps"]), _curves(AttackPoint, d["points"]), _curves(RestartPoint, d["restart"]),
                   _curves(AttackPoint, d["reject_aware"]), d["worst_case"], d["fails"], d["sanity"],
                   d["restart_sanity"], d["worst_case_sanity"], d["stops"])

    def to_dict(self) -> Dict:
        out: Dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        return {**out, "points": _dicts(self.points), "restart": _dicts(self.restart),
                "reject_aware": _dicts(self.reject_aware)}


def curves(results: Dict) -> Dict[str, Dict[str, List[AttackPoint]]]:
    """Part 1's typed curves of a unified `results.json`: per model, per attack, one point per eps."""
    return {m: {a: [p if isinstance(p, AttackPoint) else AttackPoint.from_dict(p) for p in pts]
                for a, pts in by_attack.items()} for m, by_attack in results["curves"].items()}


def axis(results: Dict) -> Axis:
    """Part 2's typed axis of a unified `results.json`."""
    a = results["axis"]
    return a if isinstance(a, Axis) else Axis.from_dict(a)
