"""FGS/FG wrapper over CleverHans: norm bound, box, batch = per-sample, bad input."""
import numpy as np
import pytest
from conftest import logits

from replication.attacks import fast_gradient


@pytest.mark.parametrize("norm,eps", [(np.inf, 0.25), (2, 6.79), (2, 1.0)])
def test_norm_bound_and_box(small_model, correct_samples, norm, eps):
    x, y = correct_samples[0][:64], correct_samples[1][:64]
    adv = fast_gradient(logits(small_model), x, y, eps, norm, -0.5, 0.5)
    delta = (adv - x).reshape(len(x), -1)
    size = np.abs(delta).max(1) if norm == np.inf else np.linalg.norm(delta, axis=1)
    assert (size <= eps + 1e-4).all()
    assert adv.min() >= -0.5 and adv.max() <= 0.5
    pred = small_model.predict(adv, verbose=0).argmax(1)
    assert (pred != y).mean() > 0.3  # it is an attack


def test_batch_equals_per_sample(small_model, correct_samples):
    x, y = correct_samples[0][:8], correct_samples[1][:8]
    batch = fast_gradient(logits(small_model), x, y, 0.25, np.inf, -0.5, 0.5, batch_size=8)
    single = np.concatenate([fast_gradient(logits(small_model), x[i:i + 1], y[i:i + 1], 0.25, np.inf, -0.5, 0.5)
                             for i in range(8)])
    assert np.abs(batch - single).max() < 1e-5


def test_bad_input(small_model, correct_samples):
    x, y = correct_samples
    with pytest.raises(ValueError, match="norm"):
        fast_gradient(logits(small_model), x[:2], y[:2], 0.1, 3, -0.5, 0.5)
    with pytest.raises(ValueError, match="eps"):
        fast_gradient(logits(small_model), x[:2], y[:2], -0.1, np.inf, -0.5, 0.5)
    with pytest.raises(ValueError, match="labels"):
        fast_gradient(logits(small_model), x[:2], y[:3], 0.1, np.inf, -0.5, 0.5)
