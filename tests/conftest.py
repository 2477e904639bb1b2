import os
from pathlib import Path

from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

# The property tests run 10,000 examples each (issue: "at least 10,000 per property
# within CI's time"); AIGIF_HYPOTHESIS=dev runs a quick pass while editing.
settings.register_profile("ci", max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("AIGIF_HYPOTHESIS", "ci"))
