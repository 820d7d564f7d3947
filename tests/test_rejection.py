"""NR / DNR: scikit-learn-like API, threshold, stacking, save/load, bad input."""
import numpy as np
import pytest

from replication.dnr.rejection import DNR, NR, REJECT, select_params


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=4, size=(10, 6))
    y = np.repeat(np.arange(10), 40)
    x = centers[y] + rng.normal(size=(400, 6))
    return [x[:, :3], x[:, 3:], x], y


def test_nr_and_dnr_classify_and_reject(blobs):
    feats, y = blobs
    for model in (NR(1.0, 0.1), DNR([(1.0, 0.1)] * 3, (1.0, 0.1), folds=3, seed=0)):
        model.fit(feats, y)
        theta = model.set_threshold(feats, 0.1)
        pred = model.predict(feats)
        assert np.mean(pred == REJECT) == pytest.approx(0.1, abs=0.01)
        assert (pred[pred != REJECT] == y[pred != REJECT]).mean() > 0.9
        far = [f + 100 for f in feats]
        assert (model.predict(far) == REJECT).all()
        assert model.decision_function(feats).shape == (400, 10) and np.isfinite(theta)


def test_dnr_combiner_is_trained_out_of_fold(blobs):
    feats, y = blobs
    dnr = DNR([(10.0, 1.0)] * 3, (1.0, 0.1), folds=3, seed=0).fit(feats, y)
    oof = dnr.out_of_fold_scores(feats, y)
    in_sample = dnr.layer_scores(feats)
    assert oof.shape == in_sample.shape == (400, 30)
    assert np.abs(oof - in_sample).max() > 0.1  # held-out scores are not the refit SVMs' scores


def test_save_load_roundtrip(blobs, tmp_path):
    feats, y = blobs
    dnr = DNR([(1.0, 0.1)] * 3, (1.0, 0.1)).fit(feats, y)
    dnr.set_threshold(feats, 0.1)
    dnr.save(tmp_path / "dnr.joblib")
    again = DNR.load(tmp_path / "dnr.joblib")
    assert again.theta == dnr.theta and np.array_equal(again.predict(feats), dnr.predict(feats))


def test_layer_count_mismatch(blobs):
    feats, y = blobs
    with pytest.raises(ValueError, match="3 feature layers but 2"):
        DNR([(1.0, 0.1)] * 2, (1.0, 0.1)).fit(feats, y)


def test_cv_selects_from_the_grid(blobs):
    feats, y = blobs
    C, gamma = select_params(feats[2], y, Cs=(10.0,), gammas=(100.0, 0.1), folds=3, seed=0)
    assert (C, gamma) == (10.0, 0.1)  # gamma 100 makes the kernel an identity: it cannot generalise
