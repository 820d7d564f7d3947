"""Replications of the background-class defense and Deep Neural Rejection, and the library they run on:
`replication.defenses`, `replication.attacks`, `replication.evaluation`.

Importing the package imports TensorFlow without its start-up log lines (`replication.quiet`).
"""
from replication.quiet import import_tensorflow

import_tensorflow()
