"""The fixed Carlini-Wagner L2, and proof that CleverHans 4.0.0's version is broken here."""
import numpy as np
import pytest
import tensorflow as tf
from cleverhans.tf2.attacks.carlini_wagner_l2 import CarliniWagnerL2
from conftest import logits

from replication.attacks import FixedCarliniWagnerL2, carlini_wagner_l2
from replication.attacks.carlini_wagner_l2 import _binary_search

BOX = dict(clip_min=-0.5, clip_max=0.5)


def _attack(model, y=None, targeted=False, **kw):
    params = dict(binary_search_steps=5, max_iterations=1000, learning_rate=1e-2, initial_const=1e-1)
    params.update(kw)
    return FixedCarliniWagnerL2(logits(model), y=y, targeted=targeted, **BOX, **params)


# whole Carlini-Wagner runs (thousands of steps, 25-80 s each on a 2-core CPU): `make test` runs them
whole_run = pytest.mark.slow


def test_upstream_cleverhans_fails_on_keras3(small_model, correct_samples):
    """CleverHans 4.0.0 calls optimizer.variables(); with Keras 3 that is a list: TypeError."""
    x = correct_samples[0][:2]
    with pytest.raises(TypeError):
        CarliniWagnerL2(logits(small_model), **BOX, max_iterations=5, binary_search_steps=1).attack(x)


def test_upstream_loss_couples_the_batch(small_model, correct_samples):
    """CleverHans' own loss_fn with its image-shaped const (#1205): the batch's loss is not the sum of the examples'
    losses (each example's margin term is scaled by the batch size), so an example's attack depends on its mates.
    Our attack's per-example independence is shown by `test_result_does_not_depend_on_batch_mates`."""
    from cleverhans.tf2.attacks.carlini_wagner_l2 import loss_fn
    x, y = correct_samples[0][:3], correct_samples[1][:3]
    x_new = tf.constant(np.clip(x + 0.05, -0.5, 0.5))
    targets = tf.one_hot((y + 1) % 10, 10)

    def upstream_loss(i):
        part = slice(i, i + 1) if i is not None else slice(None)
        const = tf.ones(x[part].shape) * 1e-3  # as CleverHans 4.0.0 builds it
        return float(loss_fn(x=tf.constant(x[part]), x_new=x_new[part], y_true=targets[part],
                             y_pred=small_model(x_new[part], training=False), confidence=0.0, const=const,
                             targeted=True, clip_min=-0.5, clip_max=0.5)[0])

    assert upstream_loss(None) != pytest.approx(sum(upstream_loss(i) for i in range(3)), rel=1e-3)


@whole_run
def test_targeted_reaches_every_target_with_small_l2(small_model, correct_samples):
    x, y = correct_samples[0][:4], correct_samples[1][:4]
    x9 = np.repeat(x, 9, axis=0)
    targets = np.array([t for label in y for t in range(10) if t != label])
    adv, found, l2 = _attack(small_model, targets, True, binary_search_steps=9, max_iterations=1000,
                             initial_const=1e-3, batch_size=36).attack_with_info(x9)
    pred = small_model.predict(adv, verbose=0).argmax(1)
    assert found.all() and (pred == targets).all()
    assert l2.mean() < 3.0  # FG needs eps 6.79 for far less success


@whole_run
def test_untargeted_differs_from_targeted(small_model, correct_samples):
    x, y = correct_samples[0][:6], correct_samples[1][:6]
    adv_u, found_u, _ = _attack(small_model, y, False).attack_with_info(x)
    pred_u = small_model.predict(adv_u, verbose=0).argmax(1)
    assert found_u.all() and (pred_u != y).all()
    targets = (y + 5) % 10
    adv_t, found_t, _ = _attack(small_model, targets, True).attack_with_info(x)
    pred_t = small_model.predict(adv_t, verbose=0).argmax(1)
    assert found_t.all() and (pred_t == targets).all()
    assert (pred_u != targets).any()  # untargeted does not go to the targets on its own
    # untargeted without labels attacks the model's own predictions
    adv_n, found_n, _ = _attack(small_model).attack_with_info(x)
    assert found_n.all() and (small_model.predict(adv_n, verbose=0).argmax(1) != y).all()


@whole_run
def test_result_does_not_depend_on_batch_mates(small_model, correct_samples):
    """Same batch size, other mates: bit-for-bit the same adversarials (CleverHans' const couples them)."""
    x, y = correct_samples[0][:9], correct_samples[1][:9]
    targets = (y + 3) % 10
    first = _attack(small_model, targets[:5], True, batch_size=5).attack(x[:5])
    mates = np.concatenate([x[:1], x[5:9]])
    second = _attack(small_model, np.concatenate([targets[:1], targets[5:9]]), True, batch_size=5).attack(mates)
    assert np.abs(first[0] - second[0]).max() < 1e-6


@whole_run
def test_batch_equals_one_by_one(small_model, correct_samples):
    """A batch gives each example the outcome it gets alone.

    Pixels are not compared exactly: over hundreds of Adam steps, the 1e-7 float differences between
    batched and single convolutions are amplified (Adam's step is sign-like for tiny gradients).
    """
    x, y = correct_samples[0][:5], correct_samples[1][:5]
    targets = (y + 3) % 10
    batch, found_batch, l2_batch = _attack(small_model, targets, True, batch_size=5).attack_with_info(x)
    for i in range(5):
        _, found_one, l2_one = _attack(small_model, targets[i:i + 1], True, batch_size=1).attack_with_info(x[i:i + 1])
        assert found_one[0] == found_batch[i]
        assert l2_one[0] == pytest.approx(l2_batch[i], rel=0.1, abs=1e-3)


@whole_run
def test_y_is_sliced_per_batch(small_model, correct_samples):
    x, y = correct_samples[0][:6], correct_samples[1][:6]
    targets = (y + 1) % 10
    adv = _attack(small_model, targets, True, batch_size=2).attack(x)
    assert (small_model.predict(adv, verbose=0).argmax(1) == targets).all()


@whole_run
def test_learning_rate_stays_as_set_and_the_attack_moves(small_model, correct_samples):
    x, y = correct_samples[0][:3], correct_samples[1][:3]
    attack = _attack(small_model, (y + 1) % 10, True, learning_rate=5e-3)
    adv = attack.attack(x)
    assert attack.learning_rate == 5e-3
    assert np.abs(adv - x).max() > 1e-3


def test_outputs_inside_box(small_model, correct_samples):
    x, y = correct_samples[0][:6], correct_samples[1][:6]
    adv = carlini_wagner_l2(logits(small_model), x, y=(y + 2) % 10, targeted=True, **BOX,
                            binary_search_steps=3, max_iterations=50)
    assert adv.min() >= -0.5 and adv.max() <= 0.5


def test_binary_search_rule():
    found = np.array([True, False, True, False])
    lower, upper, const = _binary_search(found, np.zeros(4), np.array([1e10, 1e10, 4.0, 4.0]),
                                         np.array([1.0, 1.0, 2.0, 2.0]))
    assert upper.tolist() == [1.0, 1e10, 2.0, 4.0]
    assert lower.tolist() == [0.0, 1.0, 0.0, 2.0]
    assert const.tolist() == [0.5, 10.0, 1.0, 3.0]


def test_bad_input(small_model, correct_samples):
    x, y = correct_samples[0][:2], correct_samples[1][:2]
    with pytest.raises(ValueError, match="targeted attack needs"):
        FixedCarliniWagnerL2(logits(small_model), targeted=True, **BOX)
    with pytest.raises(ValueError, match="outside the input range"):
        _attack(small_model, y, False).attack(x + 1.0)
    with pytest.raises(ValueError, match="labels"):
        _attack(small_model, np.array([1, 2, 3]), True).attack(x)
