"""Readers of the official raw files: MNIST/EMNIST idx (.gz, or inside gzip.zip), CIFAR-10 python batches."""
from __future__ import annotations

import gzip
import io
import pickle
import tarfile
import warnings
import zipfile
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from replication.data.checksums import official_match
from replication.data.errors import DataError

_IDX_DTYPE = {0x08: np.uint8}
_WARNED: set = set()


def _note_not_official(name: str) -> None:
    """Say once per file that it differs from the official bytes (structure is still verified)."""
    if name not in _WARNED:
        _WARNED.add(name)
        warnings.warn(f"{name}: not byte-identical to the official file (checksum differs); "
                      "its structure and counts were verified instead.", stacklevel=3)


def parse_idx(raw_gz: bytes, name: str, expect_dims: Sequence[int], expect_count: Optional[int],
              hint: str) -> np.ndarray:
    """Decode a gzipped idx file, checking magic, dimensions, length and the split's count."""
    try:
        raw = gzip.decompress(raw_gz)
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise DataError(f"{name}: not a valid gzip file ({err}); the file is truncated or corrupt. {hint}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPE:
        raise DataError(f"{name}: bad idx magic number (expected 0x0000 08 0N); not an idx file. {hint}")
    ndim = raw[3]
    if ndim != len(expect_dims) + 1:
        raise DataError(f"{name}: idx file has {ndim} dimensions, expected {len(expect_dims) + 1}. {hint}")
    header = 4 + 4 * ndim
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    if list(dims[1:]) != list(expect_dims):
        raise DataError(f"{name}: items of shape {tuple(dims[1:])}, expected {tuple(expect_dims)}. {hint}")
    if expect_count is not None and dims[0] != expect_count:
        raise DataError(f"{name}: {dims[0]} items, expected the official {expect_count}. {hint}")
    if len(raw) != header + int(np.prod(dims)):
        raise DataError(f"{name}: {len(raw) - header} data bytes, expected {int(np.prod(dims))} "
                        f"for shape {tuple(dims)}; the file is truncated. {hint}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def find_file(name: str, dirs: Sequence[Path]) -> Optional[Path]:
    """First existing `dir/name` among dirs."""
    for d in dirs:
        if (Path(d) / name).is_file():
            return Path(d) / name
    return None


def read_member(name: str, dirs: Sequence[Path], zip_names: Sequence[str] = ()) -> Tuple[bytes, str]:
    """Bytes of file `name` from a directory, or from a zip archive (member `*/name`) found there."""
    path = find_file(name, dirs)
    if path is not None:
        return path.read_bytes(), str(path)
    for zip_name in zip_names:
        archive = find_file(zip_name, dirs)
        if archive is None:
            continue
        try:
            with zipfile.ZipFile(archive) as zf:
                members = [m for m in zf.namelist() if m.rsplit("/", 1)[-1] == name]
                if members:
                    return zf.read(members[0]), f"{archive}:{members[0]}"
        except zipfile.BadZipFile as err:
            raise DataError(f"{archive}: not a valid zip archive ({err}).") from None
    raise FileNotFoundError(name)


def load_idx_pair(images_name: str, labels_name: str, dirs: Sequence[Path], image_dims: Sequence[int],
                  count: Optional[int], hint: str,
                  zip_names: Sequence[str] = ()) -> Tuple[np.ndarray, np.ndarray, List[str]]:
    """Images and labels from an idx pair, verified; returns (images, labels, file descriptions)."""
    arrays, described = [], []
    for name, dims in ((images_name, image_dims), (labels_name, ())):
        try:
            data, where = read_member(name, dirs, zip_names)
        except FileNotFoundError:
            looked = ", ".join(str(d) for d in dirs)
            raise DataError(f"{name}: missing (looked in {looked}). {hint}") from None
        match = official_match(name, data)
        if match is False:
            _note_not_official(name)
        arrays.append(parse_idx(data, name, dims, count, hint))
        described.append(f"{where} ({'official checksum' if match else 'structure verified'})")
    images, labels = arrays
    if len(images) != len(labels):
        raise DataError(f"{images_name} has {len(images)} images but {labels_name} has {len(labels)} labels. {hint}")
    return images, labels.astype(np.int64), described


def _unpickle(data: bytes, name: str, hint: str) -> dict:
    try:
        return pickle.loads(data, encoding="bytes")
    except Exception as err:  # pickle raises many types on corrupt input
        raise DataError(f"{name}: cannot be unpickled ({type(err).__name__}); corrupt CIFAR-10 batch. {hint}") from None


def _cifar_batch(data: bytes, name: str, hint: str) -> Tuple[np.ndarray, np.ndarray]:
    if official_match(name, data) is False:
        _note_not_official(name)
    batch = _unpickle(data, name, hint)
    try:
        flat = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except (KeyError, TypeError):
        raise DataError(f"{name}: lacks the 'data'/'labels' entries of a CIFAR-10 batch. {hint}") from None
    if flat.shape != (10000, 3072) or labels.shape != (10000,):
        raise DataError(f"{name}: data of shape {flat.shape}, expected (10000, 3072). {hint}")
    return flat.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def load_cifar10_batches(names: Sequence[str], dirs: Sequence[Path],
                         hint: str) -> Tuple[np.ndarray, np.ndarray, List[str]]:
    """CIFAR-10 batches from `cifar-10-batches-py/` or `cifar-10-python.tar.gz` in dirs."""
    folders = [Path(d) / "cifar-10-batches-py" for d in dirs] + list(dirs)
    tar_path = find_file("cifar-10-python.tar.gz", dirs)
    xs, ys, described = [], [], []
    for name in names:
        path = find_file(name, folders)
        if path is not None:
            data, where = path.read_bytes(), str(path)
        elif tar_path is not None:
            data, where = _from_tar(tar_path, name, hint), f"{tar_path}:{name}"
        else:
            looked = ", ".join(str(d) for d in folders)
            raise DataError(f"{name}: missing (looked in {looked}, and for cifar-10-python.tar.gz). {hint}")
        x, y = _cifar_batch(data, name, hint)
        xs.append(x)
        ys.append(y)
        described.append(where)
    return np.concatenate(xs), np.concatenate(ys), described


def _from_tar(tar_path: Path, name: str, hint: str) -> bytes:
    try:
        with tarfile.open(tar_path, "r:gz") as tf:
            member = tf.extractfile(f"cifar-10-batches-py/{name}")
            if member is None:
                raise KeyError(name)
            return member.read()
    except KeyError:
        raise DataError(f"{tar_path}: has no member cifar-10-batches-py/{name}. {hint}") from None
    except (tarfile.TarError, OSError, EOFError) as err:
        raise DataError(f"{tar_path}: corrupt archive ({err}). {hint}") from None


def cifar10_label_names(dirs: Sequence[Path]) -> List[str]:
    """Class names from batches.meta when present, else the official list."""
    official = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    path = find_file("batches.meta", [Path(d) / "cifar-10-batches-py" for d in dirs] + list(dirs))
    if path is None:
        return official
    meta = _unpickle(path.read_bytes(), "batches.meta", "")
    names = [n.decode() for n in meta.get(b"label_names", [])]
    if names != official:
        raise DataError(f"{path}: label names {names} differ from the official CIFAR-10 names {official}.")
    return names


def read_text(name: str, dirs: Sequence[Path], zip_names: Sequence[str] = ()) -> Optional[str]:
    """A small text file (e.g. an EMNIST mapping) from dirs or a zip; None if absent."""
    try:
        data, _ = read_member(name, dirs, zip_names)
    except FileNotFoundError:
        return None
    return io.TextIOWrapper(io.BytesIO(data), encoding="ascii").read()
