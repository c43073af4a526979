from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo dealer group and its history (`manage.py seed_demo`, docs/demo.md). The top layer: it may import
    every app, and no app imports it; each new app adds the demo rows of its own tables here (`demo/<app>.py`)."""

    name = "aftercare.demo"
    label = "demo"
    verbose_name = _("demo data")
