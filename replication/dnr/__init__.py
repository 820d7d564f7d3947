"""Sotgiu et al.'s Deep Neural Rejection (DNR) and Neural Rejection (NR)."""
