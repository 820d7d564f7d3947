"""Adversarial examples for the report's gallery (Fig. 2/3), from split 0's saved models."""
from __future__ import annotations

from typing import Dict, List, Optional

import keras
import numpy as np

from replication.background import assembly, training
from replication.background.records import Carlini
from replication.background.weak_attacks import weak_attack
from replication.data import EMNIST_CHARS

N_SHOW = 6
MODELS = ("baseline", "defense")


def _name(label: int) -> str:
    return "bg" if label == assembly.BACKGROUND else EMNIST_CHARS[label]


def weak_rows(store, pool, labels: np.ndarray, protocol, seed: int) -> List[Dict]:
    """The gallery's originals and the FGS and FG adversarials of both split-0 models (`has_models`), with the
    labels they get; images in 8 bits (a figure's precision). The ledger keeps no background models, so this is the
    unit `gallery`, computed beside split 0 while they exist."""
    sets = assembly.split_sets(labels, assembly.make_split(labels, protocol.test_fraction, seed))
    idx = sets["test"][:N_SHOW]
    x, y = training.to_input(pool.images[idx]), labels[idx]
    rows = [{"title": "original", "images": _bytes(x), "captions": [f"true {_name(t)}" for t in y]}]
    for model_name in MODELS:
        model = keras.models.load_model(model_path(store, model_name))
        for attack, eps in (("fgs", protocol.fgs_eps), ("fg", protocol.fg_eps)):
            adv = weak_attack(model, x, y, attack, eps)
            pred = training.predict(model, adv)
            rows.append({"title": f"{model_name}\n{attack.upper()} {eps}", "images": _bytes(adv),
                         "captions": [f"-> {_name(p)}" for p in pred]})
    return rows


def model_path(store, model_name: str):
    """Split 0's model `model_name` in the run folder."""
    return store.path(f"models/split0_{model_name}.keras")


def has_models(store) -> bool:
    """Whether split 0's models are in the run folder."""
    return all(model_path(store, m).exists() for m in MODELS)


def _bytes(images: np.ndarray) -> List:
    """Model inputs in [-0.5, 0.5] (`training.to_input`) -> 8-bit pixels."""
    return np.round(255 * (np.clip(np.asarray(images), -0.5, 0.5) + 0.5)).astype(np.uint8).tolist()


def attack_images(weak: Optional[List[Dict]], cw: Optional[Carlini]) -> List[Dict]:
    """Gallery rows: the `gallery` unit's (`weak_rows`; none when it could not be computed) and the Carlini
    targets (if run)."""
    rows = [{**row, "images": list(np.asarray(row["images"], np.float32) / 255 - 0.5)} for row in weak or []]
    for model_name in MODELS if cw else ():
        g = cw.attacks[model_name].gallery
        rows.append({"title": f"{model_name}\nCarlini L2", "images": g["adv"],
                     "captions": [f"t{t} -> {_name(p)}" for t, p in zip(g["target"], g["pred"])]})
    return rows
