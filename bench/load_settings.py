"""`python -m bench load --plain-static`: the production settings with plain static URLs, so a quick run (and the
test) needs no `collectstatic` (~35 s the first time). The load generator asks for pages, not static files; the
only difference is the `{% static %}` URL (no lookup in the manifest of hashed names)."""

from aftercare.settings import *  # noqa: F403

STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
