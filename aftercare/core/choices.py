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
    VIEW = "view", _("view file")
    LOGIN = "login", _("login")
    LOCKOUT = "lockout", _("log-in locked")
    UNLOCK = "unlock", _("log-in unlocked")
    REVEAL_REFUSED = "reveal_refused", _("phone reveal refused")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("to send")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")
    SKIPPED = "skipped", _("not sent")


class JobRunStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    OK = "ok", _("ok")
    FAILED = "failed", _("failed")
