"""Settings shared by the whole test suite: the Hypothesis profiles.

``HYPOTHESIS_PROFILE`` picks one: ``dev`` (the default, quick) or ``ci`` (what
``.ci/run`` uses: more examples, and a reproduction blob printed on failure).
Deadlines are off in both: the stateful tests run whole lifecycles per example,
and a slow shared CI machine must not turn into flaky failures.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("ci", max_examples=500, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
