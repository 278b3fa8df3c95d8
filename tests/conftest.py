"""The one place for Hypothesis settings: ``ci`` (the default, what ``make test`` runs) and
``dev`` (ten times the examples, for a deeper look: ``HYPOTHESIS_PROFILE=dev``). ``ci`` keeps
Hypothesis's own default of 100 examples, so that ``make test`` stays under three minutes.

No deadline: the first example of a Numba-backed property may include loading compiled code.
Tests that need another number of examples say only that (``@settings(max_examples=N)``).
"""
import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", parent=settings.get_profile("ci"), max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
