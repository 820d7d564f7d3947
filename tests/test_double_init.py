"""secml's double initialisation: start choice, projection of the start, and escape from a reject-region minimum."""
import numpy as np
import pytest
import tensorflow as tf

from replication.attacks import RejectPGD, double_init
from replication.defenses import Scorer, evaded, scores_of, with_reject

CENTRES = np.array([[0.15, 0.15], [0.85, 0.85]], np.float32)
THETA = 0.2


def bumps(z: tf.Tensor) -> tf.Tensor:
    """Two classes, each an RBF bump of width ~0.1 in the unit square: far from both, every score is ~0 (reject)."""
    d2 = tf.reduce_sum((z[:, None, :] - tf.constant(CENTRES)[None]) ** 2, -1)
    return tf.exp(-d2 / 0.02)


BUMPS = Scorer(lambda z: with_reject(bumps(z), THETA), name="bumps")  # theta as the reject score


def test_class_starts_pick_the_most_confident_other_class_point():
    reference = np.array([[0.15, 0.15], [0.8, 0.8], [0.85, 0.85], [0.5, 0.5]], np.float32)
    starts = double_init.class_starts(BUMPS, reference)
    np.testing.assert_array_equal(starts[0], reference[2])  # for true class 0: the best class-1 point
    np.testing.assert_array_equal(starts[1], reference[0])
    with pytest.raises(ValueError, match="empty"):
        double_init.class_starts(BUMPS, reference[:0])


def test_restart_escapes_where_the_first_run_ends_rejected():
    x = np.array([[0.1, 0.12], [0.2, 0.1], [0.12, 0.2]], np.float32)
    y = np.zeros(3, np.int64)
    attack = RejectPGD(BUMPS, eta=0.01, max_iter=50, batch_size=2, restart=CENTRES)
    eps = 1.2
    first, _ = attack.attack(x, y, eps)
    scores = scores_of(BUMPS, first)
    first_evaded = evaded(scores, y)
    assert not first_evaded.any() and (scores[:, :-1].max(1) <= THETA).all()  # stuck in the reject region
    out = double_init.restart(attack, x, y, eps, first_evaded)
    assert out["evaded"].all() and out["restart_evaded"].all()
    delta = np.sqrt(((out["adv"] - x[out["index"]]) ** 2).sum(1))
    assert (delta <= eps + 1e-5).all() and out["adv"].min() >= 0 and out["adv"].max() <= 1
    # samples the first run already evaded are left alone; eps 0 restarts nothing
    again = double_init.restart(attack, x, y, eps, np.array([True, False, False]))
    assert list(again["index"]) == [1, 2] and not again["restart_evaded"][0] and again["evaded"].all()
    none = double_init.restart(attack, x, y, 0.0, first_evaded)
    assert not none["evaded"].any()
    with pytest.raises(ValueError, match="per class"):
        double_init.restart(attack, x, y, eps, first_evaded, starts=np.zeros((2, 3), np.float32))
    # the attack's own restart option: calling it returns the restart's adversarials where only they evade
    merged = attack(x, y, eps)
    assert evaded(scores_of(BUMPS, merged), y).all()
    assert (np.sqrt(((merged - x) ** 2).sum(1)) <= eps + 1e-5).all()
    with pytest.raises(ValueError, match="no restart"):
        _ = RejectPGD(BUMPS).starts


def test_start_is_projected_and_defaults_to_x():
    x = np.array([[0.1, 0.12], [0.2, 0.1]], np.float32)
    y = np.zeros(2, np.int64)
    attack = RejectPGD(BUMPS, eta=0.01, max_iter=1, doublings=0)
    far = np.array([[0.9, 0.9], [1.0, 0.0]], np.float32)
    adv, history = attack.attack(x, y, 0.3, start=far)
    assert (np.sqrt(((adv - x) ** 2).sum(1)) <= 0.3 + 1e-5).all()
    np.testing.assert_array_equal(attack(x, y, 0.3), attack.attack(x, y, 0.3, start=x)[0])
    with pytest.raises(ValueError, match="start has shape"):
        attack.attack(x, y, 0.3, start=far[:1])
