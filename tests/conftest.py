import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

# The property tests run 10,000 examples each (issue: "at least 10,000 per property
# within CI's time"); AIGIF_HYPOTHESIS=dev runs a quick pass while editing.
settings.register_profile("ci", max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("AIGIF_HYPOTHESIS", "ci"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test skipped because a package is missing is a failure: everything the
    tests import is in the ``dev`` extra (``pip install -e ".[dev]"``)."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and call.excinfo is not None:
        reason = str(call.excinfo.value)
        if "could not import" in reason or "No module named" in reason:
            report.outcome = "failed"
            report.longrepr = f"skipped for a missing package, which the dev extra must install: {reason}"
