"""security_evaluation: per-sample bookkeeping, worst case over attacks, minimum-norm attacks, checks, bad input."""
import numpy as np
import pytest
import tensorflow as tf

from replication.attacks import RejectPGD
from replication.defenses import Scorer, with_reject
from replication.evaluation import (
    CORRECT,
    EVADED,
    REJECTED,
    MinimumNorm,
    outcome,
    outcome_of,
    security_evaluation,
    worst,
)

THETA = 0.2
CENTRES = np.array([[0.15, 0.15], [0.85, 0.85]], np.float32)


def bumps(z):
    d2 = tf.reduce_sum((z[:, None, :] - tf.constant(CENTRES)[None]) ** 2, -1)
    return with_reject(tf.exp(-d2 / 0.02), THETA)


SCORER = Scorer(bumps, name="bumps")
X = np.array([[0.15, 0.15], [0.85, 0.85], [0.5, 0.5], [0.2, 0.1]], np.float32)
Y = np.array([0, 1, 0, 1])  # correct, correct, rejected (far from both), wrong class


def shift_to(target):
    """A fake attack moving every sample towards `target` by at most eps (L2)."""
    def attack(x, y, eps):
        d = target - x
        n = np.sqrt((d ** 2).sum(1, keepdims=True))
        return (x + d * np.minimum(1.0, eps / np.maximum(n, 1e-12))).astype(np.float32)
    return attack


def test_outcomes_per_sample_and_worst_case():
    report = security_evaluation(SCORER, X, Y, [0.0, 0.1, 2.0],
                                 attacks={"to_centre_1": shift_to(CENTRES[1]), "to_centre_0": shift_to(CENTRES[0])})
    clean = report.points["to_centre_1"][0].outcome
    assert clean.tolist() == [CORRECT, CORRECT, REJECTED, EVADED]
    far = report.points["to_centre_1"][2].outcome  # everything lands on centre 1: class 1
    assert far.tolist() == [EVADED, CORRECT, EVADED, CORRECT]
    worst_far = report.worst_case()[2]
    assert worst_far.tolist() == [EVADED, EVADED, EVADED, EVADED]  # each sample evaded by one of the two attacks
    acc = report.accuracy()
    assert acc[0].estimate == 50.0 and acc[2].estimate == 0.0 and acc[2].n == 4
    assert report.counts()[0] == {"correct": 2, "rejected": 1, "evaded": 1}
    assert "worst case" in report.table() and "N = 4" in report.table()


def test_worst_prefers_evaded_then_rejected():
    assert worst(np.array([0, 1, 0]), np.array([1, 0, 2])).tolist() == [1, 1, 2]


def test_minimum_norm_attack_counts_only_within_eps():
    far = MinimumNorm(lambda x, y: np.tile(CENTRES[1], (len(x), 1)).astype(np.float32))
    report = security_evaluation(SCORER, X[:1], Y[:1], [0.0, 0.5, 1.0], attacks={"cw": far})
    # the adversarial lies 0.99 away: not within eps 0.5, within eps 1
    assert [p.outcome[0] for p in report.points["cw"]] == [CORRECT, CORRECT, EVADED]


def test_points_keep_the_scores_and_asked_for_adversarials():
    """A point's outcomes are read from its scores; kept adversarials are the attack's (a MinimumNorm's only
    within eps, the clean sample elsewhere); without keep_adversarial none are held."""
    far = MinimumNorm(lambda x, y: np.tile(CENTRES[1], (len(x), 1)).astype(np.float32))
    report = security_evaluation(SCORER, X, Y, [0.0, 1.0], keep_adversarial=True,
                                 attacks={"cw": far, "to_centre_1": shift_to(CENTRES[1])})
    for pt in report.points["cw"] + report.points["to_centre_1"]:
        assert pt.scores.shape == (len(X), 3)
        np.testing.assert_array_equal(pt.scores, SCORER(tf.constant(pt.adversarial)).numpy())
    cw = report.points["cw"][1]
    within = cw.distance > 0  # evaded by the attack within eps (sample 3 is misclassified already)
    assert within.any() and not within.all() and (cw.outcome[within] == EVADED).all()
    np.testing.assert_array_equal(cw.adversarial[within], np.tile(CENTRES[1], (within.sum(), 1)))
    np.testing.assert_array_equal(cw.adversarial[~within], X[~within])
    np.testing.assert_array_equal(report.points["to_centre_1"][1].adversarial, shift_to(CENTRES[1])(X, Y, 1.0))
    plain = security_evaluation(SCORER, X, Y, [0.0, 1.0], attacks={"cw": far})
    assert all(pt.adversarial is None for pt in plain.points["cw"])


def test_reject_pgd_default_and_checks_flag_a_weak_attack():
    weak = security_evaluation(SCORER, X[:2], Y[:2], [0.0, 0.01, 0.02], attacks={"nothing": lambda x, y, e: x})
    assert any("largest eps" in p for p in weak.problems)
    pgd = security_evaluation(SCORER, X[:2], Y[:2], [0.0, 1.5],
                              attacks={"pgd": RejectPGD(SCORER, max_iter=30, restart=CENTRES)})
    assert pgd.accuracy("pgd")[-1].estimate == 0.0 and pgd.points["pgd"][-1].iterations is not None


def test_a_batch_equals_per_sample_evaluations():
    attack = RejectPGD(SCORER, max_iter=20, batch_size=4)
    batch = security_evaluation(SCORER, X, Y, [0.0, 0.3], attacks={"pgd": attack})
    for i in range(len(X)):
        one = security_evaluation(SCORER, X[i:i + 1], Y[i:i + 1], [0.0, 0.3], attacks={"pgd": attack})
        assert one.points["pgd"][1].outcome[0] == batch.points["pgd"][1].outcome[i]


def test_points_round_trip_through_a_json_cache():
    """A resumable run stores each point as JSON (`Point.to_dict`) and reads it back (`Point.from_dict`): the
    second evaluation computes nothing and equals the first field by field, dtypes and -inf scores included."""
    import json

    from replication.evaluation import Point
    from replication.runs.results import jsonable
    saved, computed = {}, []

    def cache(key, compute):
        if key not in saved:
            computed.append(key)
            saved[key] = json.dumps(jsonable(compute()))
        return Point.from_dict(json.loads(saved[key]))
    cw = MinimumNorm(lambda x, y: shift_to(CENTRES[1])(x, y, 0.5))
    attacks = {"pgd": RejectPGD(SCORER, max_iter=20, batch_size=4), "cw": cw}
    plain = security_evaluation(SCORER, X, Y, [0.0, 0.3], attacks=attacks, keep_adversarial=True)
    first = security_evaluation(SCORER, X, Y, [0.0, 0.3], attacks=attacks, cache=cache, keep_adversarial=True)
    again = security_evaluation(SCORER, X, Y, [0.0, 0.3], attacks=attacks, cache=cache)
    assert computed == ["pgd/eps0", "pgd/eps0.3", "cw/eps0", "cw/eps0.3"]
    for a in attacks:
        for p, q, r in zip(plain.points[a], first.points[a], again.points[a]):
            for name in ("outcome", "distance", "scores", "adversarial", "still_improving", "flat_gradient"):
                ref = getattr(p, name)
                for other in (getattr(q, name), getattr(r, name)):
                    assert (other is None) if ref is None else (other.dtype == ref.dtype and
                                                                np.array_equal(other, ref))
            assert q.iterations == p.iterations and q.eps == p.eps and q.attack == p.attack
    undefended = Point("x", 0.0, np.zeros(1, np.int8), np.zeros(1), 0.0, scores=np.array([[1.0, -np.inf]], np.float32))
    assert np.isneginf(Point.from_dict(json.loads(json.dumps(jsonable(undefended)))).scores[0, 1])


def test_bad_input():
    with pytest.raises(ValueError, match="labels"):
        security_evaluation(SCORER, X, Y[:2], [0.0])
    with pytest.raises(ValueError, match="increasing"):
        security_evaluation(SCORER, X, Y, [1.0, 0.5])


def test_outcome_of_a_stored_view_equals_outcome_of_the_scores():
    """(top class, margin over the reject score) gives the same outcomes as the scores, ties (reject = top: rejected)
    and a never-rejecting model (reject score -inf) included; a threshold moves the reject rule."""
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(500, 4)).astype(np.float32)
    scores[:50, -1] = scores[:50, :-1].max(1)   # ties
    scores[50:100, -1] = -np.inf                # undefended
    y = rng.integers(0, 3, 500)
    classes = scores[:, :-1]
    margin = classes.max(1) - scores[:, -1]
    np.testing.assert_array_equal(outcome_of(classes.argmax(1), margin, y), outcome(scores, y))
    assert (outcome_of(classes.argmax(1), margin, y)[:50] == REJECTED).all()
    moved = outcome_of(classes.argmax(1), margin, y, threshold=0.5)
    assert ((moved == REJECTED) == (margin <= 0.5)).all() and (moved == REJECTED).sum() > (margin <= 0).sum()
