"""The Table II network: layer list, parameter count, optimizer settings."""
import keras
import pytest

from keras_models.background import build_background_net, compile_background_net


@pytest.mark.parametrize("classes,params", [(11, 1_200_951), (10, 1_200_818)])
def test_table2_layers_and_params(classes, params):
    model = build_background_net(classes)
    assert [layer.name for layer in model.layers] == [
        "conv1", "bn1", "relu1", "conv2", "bn2", "relu2", "pool", "flatten",
        "fc1", "bn3", "relu3", "logits_dense", "logits"]
    assert model.get_layer("conv1").filters == 32 and model.get_layer("conv1").kernel_size == (3, 3)
    assert model.get_layer("conv2").filters == 64 and model.get_layer("pool").pool_size == (2, 2)
    assert model.get_layer("fc1").units == 128 and model.output_shape == (None, classes)
    assert isinstance(model.layers[-1], keras.layers.BatchNormalization)  # logits come out of batch norm
    assert model.count_params() == params


def test_adadelta_with_keras2_defaults():
    model = compile_background_net(build_background_net(10))
    opt = model.optimizer
    assert isinstance(opt, keras.optimizers.Adadelta)
    assert float(opt.learning_rate) == pytest.approx(1.0) and opt.rho == pytest.approx(0.95)
    assert model.loss.get_config()["from_logits"] is True
