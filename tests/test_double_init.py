"""secml's double initialisation: start choice, projection of the start, and escape from a reject-region minimum."""
import numpy as np
import pytest
import tensorflow as tf

from replication.attacks import RejectPGD, double_init

CENTRES = np.array([[0.15, 0.15], [0.85, 0.85]], np.float32)
THETA = 0.2


def bumps(z: tf.Tensor) -> tf.Tensor:
    """Two classes, each an RBF bump of width ~0.1 in the unit square: far from both, every score is ~0 (reject)."""
    d2 = tf.reduce_sum((z[:, None, :] - tf.constant(CENTRES)[None]) ** 2, -1)
    return tf.exp(-d2 / 0.02)


def test_class_starts_pick_the_most_confident_other_class_point():
    reference = np.array([[0.15, 0.15], [0.8, 0.8], [0.85, 0.85], [0.5, 0.5]], np.float32)
    starts = double_init.class_starts(bumps, reference, 2)
    np.testing.assert_array_equal(starts[0], reference[2])  # for true class 0: the best class-1 point
    np.testing.assert_array_equal(starts[1], reference[0])
    with pytest.raises(ValueError, match="empty"):
        double_init.class_starts(bumps, reference[:0], 2)


def test_restart_escapes_where_the_first_run_ends_rejected():
    x = np.array([[0.1, 0.12], [0.2, 0.1], [0.12, 0.2]], np.float32)
    y = np.zeros(3, np.int64)
    attack = RejectPGD(bumps, eta=0.01, max_iter=50, batch_size=2)
    eps = 1.2
    first = attack(x, y, eps)
    scores = bumps(tf.constant(first)).numpy()
    first_evaded = double_init.evaded(scores, THETA, y)
    assert not first_evaded.any() and (scores.max(1) <= THETA).all()  # stuck in the reject region
    starts = double_init.class_starts(bumps, CENTRES, 2)
    is_evaded = double_init.evaded_by_scores(bumps, THETA)
    out = double_init.restart(attack, x, y, eps, starts, is_evaded, first_evaded)
    assert out["evaded"].all() and out["restart_evaded"].all()
    delta = np.sqrt(((out["adv"] - x[out["index"]]) ** 2).sum(1))
    assert (delta <= eps + 1e-5).all() and out["adv"].min() >= 0 and out["adv"].max() <= 1
    # samples the first run already evaded are left alone; eps 0 restarts nothing
    again = double_init.restart(attack, x, y, eps, starts, is_evaded, np.array([True, False, False]))
    assert list(again["index"]) == [1, 2] and not again["restart_evaded"][0] and again["evaded"].all()
    none = double_init.restart(attack, x, y, 0.0, starts, is_evaded, first_evaded)
    assert not none["evaded"].any()
    with pytest.raises(ValueError, match="per class"):
        double_init.restart(attack, x, y, eps, np.zeros((2, 3), np.float32), is_evaded, first_evaded)


def test_start_is_projected_and_defaults_to_x():
    x = np.array([[0.1, 0.12], [0.2, 0.1]], np.float32)
    y = np.zeros(2, np.int64)
    attack = RejectPGD(bumps, eta=0.01, max_iter=1, doublings=0)
    far = np.array([[0.9, 0.9], [1.0, 0.0]], np.float32)
    adv, history = attack.attack(x, y, 0.3, start=far)
    assert (np.sqrt(((adv - x) ** 2).sum(1)) <= 0.3 + 1e-5).all()
    np.testing.assert_array_equal(attack(x, y, 0.3), attack.attack(x, y, 0.3, start=x)[0])
    with pytest.raises(ValueError, match="start has shape"):
        attack.attack(x, y, 0.3, start=far[:1])
