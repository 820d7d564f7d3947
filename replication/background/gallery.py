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


def _name(label: int) -> str:
    return "bg" if label == assembly.BACKGROUND else EMNIST_CHARS[label]


def attack_images(store, pool, labels: np.ndarray, protocol, seed: int, cw: Optional[Carlini]) -> List[Dict]:
    """Gallery rows: originals, FGS and FG adversarials for both split-0 models, and Carlini targets (if run)."""
    sets = assembly.split_sets(labels, assembly.make_split(labels, protocol.test_fraction, seed))
    idx = sets["test"][:N_SHOW]
    x, y = training.to_input(pool.images[idx]), labels[idx]
    rows = [{"title": "original", "images": list(x), "captions": [f"true {_name(t)}" for t in y]}]
    for model_name in ("baseline", "defense"):
        model = keras.models.load_model(store.path(f"models/split0_{model_name}.keras"))
        for attack, eps in (("fgs", protocol.fgs_eps), ("fg", protocol.fg_eps)):
            adv = weak_attack(model, x, y, attack, eps)
            pred = training.predict(model, adv)
            rows.append({"title": f"{model_name}\n{attack.upper()} {eps}", "images": list(adv),
                         "captions": [f"-> {_name(p)}" for p in pred]})
    for model_name in ("baseline", "defense") if cw else ():
        g = cw.attacks[model_name].gallery
        rows.append({"title": f"{model_name}\nCarlini L2", "images": g["adv"],
                     "captions": [f"t{t} -> {_name(p)}" for t, p in zip(g["target"], g["pred"])]})
    return rows
