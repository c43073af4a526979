import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DmsConfig(AppConfig):
    name = "aftercare.dms"
    label = "dms"
    verbose_name = _("dms")

    def ready(self):
        from aftercare.core.schedule import Job, register

        desc = _("Fail imports left running by a stopped worker")
        grace = dt.timedelta(minutes=15)
        register(Job("import_fail_stale", app=self.label, at=(":30",), grace=grace, description=desc))
