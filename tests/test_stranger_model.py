"""The library on a model it was not designed for: a functional Keras model with auto-named layers, a Rescaling(1/255)
first layer (it takes pixels in [0, 255]) and a softmax output, defended and attacked through the public API."""
from __future__ import annotations

import copy
import re

import numpy as np
import pytest

from replication.attacks import FixedCarliniWagnerL2, RejectPGD, fast_gradient
from replication.defenses import DNR, NR, BackgroundClass, Undefended, as_scorer
from replication.defenses.base import pre_softmax
from replication.evaluation import security_evaluation

PIXELS = (0.0, 255.0)


@pytest.fixture(scope="module")
def stranger(mnist_slice):
    """(model, 0-255 images, labels): trained 2 epochs on 2,000 bundled digits."""
    import keras
    x, y = mnist_slice
    images = np.round((x + 0.5) * 255.0).astype(np.float32)
    keras.utils.set_random_seed(1)
    inp = keras.Input((28, 28, 1))
    h = keras.layers.Rescaling(1 / 255)(inp)
    h = keras.layers.Conv2D(8, 3, activation="relu")(h)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(32, activation="relu")(h)
    out = keras.layers.Dense(10, activation="softmax")(h)
    model = keras.Model(inp, out)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(images[:2000], y[:2000], epochs=2, batch_size=64, verbose=0)
    return model, images, y


@pytest.fixture(scope="module")
def hidden(stranger):
    """The auto-generated name of the stranger's hidden dense layer."""
    model = stranger[0]
    return [layer.name for layer in model.layers if layer.name.startswith("dense")][0]


@pytest.fixture(scope="module")
def dnr_255(stranger, hidden):
    model, images, y = stranger
    dnr = DNR(model, [hidden], [(1.0, 0.001)], (1.0, 0.1), folds=2, input_range=PIXELS, model_range=PIXELS)
    dnr.fit(images[2000:2400], y[2000:2400])
    dnr.set_threshold(images[2400:2600], 0.1)
    return dnr


def in_unit_box(defense):
    """The same fitted defense taking images in [0, 1]: its network still reads 0-255 pixels."""
    view = copy.copy(defense)
    view.input_range, view.model_range, view._scorer = (0.0, 1.0), PIXELS, None
    return view


def test_every_defense_takes_input_and_model_range(stranger, hidden):
    model, images, y = stranger
    for defense in (Undefended(model, (0, 1), PIXELS), BackgroundClass(model, 9, (0, 1), PIXELS),
                    NR(model, hidden, input_range=(0, 1), model_range=PIXELS),
                    DNR(model, [hidden], [(1.0, 0.1)], (1.0, 0.1), input_range=(0, 1), model_range=PIXELS)):
        assert defense.input_range == (0, 1) and defense.model_range == PIXELS
    nr = NR(model, hidden, 1.0, 0.001, input_range=PIXELS).fit(images[2000:2300], y[2000:2300])
    view = in_unit_box(nr)
    np.testing.assert_array_equal(nr.predict(images[2600:2700]), view.predict(images[2600:2700] / 255.0))


def test_softmax_models_are_attacked_through_their_logits(stranger):
    """The scorer reads the pre-softmax logits, and Carlini-Wagner finds the same adversarials as on a logits
    twin of the network."""
    import keras
    model, images, y = stranger
    logits = pre_softmax(model)
    assert logits is not model and pre_softmax(logits) is logits
    x = images[2600:2610]
    z = logits(x).numpy()
    np.testing.assert_allclose(keras.ops.softmax(z).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(as_scorer(model).logits(x).numpy(), z, rtol=1e-5, atol=1e-4)
    cw = dict(batch_size=10, max_iterations=60, binary_search_steps=3, initial_const=1.0, learning_rate=0.05,
              clip_min=0.0, clip_max=255.0)
    via_model = FixedCarliniWagnerL2(model, **cw).attack_with_info(x)
    via_logits = FixedCarliniWagnerL2(logits, **cw).attack_with_info(x)
    assert via_model[1].sum() >= 5
    np.testing.assert_array_equal(via_model[1], via_logits[1])
    np.testing.assert_allclose(via_model[2], via_logits[2], rtol=1e-4)


def test_attacks_on_0_255_pixels_give_the_outcomes_of_0_1_images(stranger, dnr_255):
    """RejectPGD at 255 * eps on 0-255 images takes the path it takes at eps on [0, 1] images (steps relative to
    the box): the same outcomes, distances and checks; the default step moves as far as on [0, 1] images."""
    model, images, y = stranger
    x, labels = images[2600:2630], y[2600:2630]
    unit = in_unit_box(dnr_255)
    big = security_evaluation(dnr_255, x, labels, [0.0, 255.0, 765.0], {"pgd": RejectPGD(dnr_255, max_iter=20)})
    small = security_evaluation(unit, x / 255.0, labels, [0.0, 1.0, 3.0], {"pgd": RejectPGD(unit, max_iter=20)})
    for a, b in zip(big.points["pgd"], small.points["pgd"]):
        np.testing.assert_array_equal(a.outcome, b.outcome)
        np.testing.assert_allclose(a.distance / 255.0, b.distance, rtol=1e-3, atol=1e-4)
        for flags in ("still_improving", "flat_gradient"):
            np.testing.assert_array_equal(getattr(a, flags), getattr(b, flags))
    assert big.accuracy("pgd")[2].estimate < 50.0
    adv_big = fast_gradient(dnr_255, x, labels, 255.0 * 0.1, np.inf)
    adv_small = fast_gradient(unit, x / 255.0, labels, 0.1, np.inf)
    np.testing.assert_allclose(adv_big / 255.0, adv_small, atol=1e-5)


def test_carlini_wagner_constant_means_the_same_on_any_box(stranger):
    model, images, y = stranger
    x = images[2600:2606]
    cw = dict(batch_size=6, max_iterations=60, binary_search_steps=3, initial_const=1.0, learning_rate=0.05)
    big = FixedCarliniWagnerL2(Undefended(model, PIXELS), **cw).attack_with_info(x)
    small = FixedCarliniWagnerL2(Undefended(model, (0, 1), PIXELS), **cw).attack_with_info(x / 255.0)
    assert small[1].sum() >= 3
    np.testing.assert_array_equal(big[1], small[1])
    np.testing.assert_allclose(big[2] / 255.0, small[2], rtol=1e-3)


def one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message, message
    return message


BAD = {
    "nan": (lambda x, y: (np.where(np.arange(x.size).reshape(x.shape) == 5, np.nan, x), y), "non-finite"),
    "range": (lambda x, y: (x * 2.0, y), "outside the input range"),
    "flat": (lambda x, y: (x.reshape(len(x), -1), y), r"but the model takes \(n, 28, 28, 1\)"),
    "labels": (lambda x, y: (x, y + 10), "outside the model's classes 0..9"),
    "length": (lambda x, y: (x, y[:-1]), "samples but y has"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_refused_in_one_line_everywhere(stranger, dnr_255, case):
    model, images, y = stranger
    bad, expected = BAD[case]
    x, labels = bad(images[2600:2605], y[2600:2605])
    calls = {
        "security_evaluation": lambda: security_evaluation(dnr_255, x, labels, [0.0, 255.0]),
        "RejectPGD": lambda: RejectPGD(dnr_255, max_iter=2).attack(x, labels, 255.0),
        "fast_gradient": lambda: fast_gradient(dnr_255, x, labels, 10.0, 2),
        "Carlini-Wagner": lambda: FixedCarliniWagnerL2(Undefended(model, PIXELS), y=labels, targeted=True,
                                                       max_iterations=2, binary_search_steps=1).attack(x),
    }
    if case in ("nan", "range", "flat"):
        calls.update({"predict": lambda: dnr_255.predict(x), "scores": lambda: dnr_255.scores(x),
                      "set_threshold": lambda: copy.copy(dnr_255).set_threshold(x, 0.1),
                      "fit": lambda: NR(model, dnr_255.layers[0], input_range=PIXELS).fit(x, y[2600:2605])})
    if case in ("labels", "length"):
        calls["fit"] = lambda: NR(model, dnr_255.layers[0], input_range=PIXELS).fit(x, labels)
    for name, call in calls.items():
        if case == "labels" and name == "fit":
            continue  # fit learns the classes from y: any labels are classes to it
        with pytest.raises(ValueError) as err:
            call()
        assert re.search(expected, one_line(err)), f"{name}: {err.value}"
