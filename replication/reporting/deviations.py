"""A report's "Deviations from the paper" section, generated from the protocol used and the data it ran on."""
from __future__ import annotations

from typing import Dict, Iterable, List, Tuple

from replication.runs.results import differences, jsonable

# Protocol fields whose change alters the method, not only how much of it runs, and what the change means.
DNR_METHOD_FIELDS: Dict[str, str] = {
    "search_params": "the SVMs' (C, gamma) are not searched by 5-fold CV on our features but taken from the "
                     "authors' code, where they were tuned for their own network variants and layers",
    "feature_layers": "other layers feed the SVMs than the paper's",
    "pgd_halvings": "the attack's step search also tries steps below eta (secml's), unlike Algorithm 1",
}
BACKGROUND_METHOD_FIELDS: Dict[str, str] = {
    "letters": "the background letters are the paper's published set, not measured by the selection (Section IV.A)",
    "pool_split": "another EMNIST By Merge partition serves as the pool",
    "pool_limit": "the pool is a random subsample of the partition, so Table I's counts shrink with it",
}


def protocol_items(paper: Dict, used: Dict, method_fields: Dict[str, str], ignore: Tuple[str, ...] = ()) -> List[str]:
    """One line per protocol field that differs from the paper's: method changes (`method_fields`, by field name)
    first, then reduced counts; fields under an `ignore` prefix (parts the experiment does not run) are left out."""
    diffs = [d for d in differences(jsonable(paper), jsonable(used))
             if not d.startswith("level:") and not d.startswith(ignore)]
    method, counts = [], []
    for d in diffs:
        field = d.split(":", 1)[0].split(".")[-1]
        if field in method_fields:
            method.append(f"**method**: `{d}`: {method_fields[field]}")
        else:
            counts.append(f"count: `{d}`")
    return method + counts


def section(items: Iterable[str], level: str) -> List[str]:
    """Markdown lines of the section (says so when there is nothing to declare)."""
    items = list(items)
    lines = ["## Deviations from the paper", "",
             "Generated from the protocol and data of this run (protocol fields that differ from `paper`, and data "
             "facts); nothing here is kept by hand.", ""]
    if not items:
        return lines + [f"None: protocol `{level}` is the paper's and the data are the paper's.", ""]
    return lines + [f"- {item}" for item in items] + [""]
