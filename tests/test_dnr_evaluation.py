"""Security-evaluation metrics, threshold trade-off, sanity flags, and the DNR protocols."""
import dataclasses

import numpy as np
import pytest

from replication.evaluation import accurate, checks, outcome, threshold_tradeoff
from replication.reporting import deviations, published
from replication.runs import protocols


def test_rejects_are_errors_only_without_attack():
    scores = np.array([[0.9, 0.1, -0.5], [0.2, 0.3, -0.5], [-1.0, -2.0, -0.5]])  # theta -0.5 as the reject column
    codes = outcome(scores, np.array([0, 0, 1]))
    assert codes.tolist() == [0, 2, 1]  # correct, evaded (wrong class), rejected
    assert accurate(codes, attacked=False).mean() == pytest.approx(1 / 3)
    assert accurate(codes, attacked=True).mean() == pytest.approx(2 / 3)


def test_threshold_tradeoff():
    clean = np.array([0.1, 0.5, 0.9, 1.3])
    adv_top, adv_pred, y = np.array([0.2, 0.6, 1.0, 2.0]), np.array([1, 1, 0, 1]), np.array([0, 0, 0, 0])
    out = threshold_tradeoff(clean, adv_top, adv_pred, y, [0.0, 0.55, 1.5])
    # theta 1.5 rejects the first three adversarials (counted correct); the fourth (score 2.0) is misclassified
    assert out["false_reject"] == [0.0, 50.0, 100.0] and out["accuracy"] == [25.0, 50.0, 75.0]


def test_sanity_flags_weak_attacks():
    assert checks.sanity([0, 1, 2], {"dnn": [99, 3, 0]}) == []
    problems = checks.sanity([0, 1, 2, 3], {"dnr": [99, 40, 60, 30]})
    assert any("largest eps" in p for p in problems) and any("rises" in p for p in problems)


def test_dnr_paper_protocol():
    p = protocols.dnr("paper")
    assert (p.mnist.dnn_train, p.mnist.epochs, p.mnist.batch_size, p.mnist.learning_rate) == (30000, 50, 128, 0.1)
    c = p.cifar10
    assert (c.dnn_train, c.epochs, c.batch_size, c.learning_rate) == (40000, 75, 100, 0.01)
    for ds in (p.mnist, p.cifar10):
        got = (ds.runs, ds.svm_train, ds.test, ds.search_params, ds.cv_folds, ds.pgd_doublings)
        assert got == (5, 10000, 1000, True, 5, 10)
        assert ds.eps_grid == published.DNR_EPS_GRID[ds.name]
    assert (p.reject_rate, p.stacking_folds) == (0.1, 3)


@pytest.mark.parametrize("level", ["fast", "smoke"])
def test_dnr_reduced_protocols_change_counts_or_declare_it(level):
    """A reduced protocol changes counts; any method change is a declared one, and the report's generated
    deviations section names it."""
    counts = {"dnn_train", "epochs", "runs", "svm_train", "validation", "test", "pgd_max_iter", "attack_batch",
              "eps_grid", "cv_samples", "line_search_check"}
    paper, other = protocols.dnr("paper"), protocols.dnr(level)
    items = deviations.protocol_items(paper.to_dict(), other.to_dict(), deviations.DNR_METHOD_FIELDS)
    for a, b in ((paper.mnist, other.mnist), (paper.cifar10, other.cifar10)):
        changed = {f.name for f in dataclasses.fields(a) if getattr(a, f.name) != getattr(b, f.name)}
        assert changed <= counts | set(deviations.DNR_METHOD_FIELDS), changed
        for field in changed & set(deviations.DNR_METHOD_FIELDS):
            assert any(item.startswith("**method**") and f"{a.name}.{field}" in item for item in items), field
        assert set(b.eps_grid) <= set(a.eps_grid)
    assert (other.reject_rate, other.stacking_folds) == (paper.reject_rate, paper.stacking_folds)


def test_fast_searches_mnist_params_and_declares_cifar():
    fast = protocols.dnr("fast")
    assert fast.mnist.search_params and not fast.cifar10.search_params
    items = deviations.protocol_items(protocols.dnr("paper").to_dict(), fast.to_dict(), deviations.DNR_METHOD_FIELDS)
    assert [i for i in items if i.startswith("**method**")] == [
        "**method**: `cifar10.search_params: True -> False`: " + deviations.DNR_METHOD_FIELDS["search_params"]]


def test_survivor_causes_split_the_survivors():
    correct = np.array([True, True, True, True, False])
    still = np.array([True, False, False, False, True])
    flat = np.array([True, True, False, False, False])
    c = checks.survivor_causes(correct, still, flat)
    assert c == {"survivors": 80.0, "max_iter": 25.0, "flat_gradient": 25.0, "local_minimum": 50.0}
    problems = checks.sanity([0, 5], {"nr": [90, 30]}, {"nr": c})
    assert "25% sit where the gradient vanishes" in problems[0]


def _dataset(dnr_right, nr_right, clean_top, eps=(0.0, 1.0, 5.0), runs=2):
    """A synthetic DNR result: per run, samples the DNR / NR get right at every eps > 0 (bool arrays), the clean
    top score (theta 0 rejects top <= 0), and the DNN evaded everywhere."""
    from replication.dnr.records import Aggregate, CurvePoint, DatasetResult, Run
    from replication.evaluation import outcome_of
    n = len(dnr_right)
    y = np.zeros(n, int)

    def point(e, top, pred, theta=0.0):  # what the claims read: eps, per-sample outcome (top score, class, theta)
        top, pred = np.asarray(top, float), np.asarray(pred)
        return CurvePoint(e, 0.0, 0.0, 0.0, top, pred, outcome_of(pred, top - theta, y), 0.0, None, {})
    out = []
    for _ in range(runs):
        curves = {}
        for m, right in (("dnr", dnr_right), ("nr", nr_right), ("dnn", np.zeros(n, bool))):
            theta = -np.inf if m == "dnn" else 0.0  # the undefended DNN never rejects
            curves[m] = [point(0.0, clean_top, [0] * n, theta)] + [point(e, [1.0] * n, np.where(right, 0, 1), theta)
                                                                   for e in eps[1:]]
        out.append(Run(y, {"theta": {"nr": 0.0, "dnr": 0.0}}, {}, curves))
    return DatasetResult([], "net", 0, "synthetic", out, Aggregate(list(eps), {}, {}, {}, []))


def test_claims_are_judged_per_sample():
    from replication.dnr import claims
    n = 400
    clean_top = np.where(np.arange(n) < 40, -1.0, 1.0)  # exactly 10% rejected
    dnr_right = np.arange(n) < 120
    nr_right = np.arange(n) < 60
    ds = _dataset(dnr_right, nr_right, clean_top)
    judged = {c.claim.split(" (")[0]: c for c in claims.judge("mnist", ds)}
    assert judged["DNR accuracy >= NR accuracy across eps"].verdict == "supported"
    assert judged["NR rejects about 10% of clean samples"].verdict == "inconclusive"  # N=800 cannot pin it to 8-12%
    assert judged["NR rejects about 10% of clean samples"].n_to_decide > 800
    assert judged["the undefended DNN falls to about 0 accuracy at small eps"].verdict == "supported"
    largest = next(c for k, c in judged.items() if k.startswith("every model"))
    assert largest.verdict == "contradicted"  # DNR keeps 15% at eps 5
    swapped = {c.claim: c for c in claims.judge("mnist", _dataset(nr_right, dnr_right, clean_top))}
    assert swapped["DNR accuracy >= NR accuracy across eps"].verdict == "contradicted"
    tied = {c.claim: c for c in claims.judge("mnist", _dataset(nr_right, nr_right, clean_top))}
    assert tied["DNR accuracy >= NR accuracy across eps"].verdict == "inconclusive"
