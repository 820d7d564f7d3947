"""The TF RBF SVM equals scikit-learn, its gradients match finite differences, the pipeline matches end to end."""
import numpy as np
import pytest
import tensorflow as tf
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import SVC

from replication.defenses import DNR, NR, TFRBFSVM, decide, layer_outputs, rbf_ovr


@pytest.fixture(scope="module")
def real_features(small_model, mnist_slice):
    """Real features: the small MNIST model's flattened conv features and logits (and labels)."""
    x, y = mnist_slice
    names = [layer.name for layer in small_model.layers][-2:]
    flat, logits = layer_outputs(small_model, names).predict(x[:1200] + 0.5, verbose=0)
    return [np.asarray(flat, np.float64), np.asarray(logits, np.float64)], y[:1200], names, x[:1200] + 0.5


def test_equals_sklearn_decision_function(real_features):
    (flat, logits), y, _, _ = real_features
    for feats, gamma in ((flat, 1e-3), (logits, 1e-2)):
        svm = rbf_ovr(10.0, gamma).fit(feats[:800], y[:800])
        ref = svm.decision_function(feats[800:])
        got = TFRBFSVM(svm)(tf.constant(feats[800:])).numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-8)


def test_svms_stored_as_their_support_rebuild_without_refitting(real_features):
    """`ovr_support` -> `ovr_from_support`: the same decision function exactly (vectors read from the training
    matrix, or stored), the same TF twin; recomputed features that drift by float noise move the scores by less
    than a ledger digest allows; a training matrix of another shape is refused."""
    from replication.defenses.svm import ovr_from_support, ovr_support
    from replication.runs.results import DIGEST_TOLERANCE
    (_, logits), y, _, _ = real_features
    train, probes = logits[:500], logits[600:700]
    svm = rbf_ovr(10.0, 1e-2).fit(train, y[:500])
    arrays = ovr_support(svm, vectors=True)
    assert len(arrays["rows"]) == TFRBFSVM(svm).n_support
    for rebuilt in (ovr_from_support(arrays, train), ovr_from_support(arrays)):
        np.testing.assert_array_equal(rebuilt.decision_function(probes), svm.decision_function(probes))
        np.testing.assert_array_equal(rebuilt.predict(probes), svm.predict(probes))
    np.testing.assert_array_equal(TFRBFSVM(ovr_from_support(arrays, train))(tf.constant(probes)).numpy(),
                                  TFRBFSVM(svm)(tf.constant(probes)).numpy())
    drifted = train * (1 + 1e-7 * np.random.default_rng(0).normal(size=train.shape))
    np.testing.assert_allclose(ovr_from_support(arrays, drifted).decision_function(probes),
                               svm.decision_function(probes), rtol=DIGEST_TOLERANCE, atol=DIGEST_TOLERANCE)
    with pytest.raises(ValueError, match="training matrix"):
        ovr_from_support(arrays, train[:400])
    with pytest.raises(ValueError, match="without their support vectors"):
        ovr_from_support(ovr_support(svm))


def test_support_vectors_are_shared_across_classes(real_features):
    (_, logits), y, _, _ = real_features
    svm = rbf_ovr(1.0, 1e-2).fit(logits[:500], y[:500])
    per_class = sum(len(e.support_) for e in svm.estimators_)
    assert TFRBFSVM(svm).n_support < per_class


def test_gradients_match_finite_differences(real_features):
    (_, logits), y, _, _ = real_features
    svm = TFRBFSVM(rbf_ovr(10.0, 1e-2).fit(logits[:500], y[:500]))
    z = tf.Variable(logits[600:603])
    w = tf.constant(np.random.default_rng(0).normal(size=(3, 10)))
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(svm(z) * w)
    grad = tape.gradient(out, z).numpy()
    h = 1e-6
    numeric = np.zeros_like(grad)
    base = logits[600:603]
    for i in range(3):
        for j in range(10):
            plus, minus = base.copy(), base.copy()
            plus[i, j] += h
            minus[i, j] -= h
            up, down = np.sum(svm(tf.constant(plus)).numpy() * w), np.sum(svm(tf.constant(minus)).numpy() * w)
            numeric[i, j] = (up - down) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


def test_end_to_end_predictions_equal_the_sklearn_pipeline(real_features, small_model):
    """Images -> network -> SVMs (-> combiner) in TF equal scikit-learn on the same images; same rejects."""
    _, y, names, images = real_features
    nr = NR(small_model, names[-1], 10.0, 1e-2).fit(images[:600], y[:600])
    dnr = DNR(small_model, names, [(10.0, 1e-3), (10.0, 1e-2)], (1.0, 0.1), folds=3, seed=0)
    dnr.fit(images[:600], y[:600])
    for defense in (nr, dnr):
        defense.set_threshold(images[600:900], 0.1)
        scores = defense.scorer(tf.constant(images[900:])).numpy()
        np.testing.assert_allclose(scores[:, :-1], defense.decision_function(images[900:]), rtol=1e-5, atol=1e-5)
        assert np.array_equal(decide(scores), defense.predict(images[900:]))


def test_end_to_end_gradient_flows_to_pixels(real_features, small_model):
    _, y, names, images = real_features
    dnr = DNR(small_model, names, [(10.0, 1e-3), (10.0, 1e-2)], (1.0, 0.1), folds=3, seed=0)
    dnr.fit(images[:300], y[:300])
    x = tf.Variable(images[:2])
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(dnr.scorer(x)[:, :-1])
    grad = tape.gradient(out, x)
    assert grad is not None and float(tf.reduce_max(tf.abs(grad))) > 0


def test_rejects_non_rbf_estimators(real_features):
    (_, logits), y, _, _ = real_features
    linear = OneVsRestClassifier(SVC(kernel="linear")).fit(logits[:200], y[:200])
    with pytest.raises(ValueError, match="rbf"):
        TFRBFSVM(linear)


def test_numpy_baseline_gradient_matches_tf():
    """The bench's NumPy baseline computes the same scores and gradient as the TF module."""
    from replication.bench import numpy_svm_forward_grad
    rng = np.random.default_rng(0)
    vectors, weights, b = rng.normal(size=(50, 8)), rng.normal(size=(50, 10)), rng.normal(size=10)
    z, up = rng.normal(size=(4, 8)), rng.normal(size=(4, 10))
    svm = TFRBFSVM.from_arrays(vectors, weights, b, 0.1)
    zt = tf.constant(z)
    with tf.GradientTape() as tape:
        tape.watch(zt)
        scores = svm(zt)
        total = tf.reduce_sum(scores * up)
    ref_scores, ref_grad = numpy_svm_forward_grad(z, vectors, weights, b, 0.1, up)
    np.testing.assert_allclose(scores.numpy(), ref_scores, rtol=1e-10)
    np.testing.assert_allclose(tape.gradient(total, zt).numpy(), ref_grad, rtol=1e-8, atol=1e-12)


def test_the_kernel_cache_changes_the_time_not_the_svm():
    """rbf_ovr's large libsvm cache (the paper's 10,000 images' whole kernel) gives the SVM a starved cache gives:
    the same support, dual coefficients, intercepts and scores, bit for bit."""
    from replication.defenses.svm import KERNEL_CACHE_MB
    assert KERNEL_CACHE_MB * 2**20 >= 10000**2 * 4  # float32 rows of the paper's SVM training count
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2500, 64))
    y = np.digitize(x[:, 0] + 0.5 * rng.normal(size=2500), [-0.5, 0.5])  # 3 classes
    cached = rbf_ovr(10.0, 0.02).fit(x, y)
    starved = OneVsRestClassifier(SVC(kernel="rbf", C=10.0, gamma=0.02, cache_size=1)).fit(x, y)
    for a, b in zip(cached.estimators_, starved.estimators_):
        assert a.cache_size == KERNEL_CACHE_MB and b.cache_size == 1
        np.testing.assert_array_equal(a.support_, b.support_)
        np.testing.assert_array_equal(a.dual_coef_, b.dual_coef_)
        np.testing.assert_array_equal(a.intercept_, b.intercept_)
    np.testing.assert_array_equal(cached.decision_function(x), starved.decision_function(x))
