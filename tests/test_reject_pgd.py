"""Defense-aware PGD: ball and box, monotone objective, batch = per-sample, ~100% evasion of an undefended net."""
import numpy as np
import pytest
import tensorflow as tf

from replication.attacks import RejectPGD
from replication.defenses import Scorer


@pytest.fixture(scope="module")
def setup(small_model, correct_samples):
    x, y = correct_samples
    scorer = lambda z: small_model(z - 0.5, training=False)  # noqa: E731  the model takes [-0.5, 0.5]
    return scorer, x[:20] + 0.5, y[:20]


@pytest.mark.parametrize("norm,eps", [("l2", 0.5), ("l2", 2.0), ("linf", 0.05), ("linf", 0.2)])
def test_ball_box_and_monotone_objective(setup, norm, eps):
    scorer, x, y = setup
    adv, history = RejectPGD(scorer, eta=0.01, max_iter=20, norm=norm).attack(x, y, eps)
    delta = (adv - x).reshape(len(x), -1)
    norms = np.abs(delta).max(1) if norm == "linf" else np.sqrt((delta ** 2).sum(1))
    assert (norms <= eps + 1e-4).all() and adv.min() >= 0 and adv.max() <= 1
    assert (np.diff(history, axis=0) <= 1e-6).all()  # never increases
    assert (history[-1] < history[0]).all()


def test_large_eps_evades_the_undefended_network(setup):
    scorer, x, y = setup
    adv = RejectPGD(scorer, eta=0.01, max_iter=50)(x, y, 5.0)
    pred = scorer(tf.constant(adv)).numpy().argmax(1)
    assert (pred != y).mean() >= 0.95


@pytest.mark.parametrize("norm,eps", [("l2", 1.0), ("linf", 0.1)])
def test_batch_equals_per_sample(setup, norm, eps):
    scorer, x, y = setup
    attack = RejectPGD(scorer, eta=0.01, max_iter=10, batch_size=3, norm=norm, tol=0.05)
    batch = attack(x[:8], y[:8], eps)  # a working set of 3, refilled as samples stop
    one = RejectPGD(scorer, eta=0.01, max_iter=10, batch_size=1, norm=norm, tol=0.05)
    single = np.concatenate([one(x[i:i + 1], y[i:i + 1], eps) for i in range(8)])
    assert np.abs(batch - single).max() < 1e-3


def test_only_samples_still_moving_are_computed(setup):
    """A sample that stopped is not scored again: the scorer sees fewer samples than batch x iterations x (1 + steps)
    once some stop (this tol stops about half of them at once); stopped samples keep the point where they stopped."""
    scorer, x, y = setup
    seen = tf.Variable(0, dtype=tf.int64)

    def counting(z):
        seen.assign_add(tf.cast(tf.shape(z)[0], tf.int64))
        return scorer(z)
    attack = RejectPGD(counting, eta=0.01, max_iter=8, doublings=3, batch_size=20, tol=0.12)
    seen.assign(0)
    adv, history = attack.attack(x, y, 1.0)
    iterations = history.shape[0] - 1
    stopped = np.abs(np.diff(history, axis=0)) <= 0.12
    assert stopped[0].any() and not stopped[0].all()  # the fixture stops some samples early, not all
    every_sample = len(x) * (1 + iterations * (1 + 4))  # start + per iteration: gradient and 4 steps
    active_samples = len(x) + 5 * int((~np.vstack([np.zeros((1, len(x)), bool), np.cumsum(stopped, 0)[:-1] > 0])
                                        )[:iterations].sum())
    assert int(seen.numpy()) == active_samples < every_sample
    first_stop = np.argmax(stopped, 0)
    for i in np.flatnonzero(stopped.any(0)):
        assert (history[first_stop[i] + 1:, i] == history[first_stop[i] + 1, i]).all()


def test_eps_zero_and_bad_input(setup):
    scorer, x, y = setup
    attack = RejectPGD(scorer)
    assert np.array_equal(attack(x[:3], y[:3], 0.0), x[:3])
    with pytest.raises(ValueError, match="outside the input range"):
        attack(x[:3] + 2, y[:3], 1.0)
    with pytest.raises(ValueError, match="labels"):
        attack(x[:3], y[:2], 1.0)
    with pytest.raises(ValueError, match="eps"):
        attack(x[:3], y[:3], -1.0)
    with pytest.raises(ValueError, match="eta"):
        RejectPGD(scorer, eta=0)


def test_diagnose_tells_flat_scores_from_iteration_limits(setup):
    scorer, x, y = setup
    attack = RejectPGD(scorer, eta=0.001, max_iter=2)
    adv, history = attack.attack(x[:4], y[:4], 3.0)
    diag = attack.diagnose(adv, y[:4], history)
    assert diag["iterations"] == 2 and diag["still_improving"].all() and not diag["flat_gradient"].any()
    # an RBF score far from its centre: the gradient underflows to 0, the signature of gradient masking
    def far(z):
        sq = tf.reduce_sum(tf.reshape(z, [tf.shape(z)[0], -1]) ** 2, 1, keepdims=True)
        return tf.exp(-50.0 * sq) * tf.ones([1, 3])
    flat = RejectPGD(far, eta=0.01, max_iter=5)
    adv, history = flat.attack(x[:4], np.zeros(4, np.int64), 1.0)
    diag = flat.diagnose(adv, np.zeros(4, np.int64), history)
    assert diag["flat_gradient"].all() and not diag["still_improving"].any() and diag["iterations"] == 1


def test_linf_large_eps_evades_and_bad_norm_is_refused(setup):
    scorer, x, y = setup
    adv = RejectPGD(scorer, eta=0.01, max_iter=30, norm="linf")(x, y, 0.3)
    assert (scorer(tf.constant(adv)).numpy().argmax(1) != y).mean() >= 0.95
    with pytest.raises(ValueError, match="norm must be one of"):
        RejectPGD(scorer, norm="l1")


def test_histories_of_samples_that_stop_at_different_iterations_line_up(setup):
    scorer, x, y = setup
    attack = RejectPGD(scorer, eta=0.01, max_iter=8, batch_size=3, tol=1e-2)
    adv, history = attack.attack(x[:8], y[:8], 1.0)
    assert history.shape[1] == 8 and (np.diff(history, axis=0) <= 1e-6).all()
    np.testing.assert_allclose(history[-1], attack.objective(adv, y[:8]), rtol=1e-4, atol=1e-4)


def test_reject_aware_objective_lowers_the_reject_score_while_rejected():
    from replication.attacks.reject_pgd import omega
    scores = tf.constant([[3.0, 1.0, 2.0, 0.5],    # class 0 wins: plain margin over the digits, reject left out
                          [1.0, 0.2, 0.4, 2.0],    # rejected: Omega = s_reject - max_{j not in {y, reject}} s_j
                          [0.1, 0.9, 0.3, 0.5]])   # class 1 wins (wrong): s_y - max other digit
    y = tf.constant([0, 0, 0])
    np.testing.assert_allclose(omega(scores, y, reject_aware=True).numpy(), [1.0, 1.6, -0.8], atol=1e-6)
    np.testing.assert_allclose(omega(scores, y).numpy(), [1.0, -1.0, -0.8], atol=1e-6)


def test_reject_aware_attack_respects_ball_box_and_descends(setup):
    scorer, x, y = setup
    theta = 2.0  # a constant reject score inside the logits' range: points end in the reject region
    # a Scorer declares its last column the reject score (a plain callable is taken as logits that never reject)
    with_reject = Scorer(lambda z: tf.concat([scorer(z), tf.fill([tf.shape(z)[0], 1], theta)], 1), name="theta")
    attack = RejectPGD(with_reject, eta=0.01, max_iter=15, reject_aware=True)
    adv, history = attack.attack(x, y, 2.0)
    assert (np.sqrt(((adv - x) ** 2).reshape(len(x), -1).sum(1)) <= 2.0 + 1e-4).all()
    assert 0 <= adv.min() <= adv.max() <= 1
    assert (np.diff(history, axis=0) <= 1e-6).all() and (history[-1] < history[0]).all()
    pred = with_reject(tf.constant(adv)).numpy().argmax(1)
    aware = ((pred != y) & (pred != 10)).mean()  # evaded: a wrong digit above the reject score
    plain = RejectPGD(scorer, eta=0.01, max_iter=15)(x, y, 2.0)
    pred = with_reject(tf.constant(plain)).numpy().argmax(1)
    assert aware >= ((pred != y) & (pred != 10)).mean() + 0.1  # measured 45% vs 25%: Eq. 1 stalls in the reject region


def test_secml_step_search_shrinks_where_algorithm_1_stalls():
    """Omega = 1e4 (x - 0.503)^2 from x = 0.5: every step eta * 2^k >= 0.01 overshoots the valley, so Algorithm 1
    cannot lower Omega and stops; the smaller steps secml also tries (eta / 4 = 0.0025) find it."""
    scorer = lambda z: tf.concat([1e4 * tf.square(tf.reshape(z, [-1, 1]) - 0.503), tf.zeros([tf.shape(z)[0], 1])], 1)  # noqa: E731
    x, y = np.full((1, 1), 0.5, np.float32), np.zeros(1, np.int64)
    _, paper = RejectPGD(scorer, eta=0.01, max_iter=5).attack(x, y, 1.0)
    _, secml = RejectPGD(scorer, eta=0.01, max_iter=5, halvings=10).attack(x, y, 1.0)
    assert paper[-1, 0] == pytest.approx(paper[0, 0])  # stalled at the start (0.09)
    assert secml[-1, 0] < 0.01 * secml[0, 0]
    with pytest.raises(ValueError, match="halvings"):
        RejectPGD(scorer, halvings=-1)
