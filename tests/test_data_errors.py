"""Every bad-input path of the data layer gives one clear DataError naming the file."""
import gzip
import pickle
import shutil
import time
import zipfile

import numpy as np
import pytest

from replication.data import DataError, load, tfds_source


def _idx(path, array, magic_dims=None):
    ndim = array.ndim if magic_dims is None else magic_dims
    header = bytes([0, 0, 8, ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def _mnist_dir(tmp_path, n=10000, image_dims=(28, 28)):
    d = tmp_path / "mnist"
    d.mkdir()
    _idx(d / "t10k-images-idx3-ubyte.gz", np.zeros((n, *image_dims), np.uint8))
    _idx(d / "t10k-labels-idx1-ubyte.gz", np.arange(n) % 10)
    return d


def test_crafted_valid_files_load_with_a_checksum_note(tmp_path):
    _mnist_dir(tmp_path)
    with pytest.warns(UserWarning, match="not byte-identical"):
        ds = load("mnist", "test", str(tmp_path))
    assert ds.images.shape == (10000, 28, 28, 1)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz: missing.*official MNIST"):
        load("mnist", "test", str(tmp_path))


def test_missing_data_dir(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load("mnist", "test", str(tmp_path / "nope"))


def test_truncated_gzip(tmp_path):
    d = _mnist_dir(tmp_path)
    f = d / "t10k-images-idx3-ubyte.gz"
    f.write_bytes(f.read_bytes()[:100])
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz: not a valid gzip"):
        load("mnist", "test", str(tmp_path))


def test_not_gzip_at_all(tmp_path):
    d = _mnist_dir(tmp_path)
    (d / "t10k-labels-idx1-ubyte.gz").write_bytes(b"<html>404</html>")
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: not a valid gzip"):
        load("mnist", "test", str(tmp_path))


def test_bad_magic(tmp_path):
    d = _mnist_dir(tmp_path)
    (d / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x01\x02\x03\x04" + b"\0" * 20))
    with pytest.raises(DataError, match="bad idx magic"):
        load("mnist", "test", str(tmp_path))


def test_wrong_image_shape(tmp_path):
    _mnist_dir(tmp_path, image_dims=(32, 32))
    with pytest.raises(DataError, match=r"shape \(32, 32\), expected \(28, 28\)"):
        load("mnist", "test", str(tmp_path))


def test_wrong_count(tmp_path):
    _mnist_dir(tmp_path, n=100)
    with pytest.raises(DataError, match="100 items, expected the official 10000"):
        load("mnist", "test", str(tmp_path))


def test_truncated_payload(tmp_path):
    d = _mnist_dir(tmp_path)
    f = d / "t10k-images-idx3-ubyte.gz"
    f.write_bytes(gzip.compress(gzip.decompress(f.read_bytes())[:-50]))
    with pytest.raises(DataError, match="truncated"):
        load("mnist", "test", str(tmp_path))


def test_labels_out_of_range(tmp_path):
    d = _mnist_dir(tmp_path)
    _idx(d / "t10k-labels-idx1-ubyte.gz", np.full(10000, 12))
    with pytest.raises(DataError, match="labels span 12..12"):
        load("mnist", "test", str(tmp_path))


def test_corrupt_cifar_batch(tmp_path):
    d = tmp_path / "cifar10" / "cifar-10-batches-py"
    d.mkdir(parents=True)
    (d / "test_batch").write_bytes(b"garbage" * 10)
    with pytest.raises(DataError, match="test_batch: cannot be unpickled"), \
            pytest.warns(UserWarning, match="not byte-identical"):  # the checksum note comes first
        load("cifar10", "test", str(tmp_path))


def test_cifar_batch_of_wrong_shape(tmp_path):
    d = tmp_path / "cifar10" / "cifar-10-batches-py"
    d.mkdir(parents=True)
    batch = {b"data": np.zeros((10, 3072), np.uint8), b"labels": [0] * 10}
    (d / "test_batch").write_bytes(pickle.dumps(batch))
    with pytest.raises(DataError, match=r"test_batch: data of shape \(10, 3072\)"):
        load("cifar10", "test", str(tmp_path))


def test_missing_cifar(tmp_path):
    with pytest.raises(DataError, match="test_batch: missing.*cifar-10-python.tar.gz"):
        load("cifar10", "test", str(tmp_path))


def test_emnist_from_official_gzip_zip_equals_folder(tmp_path, data_dir):
    """The official gzip.zip layout (gzip/<member>) loads the same arrays as the extracted files."""
    with zipfile.ZipFile(tmp_path / "gzip.zip", "w", compression=zipfile.ZIP_STORED) as zf:
        for name in ("emnist-bymerge-test-images-idx3-ubyte.gz", "emnist-bymerge-test-labels-idx1-ubyte.gz",
                     "emnist-bymerge-mapping.txt"):
            zf.write(data_dir / "emnist" / name, f"gzip/{name}")
    a = load("emnist/bymerge", "test", str(tmp_path))
    b = load("emnist/bymerge", "test", str(data_dir))
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)


def test_wrong_emnist_mapping(tmp_path, data_dir):
    d = tmp_path / "emnist"
    d.mkdir()
    for name in ("emnist-bymerge-test-images-idx3-ubyte.gz", "emnist-bymerge-test-labels-idx1-ubyte.gz"):
        shutil.copy(data_dir / "emnist" / name, d / name)
    (d / "emnist-bymerge-mapping.txt").write_text("\n".join(f"{i} {65 + i}" for i in range(47)))
    with pytest.raises(DataError, match="emnist-bymerge-mapping.txt: maps to"):
        load("emnist/bymerge", "test", str(tmp_path))


def test_offline_without_prepared_tfds_fails_fast(tmp_path, monkeypatch):
    monkeypatch.setattr(tfds_source, "online", lambda timeout=2.0: False)
    monkeypatch.delenv("REPLICATION_DATA_DIR", raising=False)
    start = time.time()
    with pytest.raises(DataError, match="not prepared.*offline.*--data-dir"):
        load("mnist", "test", tfds_dir=str(tmp_path))
    assert time.time() - start < 30


def test_missing_raw_file_then_offline_names_both(tmp_path, monkeypatch):
    monkeypatch.setattr(tfds_source, "online", lambda timeout=2.0: False)
    with pytest.raises(DataError, match="(?s)emnist-bymerge-train-images.*missing.*No tensorflow-datasets fallback"):
        load("emnist/bymerge", "train", str(tmp_path), tfds_dir=str(tmp_path / "tfds"))


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown dataset"):
        load("svhn", "train")
