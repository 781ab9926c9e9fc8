"""The WSGI application the API server serves (``vigia.control.wsgi:application``), loaded whole
before the first request: the URLconf with its views, serializers and filter sets too."""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vigia.control.settings")
application = get_wsgi_application()
get_resolver().url_patterns  # noqa: B018  imports the URLconf now rather than on the first request

# What is loaded now lives as long as the worker: frozen out of the collector's generations, the full
# collections that the requests' reference cycles (DRF, django-filter) set off no longer scan it.
gc.collect()
gc.freeze()
