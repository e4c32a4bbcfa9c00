"""The benchmark server's settings: the portal's, with the floor view's URL added.

The floor (a trivial authenticated page, same middleware) is what the slot pages are compared
with; it exists only here, never in the product's URLs.
"""

from portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.floor_urls"
