"""Security evaluation of a defense: several attacks over an eps grid, per-sample outcomes, the per-sample worst
case over attacks (AutoAttack's bookkeeping), accuracy intervals and sanity checks.

    report = security_evaluation(defense, x, y, eps_grid=[0, 0.5, 1, 2],
                                 attacks={"pgd": RejectPGD(defense, restart=x_val), "cw": MinimumNorm(cw_l2)})
    print(report.table())
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from typing import Callable, Dict, List, Mapping, Optional, Sequence

import numpy as np

from replication.attacks.reject_pgd import RejectPGD
from replication.defenses.base import as_scorer, box_of, scores_of
from replication.defenses.inputs import check_images, check_labels
from replication.evaluation import checks, stats
from replication.evaluation.outcomes import EVADED, NAMES, accurate, outcome, worst


@dataclass
class MinimumNorm:
    """A minimum-distance attack (e.g. Carlini-Wagner L2): `fn(x, y) -> adversarial x` runs once; a sample counts
    as evaded at eps when the adversarial evades within distance eps (`norm`: 'l2' or 'linf')."""

    fn: Callable[[np.ndarray, np.ndarray], np.ndarray]
    norm: str = "l2"


def distance(adv: np.ndarray, x: np.ndarray, norm: str = "l2") -> np.ndarray:
    """Per-sample L2 or L-inf distance."""
    d = (np.asarray(adv, np.float64) - np.asarray(x, np.float64)).reshape(len(x), -1)
    return np.abs(d).max(1) if norm == "linf" else np.sqrt((d ** 2).sum(1))


def accuracy_interval(codes: np.ndarray, eps: float) -> stats.Interval:
    """% of samples accurate at eps (correct, or rejected under attack), Wilson 95% interval."""
    ok = accurate(codes, eps > 0)
    return stats.wilson(int(ok.sum()), len(ok))


@dataclass
class Point:
    """One attack at one eps: per-sample outcome codes (`replication.evaluation.outcomes`), distances, the scores
    the outcomes were read from, for a PGD attack why samples stopped, and (when asked for) the adversarials."""

    attack: str
    eps: float
    outcome: np.ndarray
    distance: np.ndarray
    seconds: float
    iterations: Optional[int] = None
    still_improving: Optional[np.ndarray] = None
    flat_gradient: Optional[np.ndarray] = None
    scores: Optional[np.ndarray] = None          # (n, classes + 1), reject score last
    adversarial: Optional[np.ndarray] = None     # kept only with keep_adversarial

    def accuracy(self) -> stats.Interval:
        """% accurate (correct, or rejected under attack), Wilson 95% interval."""
        return accuracy_interval(self.outcome, self.eps)

    def to_dict(self) -> Dict:
        """The point as a dict of its fields (arrays stay arrays; `results.jsonable` makes them JSON)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: Mapping) -> Point:
        """The point `to_dict` wrote, read back from JSON with its arrays' dtypes."""
        return cls(d["attack"], float(d["eps"]), np.asarray(d["outcome"], np.int8), np.asarray(d["distance"], float),
                   float(d["seconds"]), d.get("iterations"), _array(d.get("still_improving"), bool),
                   _array(d.get("flat_gradient"), bool), _array(d.get("scores"), np.float32),
                   _array(d.get("adversarial"), np.float32))


def _array(value, dtype) -> Optional[np.ndarray]:
    return None if value is None else np.asarray(value, dtype)


@dataclass
class SecurityEvaluation:
    """Per attack, one Point per eps; the worst case takes each sample's attacker-best outcome over attacks."""

    eps: List[float]
    y: np.ndarray
    points: Dict[str, List[Point]]
    problems: List[str] = field(default_factory=list)

    def worst_case(self) -> List[np.ndarray]:
        """Per eps, each sample's worst outcome over every attack."""
        return [worst(*[self.points[a][i].outcome for a in self.points]) for i in range(len(self.eps))]

    def accuracy(self, attack: Optional[str] = None) -> List[stats.Interval]:
        """Accuracy intervals per eps, for one attack or (None) the worst case."""
        if attack is not None:
            return [p.accuracy() for p in self.points[attack]]
        return [accuracy_interval(codes, e) for e, codes in zip(self.eps, self.worst_case())]

    def counts(self, attack: Optional[str] = None) -> List[Dict[str, int]]:
        """Per eps, how many samples end correct / rejected / evaded."""
        rows = self.worst_case() if attack is None else [p.outcome for p in self.points[attack]]
        return [{name: int((codes == code).sum()) for code, name in NAMES.items()} for codes in rows]

    def table(self) -> str:
        """Accuracy (%, 95% interval) per eps: one column per attack and the worst case."""
        columns = list(self.points) + ["worst case"]
        lines = ["| eps | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
        acc = {a: self.accuracy(a) for a in self.points}
        acc["worst case"] = self.accuracy()
        for i, e in enumerate(self.eps):
            lines.append(f"| {e:g} | " + " | ".join(acc[c][i].text(1) for c in columns) + " |")
        lines.append(f"\nN = {len(self.y)} samples; accuracy counts a reject as correct under attack (eps > 0).")
        lines += [f"check: {p}" for p in self.problems]
        return "\n".join(lines)


def checked(target, x: np.ndarray, y: np.ndarray):
    """x and y as the target takes them: its shape, finite, inside its box, one label per sample in its classes."""
    scorer = as_scorer(target)
    x = check_images(x, box_of(target), scorer.input_shape)
    return x, check_labels(y, len(x), scorer.classes)


def evaluate_point(target, attack, x: np.ndarray, y: np.ndarray, eps: float, name: str = "attack",
                   adversarial: Optional[np.ndarray] = None, keep_adversarial: bool = False) -> Point:
    """Run one attack at one eps against `target` (a defense, or anything `as_scorer` takes) and score it.

    A MinimumNorm attack's `adversarial` (computed once for the whole grid) may be passed in; `keep_adversarial`
    keeps the point's adversarials on it (a MinimumNorm's within eps, else the clean sample).
    """
    start = time.time()
    scorer = as_scorer(target)
    x, y = checked(target, x, y)
    if isinstance(attack, MinimumNorm):
        adv = np.asarray(attack.fn(x, y) if adversarial is None else adversarial, np.float32)
        d = distance(adv, x, attack.norm)
        clean, attacked = scores_of(scorer, x), scores_of(scorer, adv)
        within = (outcome(attacked, y) == EVADED) & (d <= eps + 1e-6) & (eps > 0)
        kept = np.where(within.reshape((-1,) + (1,) * (x.ndim - 1)), adv, x) if keep_adversarial else None
        return Point(name, eps, np.where(within, EVADED, outcome(clean, y)).astype(np.int8),
                     np.where(within, d, 0.0), time.time() - start, scores=np.where(within[:, None], attacked, clean),
                     adversarial=kept)
    extra: Dict = {}
    if isinstance(attack, RejectPGD):
        adv, history = attack.attack(x, y, eps)
        diag = attack.diagnose(adv, y, history)
        if attack.restart_from is not None and eps > 0:
            adv = attack.merge_restart(x, y, eps, adv)
        extra = {"iterations": diag["iterations"], "still_improving": diag["still_improving"],
                 "flat_gradient": diag["flat_gradient"]}
    else:
        adv = np.asarray(attack(x, y, eps), np.float32)
    scores = scores_of(scorer, adv)
    return Point(name, eps, outcome(scores, y), distance(adv, x, getattr(attack, "norm", "l2")), time.time() - start,
                 scores=scores, adversarial=adv if keep_adversarial else None, **extra)


def security_evaluation(defense, x: np.ndarray, y: np.ndarray, eps_grid: Sequence[float],
                        attacks: Optional[Mapping[str, object]] = None,
                        cache: Optional[Callable[[str, Callable[[], Point]], Point]] = None,
                        progress: bool = False, keep_adversarial: bool = False) -> SecurityEvaluation:
    """Every attack at every eps against `defense` (a Defense, or a Keras classifier: undefended, box [0, 1]).

    `attacks`: name -> a RejectPGD, a callable (x, y, eps) -> adversarial x, or a MinimumNorm; default: the
    defense-aware PGD of the DNR paper with secml's restart from x itself. `cache(key, compute)` may store each
    point (e.g. a resumable run's unit store); `keep_adversarial` keeps every point's adversarials (memory: the
    samples times the points). Returns per-sample outcomes, worst case, intervals and checks.
    """
    x, y = checked(defense, x, y)
    eps_grid = [float(e) for e in eps_grid]
    if any(e < 0 for e in eps_grid) or eps_grid != sorted(eps_grid):
        raise ValueError(f"eps_grid must be non-negative and increasing, got {eps_grid}")
    attacks = dict(attacks) if attacks else {"pgd": RejectPGD(defense)}
    run = cache or (lambda key, compute: compute())
    jobs = [(name, e) for name in attacks for e in eps_grid]
    bar = _progress(len(jobs), progress)
    points: Dict[str, List[Point]] = {name: [] for name in attacks}
    minimum: Dict[str, np.ndarray] = {}

    def compute(name: str, e: float) -> Point:
        attack = attacks[name]
        if isinstance(attack, MinimumNorm) and name not in minimum:
            minimum[name] = np.asarray(attack.fn(x, y), np.float32)
        return evaluate_point(defense, attack, x, y, e, name, minimum.get(name), keep_adversarial)

    for name, e in jobs:
        points[name].append(run(f"{name}/eps{e:g}", lambda: compute(name, e)))
        bar.update(1)
    bar.close()
    result = SecurityEvaluation(eps_grid, y, points)
    result.problems = checks.run_checks(result)
    return result


def _progress(total: int, show: bool):
    from tqdm.auto import tqdm
    return tqdm(total=total, disable=not show, desc="attack points", unit="point")
