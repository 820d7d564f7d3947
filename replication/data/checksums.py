"""Published checksums of the official raw files, and hashing helpers."""
from __future__ import annotations

import hashlib

# Official MD5s (MNIST site, CIFAR-10 site).
MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    "cifar-10-python.tar.gz": "c58f30108f718f92721af3b95e74349a",
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}

# Official SHA256s of the EMNIST gzip/ members (the distribution's published metadata).
SHA256 = {
    "emnist-balanced-test-images-idx3-ubyte.gz": "117fc12b015e37ea98bfb2cbba3f77c3782c056cdbd219b87abfc8661d7135db",
    "emnist-balanced-test-labels-idx1-ubyte.gz": "a67cac948379b67270b9a4d0a01c8ec661598accf2f2b1964340b7c83cb175cd",
    "emnist-balanced-train-images-idx3-ubyte.gz": "74295e75e4e9fa2c102147460ee7eb763653d5132d883a84fb88932bfb8d2db4",
    "emnist-balanced-train-labels-idx1-ubyte.gz": "b46d41e5156a0a8aaaa4d18979fdd1588850fa8571018acffd5d93b325a7d6ed",
    "emnist-bymerge-test-images-idx3-ubyte.gz": "5e5815ec1b522089134435f7c55e75a00960b58414793593ffff23efc0821683",
    "emnist-bymerge-test-labels-idx1-ubyte.gz": "8bda1516255683ba9071e141947ca0c91a911176065cdd6259b0b4d8dc5b5f35",
    "emnist-bymerge-train-images-idx3-ubyte.gz": "39bf8c68037dad40db35348895f7e4e056e8c0a005ab78869c9fbc2c96e947be",
    "emnist-bymerge-train-labels-idx1-ubyte.gz": "2c47293b9e62d6abf6ad05fbf67e40baa32adfd380b8d7b44dcc35534b64e1f1",
}


def digest(data: bytes, algorithm: str) -> str:
    """Hex digest of bytes."""
    return hashlib.new(algorithm, data).hexdigest()


def official_match(name: str, data: bytes) -> bool | None:
    """True/False if an official checksum for `name` is known, else None."""
    if name in MD5:
        return digest(data, "md5") == MD5[name]
    if name in SHA256:
        return digest(data, "sha256") == SHA256[name]
    return None
