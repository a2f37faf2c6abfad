"""Test configuration.

Hypothesis explores new random examples on each local run; under CI (``CI=true``) it is
derandomized, so that a submission's test outcome does not depend on the draw.
"""
import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
