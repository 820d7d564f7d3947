"""Table 1/2 networks of the DNR paper: layers, parameter counts, feature extraction."""
import keras
import numpy as np
import pytest

from keras_models.dnr import FEATURE_LAYERS, build_cifar_net, build_mnist_net, compile_dnr_net
from replication.defenses import layer_outputs


def test_mnist_net():
    m = build_mnist_net()
    assert [l.name for l in m.layers] == ["conv1", "conv2", "pool1", "conv3", "conv4", "pool2", "flatten", "fc1",
                                          "fc1_relu", "dropout", "fc2", "fc2_relu", "logits"]
    assert [m.get_layer(n).filters for n in ("conv1", "conv2", "conv3", "conv4")] == [32, 32, 64, 64]
    assert m.get_layer("dropout").rate == 0.5 and m.count_params() == 312_202


def test_cifar_net():
    m = build_cifar_net()
    convs = [l for l in m.layers if isinstance(l, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [64, 64, 128, 128, 256, 256, 512]
    bns = [l for l in m.layers if isinstance(l, keras.layers.BatchNormalization)]
    assert len(bns) == 7 and bns[-1].name == "bn4"
    assert all(b.momentum == pytest.approx(0.1) for b in bns)  # PyTorch momentum 0.9, as in the authors' secml net
    assert [m.get_layer(f"drop{i}").rate for i in range(1, 5)] == [0.1, 0.2, 0.3, 0.4]
    pools = [l.name for l in m.layers if isinstance(l, keras.layers.MaxPooling2D)]
    assert pools[-2] == "pool3" and m.get_layer("fc").units == 512 and m.count_params() == 3_385_418


@pytest.mark.parametrize("name,build,dims", [("mnist", build_mnist_net, [200, 200, 10]),
                                             ("cifar10", build_cifar_net, [4096, 8192, 10])])
def test_feature_extractor_one_pass(name, build, dims):
    model = build()
    ext = layer_outputs(model, FEATURE_LAYERS[name])
    x = np.random.default_rng(0).random((3, *model.input_shape[1:]), dtype=np.float32)
    feats = ext(x, training=False)
    assert [f.shape[1] for f in feats] == dims
    np.testing.assert_allclose(feats[-1], model(x, training=False), rtol=1e-5, atol=1e-5)


def test_sgd_settings():
    m = compile_dnr_net(build_mnist_net(), 0.1)
    assert isinstance(m.optimizer, keras.optimizers.SGD)
    assert float(m.optimizer.learning_rate) == pytest.approx(0.1) and m.optimizer.momentum == 0.9
