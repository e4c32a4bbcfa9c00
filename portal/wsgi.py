"""WSGI entry point: plain HTTP in production (gunicorn workers, see the Procfile).

Websockets are served by the ASGI application (portal.asgi) on /ws/ only; everything else is
cheaper through WSGI than through Django's ASGI handler (docs/benchmarks.md, "HTTP").
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()
