from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    CREATE = "create", _("create")
    UPDATE = "update", _("update")
    DELETE = "delete", _("delete")
    MERGE = "merge", _("merge")
    IMPORT = "import", _("import")
    EXPORT = "export", _("export")
    REVEAL = "reveal", _("reveal phone")
    LOGIN = "login", _("login")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("to send")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")
    SKIPPED = "skipped", _("not sent")
