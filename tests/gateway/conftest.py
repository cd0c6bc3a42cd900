"""Loads the suite-wide pytest hooks from tests/ (see pytest_noskip.py), and
adds the end of vmgated's log to the report of a test that fails."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pytest_noskip import pytest_sessionfinish  # noqa: E402,F401

import pytest  # noqa: E402

import gwharness  # noqa: E402


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test's report ends with the log of every gateway it used
    (the module's shared one too): what vmgated saw is the first clue."""
    outcome = yield
    rep = outcome.get_result()
    if call.when == "setup":
        gwharness.ENDED_LOGS.clear()
    if rep.failed:
        logs = gwharness.ENDED_LOGS + [g.log()[-4000:] for g in gwharness.LIVE]
        for i, text in enumerate(logs):
            rep.sections.append((f"vmgated log {i + 1} (end)", text))
