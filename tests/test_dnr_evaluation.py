"""Security-evaluation metrics, threshold trade-off, sanity flags, and the DNR protocols."""
import dataclasses

import numpy as np
import pytest

from replication import protocols, published
from replication.dnr import evaluation


def test_rejects_are_errors_only_without_attack():
    scores = np.array([[0.9, 0.1], [0.2, 0.3], [-1.0, -2.0]])
    y = np.array([0, 0, 1])
    assert evaluation.outcome(scores, -0.5, y, 0.0) == {"accuracy": pytest.approx(100 / 3), "rejection": pytest.approx(100 / 3)}
    assert evaluation.outcome(scores, -0.5, y, 1.0)["accuracy"] == pytest.approx(200 / 3)


def test_threshold_tradeoff():
    clean = np.array([0.1, 0.5, 0.9, 1.3])
    adv_top, adv_pred, y = np.array([0.2, 0.6, 1.0, 2.0]), np.array([1, 1, 0, 1]), np.array([0, 0, 0, 0])
    out = evaluation.threshold_tradeoff(clean, adv_top, adv_pred, y, [0.0, 0.55, 1.5])
    # theta 1.5 rejects the first three adversarials (counted correct); the fourth (score 2.0) is misclassified
    assert out["false_reject"] == [0.0, 50.0, 100.0] and out["accuracy"] == [25.0, 50.0, 75.0]


def test_sanity_flags_weak_attacks():
    assert evaluation.sanity([0, 1, 2], {"dnn": [99, 3, 0]}) == []
    problems = evaluation.sanity([0, 1, 2, 3], {"dnr": [99, 40, 60, 30]})
    assert any("largest eps" in p for p in problems) and any("rises" in p for p in problems)


def test_dnr_paper_protocol():
    p = protocols.dnr("paper")
    assert (p.mnist.dnn_train, p.mnist.epochs, p.mnist.batch_size, p.mnist.learning_rate) == (30000, 50, 128, 0.1)
    assert (p.cifar10.dnn_train, p.cifar10.epochs, p.cifar10.batch_size, p.cifar10.learning_rate) == (40000, 75, 100, 0.01)
    for ds in (p.mnist, p.cifar10):
        assert (ds.runs, ds.svm_train, ds.test, ds.search_params, ds.cv_folds, ds.pgd_doublings) == (5, 10000, 1000, True, 5, 10)
        assert ds.eps_grid == published.DNR_EPS_GRID[ds.name]
    assert (p.reject_rate, p.stacking_folds) == (0.1, 3)


@pytest.mark.parametrize("level", ["fast", "smoke"])
def test_dnr_reduced_protocols_change_only_counts(level):
    counts = {"dnn_train", "epochs", "runs", "svm_train", "validation", "test", "pgd_max_iter", "attack_batch",
              "eps_grid", "search_params"}  # search_params: the issue lets reduced protocols use published (C, gamma)
    paper, other = protocols.dnr("paper"), protocols.dnr(level)
    for a, b in ((paper.mnist, other.mnist), (paper.cifar10, other.cifar10)):
        changed = {f.name for f in dataclasses.fields(a) if getattr(a, f.name) != getattr(b, f.name)}
        assert changed <= counts, changed
        assert set(b.eps_grid) <= set(a.eps_grid)
    assert (other.reject_rate, other.stacking_folds) == (paper.reject_rate, paper.stacking_folds)


def test_survivor_causes_split_the_survivors():
    correct = np.array([True, True, True, True, False])
    still = np.array([True, False, False, False, True])
    flat = np.array([True, True, False, False, False])
    c = evaluation.survivor_causes(correct, still, flat)
    assert c == {"survivors": 80.0, "max_iter": 25.0, "flat_gradient": 25.0, "local_minimum": 50.0}
    problems = evaluation.sanity([0, 5], {"nr": [90, 30]}, {"nr": c})
    assert "25% sit where the gradient vanishes" in problems[0]


def test_reject_rate_tolerance_widens_with_few_samples():
    from replication.dnr.report import reject_rate_tolerance
    assert reject_rate_tolerance(100000) == pytest.approx(2.0)
    assert reject_rate_tolerance(40) == pytest.approx(200 * np.sqrt(0.09 / 40))
