"""The HTTP benchmark's settings: the portal's, with the two floor views' URLs added.

``ACCUEIL_BENCH_SESSION_ENGINE`` swaps the session engine for one measurement (the product's is
set in portal/settings.py); nothing else differs from what production runs.
"""

import os

from bench.floor_settings import *  # noqa: F403

ROOT_URLCONF = "bench.http_urls"
if os.environ.get("ACCUEIL_BENCH_SESSION_ENGINE"):
    SESSION_ENGINE = os.environ["ACCUEIL_BENCH_SESSION_ENGINE"]
