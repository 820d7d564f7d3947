"""Kept for tools that still call `python setup.py`: everything is declared in pyproject.toml."""
from setuptools import setup

setup()
