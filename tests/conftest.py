"""Test settings shared by the test modules."""

import os

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # the property tests skip themselves
    pass
else:
    # 'ci', the default: few examples, derandomised so that a run is
    # repeatable and its time bounded; 'dev' for a longer search
    # (HYPOTHESIS_PROFILE=dev python -m pytest tests/test_properties.py).
    settings.register_profile(
        "ci", max_examples=20, deadline=None, derandomize=True,
        database=None, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow,
                               HealthCheck.data_too_large])
    settings.register_profile(
        "dev", max_examples=300, deadline=None,
        suppress_health_check=[HealthCheck.too_slow,
                               HealthCheck.data_too_large])
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
