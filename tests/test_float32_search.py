"""Float32 search, float64 verdicts: an attack may descend on a float32 twin of an NR/DNR scorer, but every outcome
is read from the float64 scorer (equal to scikit-learn within 1e-5) on the points the search returns."""
import numpy as np
import pytest
import tensorflow as tf

from replication.attacks import RejectPGD
from replication.defenses import DNR, NR, Undefended, scores_of
from replication.evaluation import EVADED, evaluate_point, outcome

BOUND = 1e-4  # float32 twin vs float64 scorer, relative to each sample's largest |score| (at least 1e-3)


@pytest.fixture(scope="module")
def defenses(small_model, mnist_slice):
    x, y = mnist_slice
    x = x + 0.5
    names = [layer.name for layer in small_model.layers][-2:]
    nr = NR(small_model, names[-1], 10.0, 1e-2).fit(x[:800], y[:800])
    dnr = DNR(small_model, names, [(10.0, 1e-3), (10.0, 1e-2)], (1.0, 0.1)).fit(x[:800], y[:800])
    for d in (nr, dnr):
        d.set_threshold(x[800:1100], 0.1)
    return {"nr": nr, "dnr": dnr}, x[1100:], y[1100:]


@pytest.mark.parametrize("name", ["nr", "dnr"])
def test_the_float32_twin_stays_within_its_bound_of_the_float64_scorer(defenses, name):
    by_name, x, _ = defenses
    defense = by_name[name]
    ref = scores_of(defense.scorer, x[:500]).astype(np.float64)
    twin = scores_of(defense.scorer_in("float32"), x[:500]).astype(np.float64)
    rel = np.abs(twin - ref) / np.maximum(np.abs(ref[:, :-1]).max(1, keepdims=True), 1e-3)
    assert rel.max() < BOUND, rel.max()
    assert defense.scorer_in("float32") is not defense.scorer and defense.scorer_in("float64") is defense.scorer
    np.testing.assert_allclose(ref[:, :-1], defense.decision_function(x[:500]), rtol=1e-5, atol=1e-5)


def test_outcomes_are_read_from_the_float64_scorer(defenses):
    by_name, x, y = defenses
    dnr = by_name["dnr"]
    attack = RejectPGD(dnr, max_iter=10, precision="float32")
    assert attack.search is not attack.scorer and attack.scorer is dnr.scorer
    point = evaluate_point(dnr, attack, x[:40], y[:40], 1.5, keep_adversarial=True)
    exact = scores_of(dnr.scorer, point.adversarial)
    np.testing.assert_array_equal(point.scores, exact)
    np.testing.assert_array_equal(point.outcome, outcome(exact, y[:40]))
    d = np.sqrt(((point.adversarial - x[:40]) ** 2).reshape(40, -1).sum(1))
    assert d.max() <= 1.5 + 1e-4 and point.adversarial.min() >= 0 and point.adversarial.max() <= 1


def test_float32_search_is_about_as_strong_as_float64(defenses):
    by_name, x, y = defenses
    dnr = by_name["dnr"]
    wide = evaluate_point(dnr, RejectPGD(dnr, max_iter=20), x[:60], y[:60], 2.0)
    fast = evaluate_point(dnr, RejectPGD(dnr, max_iter=20, precision="float32"), x[:60], y[:60], 2.0)
    acc = lambda p: float(np.mean(p.outcome != EVADED))  # noqa: E731
    assert abs(acc(fast) - acc(wide)) <= 0.1


def test_precision_is_checked_and_plain_networks_need_no_twin(small_model):
    with pytest.raises(ValueError, match="precision"):
        RejectPGD(Undefended(small_model), precision="float16")
    attack = RejectPGD(Undefended(small_model), precision="float32")
    assert attack.search is attack.scorer


def test_protocols_search_in_float64():
    from replication.dnr.experiment import pgd
    from replication.runs import protocols
    p = protocols.dnr("smoke").mnist

    class Stub(Undefended):
        def __init__(self):
            self.input_range, self.model_range, self._scorer = (0.0, 1.0), (0.0, 1.0), None

        def _scores(self, x):
            return tf.zeros([tf.shape(x)[0], 11])
    assert pgd(p, Stub()).precision == "float64"
