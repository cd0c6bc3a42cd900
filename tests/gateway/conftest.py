"""Loads the suite-wide pytest hooks from tests/ (see pytest_noskip.py)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pytest_noskip import pytest_sessionfinish  # noqa: E402,F401
