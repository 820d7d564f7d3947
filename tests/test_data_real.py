"""Loaders on the real official files in ../shared/data."""
import numpy as np

from replication.data import CIFAR10_NAMES, EMNIST_CHARS, load, scale


def test_mnist_counts_shapes_labels(data_dir):
    for split, n in (("train", 60000), ("test", 10000)):
        ds = load("mnist", split, str(data_dir))
        assert ds.images.shape == (n, 28, 28, 1) and ds.images.dtype == np.uint8
        assert ds.labels.shape == (n,) and set(np.unique(ds.labels)) == set(range(10))
        assert all("official checksum" in f for f in ds.files)


def test_emnist_bymerge_test_partition(data_dir):
    ds = load("emnist/bymerge", "test", str(data_dir))
    assert ds.images.shape == (116323, 28, 28, 1)
    assert ds.class_names == list(EMNIST_CHARS) and len(ds.class_names) == 47
    assert (ds.labels < 10).sum() == 57527 and (ds.labels >= 10).sum() == 58796


def test_emnist_is_upright(data_dir):
    """The mean '1' is a vertical stroke: its column profile varies, its row profile is flat."""
    ds = load("emnist/bymerge", "test", str(data_dir))
    one = ds.images[ds.labels == 1][..., 0].astype(float).mean(0)
    assert one.mean(0).var() > 4 * one.mean(1).var()


def test_emnist_digits_match_mnist_orientation(data_dir):
    """Every EMNIST mean digit correlates better with MNIST's (stored upright) as loaded than transposed."""
    em = load("emnist/bymerge", "test", str(data_dir))
    mn = load("mnist", "test", str(data_dir))
    margins = []
    for d in range(10):
        e = em.images[em.labels == d][..., 0].astype(float).mean(0)
        m = mn.images[mn.labels == d][..., 0].astype(float).mean(0)
        as_loaded = np.corrcoef(e.ravel(), m.ravel())[0, 1]
        transposed = np.corrcoef(e.T.ravel(), m.ravel())[0, 1]
        assert as_loaded > transposed, (d, as_loaded, transposed)
        margins.append(as_loaded - transposed)
    assert np.mean(margins) > 0.1, margins


def test_cifar10_counts_and_names(data_dir):
    train = load("cifar10", "train", str(data_dir))
    test = load("cifar10", "test", str(data_dir))
    assert train.images.shape == (50000, 32, 32, 3) and test.images.shape == (10000, 32, 32, 3)
    assert train.class_names == CIFAR10_NAMES
    assert np.bincount(train.labels).tolist() == [5000] * 10
    assert np.bincount(test.labels).tolist() == [1000] * 10


def test_env_var_selects_data_dir(data_dir, monkeypatch):
    monkeypatch.setenv("REPLICATION_DATA_DIR", str(data_dir))
    assert len(load("mnist", "test")) == 10000


def test_pixel_scaling():
    img = np.array([[0, 255]], np.uint8)
    assert scale(img, (-0.5, 0.5)).tolist() == [[-0.5, 0.5]]
    assert scale(img, (0, 1)).tolist() == [[0.0, 1.0]]


def test_bundled_test_slice_is_the_official_first_3000(data_dir):
    from conftest import BUNDLED_MNIST
    ds = load("mnist", "test", str(data_dir))
    with np.load(BUNDLED_MNIST) as bundle:
        assert np.array_equal(bundle["images"], ds.images[:3000]) and np.array_equal(bundle["labels"], ds.labels[:3000])
