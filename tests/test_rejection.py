"""NR / DNR / BackgroundClass: scikit-learn-like API on images, threshold, stacking, save/load, bad input."""
import keras
import numpy as np
import pytest

from replication.defenses import DNR, NR, REJECT, BackgroundClass, Undefended, select_params, stacked_scores


@pytest.fixture(scope="module")
def images(mnist_slice):
    x, y = mnist_slice
    return x + 0.5, y  # [0, 1]


@pytest.fixture(scope="module")
def names(small_model):
    return [layer.name for layer in small_model.layers][-2:]  # flatten, logits


@pytest.fixture(scope="module")
def fitted(small_model, images, names):
    x, y = images
    nr = NR(small_model, names[-1], C=10.0, gamma=1e-2, input_range=(-0.5, 0.5)).fit(x[:600] - 0.5, y[:600])
    dnr = DNR(small_model, names, [(10.0, 1e-3), (10.0, 1e-2)], (1.0, 0.1), input_range=(-0.5, 0.5))
    dnr.fit(x[:600] - 0.5, y[:600])
    for d in (nr, dnr):
        d.set_threshold(x[600:900] - 0.5, 0.1)
    return nr, dnr


def test_nr_and_dnr_classify_and_reject(fitted, images):
    x, y = images
    for model in fitted:
        val = model.predict(x[600:900] - 0.5)
        assert np.mean(val == REJECT) == pytest.approx(0.1, abs=0.01)
        pred = model.predict(x[900:1300] - 0.5)
        kept = pred != REJECT
        assert (pred[kept] == y[900:1300][kept]).mean() > 0.9
        assert model.decision_function(x[:5] - 0.5).shape == (5, 10) and np.isfinite(model.theta)


def test_predict_equals_the_scorer_rule(fitted, images):
    """scikit-learn's path (predict) and the TF scorer's reject column give the same labels."""
    x, _ = images
    for model in fitted:
        scores = model.scores(x[900:1100] - 0.5)
        assert scores.shape == (200, 11) and np.all(scores[:, -1] == np.float32(model.theta))
        from replication.defenses import decide
        assert np.array_equal(decide(scores), model.predict(x[900:1100] - 0.5))


def test_dnr_combiner_is_trained_out_of_fold(fitted, images):
    x, y = images
    dnr = fitted[1]
    feats = dnr.features(x[:600] - 0.5)
    oof = stacked_scores(feats, y[:600], dnr.layer_params, 3, 0)
    in_sample = np.hstack([s.decision_function(f) for s, f in zip(dnr.layer_svms, feats)])
    assert oof.shape == in_sample.shape == (600, 20)
    assert np.abs(oof - in_sample).max() > 0.1  # held-out scores are not the refit SVMs' scores


def test_save_load_roundtrip(fitted, images, small_model, tmp_path):
    x, _ = images
    for model in fitted:
        path = model.save(tmp_path / type(model).__name__)
        again = type(model).load(path)
        assert again.theta == model.theta and np.array_equal(again.predict(x[:50] - 0.5), model.predict(x[:50] - 0.5))
        bare = model.save(tmp_path / f"{type(model).__name__}_bare", include_model=False)
        with pytest.raises(FileNotFoundError, match="model="):
            type(model).load(bare)
        assert np.array_equal(type(model).load(bare, small_model).predict(x[:50] - 0.5), model.predict(x[:50] - 0.5))
    with pytest.raises(ValueError, match="holds a NR"):
        DNR.load(tmp_path / "NR")


def test_bad_input(small_model, images, names, fitted):
    x, y = images
    with pytest.raises(ValueError, match="2 layers but 1"):
        DNR(small_model, names, [(1.0, 0.1)], (1.0, 0.1))
    with pytest.raises(ValueError, match="no layer \\['fc9'\\]"):
        NR(small_model, "fc9")
    with pytest.raises(RuntimeError, match="not fitted"):
        NR(small_model, names[-1], input_range=(-0.5, 0.5)).predict(x[:3] - 0.5)
    with pytest.raises(ValueError, match="outside the input range"):
        fitted[0].predict(x[:3] + 1.0)
    with pytest.raises(ValueError, match="reject_rate"):
        fitted[0].set_threshold(x[:10] - 0.5, 1.5)


def test_cv_selects_from_the_grid():
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=4, size=(10, 6))
    y = np.repeat(np.arange(10), 40)
    feats = centers[y] + rng.normal(size=(400, 6))
    C, gamma = select_params(feats, y, Cs=(10.0,), gammas=(100.0, 0.1), folds=3, seed=0)
    assert (C, gamma) == (10.0, 0.1)  # gamma 100 makes the kernel an identity: it cannot generalise


def _fixed_net(background_at: int) -> keras.Model:
    """x (2 pixels in [0, 1]) -> 3 logits: class 0 = 4 x0, class 1 = 4 x1, background (at `background_at`) = 1."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    kernel, bias = np.zeros((2, 3), np.float32), np.zeros(3, np.float32)
    classes = [i for i in range(3) if i != background_at]
    kernel[0, classes[0]], kernel[1, classes[1]], bias[background_at] = 4.0, 4.0, 1.0
    model.layers[-1].set_weights([kernel, bias])
    return model


@pytest.mark.parametrize("background_at", [2, 0])
def test_background_class_rejects_where_background_wins(background_at):
    defense = BackgroundClass(_fixed_net(background_at), background_at)
    x = np.array([[0.9, 0.0], [0.0, 0.9], [0.1, 0.1]], np.float32)
    assert defense.predict(x).tolist() == [0, 1, REJECT]
    assert defense.scores(x).shape == (3, 3)
    theta = defense.set_threshold(np.random.default_rng(0).uniform(size=(200, 2)).astype(np.float32), 0.5)
    assert np.isfinite(theta) and np.mean(defense.predict(
        np.random.default_rng(0).uniform(size=(200, 2)).astype(np.float32)) == REJECT) == pytest.approx(0.5, abs=0.01)


def test_background_class_maps_input_range():
    """Images in [0, 1] reach a network trained on [-0.5, 0.5] shifted, and the box stays [0, 1]."""
    net = _fixed_net(2)
    shifted = BackgroundClass(net, 2, input_range=(0.0, 1.0), model_range=(-0.5, 0.5))
    plain = BackgroundClass(net, 2, input_range=(-0.5, 0.5))
    x = np.array([[0.9, 0.2], [0.5, 0.5]], np.float32)
    np.testing.assert_allclose(shifted.scores(x), plain.scores(x - 0.5), rtol=1e-6)
    with pytest.raises(ValueError, match="outside the model's 3 outputs"):
        BackgroundClass(net, 3)


def test_undefended_never_rejects(small_model, images):
    x, y = images
    model = Undefended(small_model, input_range=(-0.5, 0.5))
    pred = model.predict(x[2500:] - 0.5)
    assert (pred != REJECT).all() and np.array_equal(pred, small_model.predict(x[2500:] - 0.5, verbose=0).argmax(1))
