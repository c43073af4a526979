import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import AuditAction, DeliveryStatus, JobRunStatus
from .text import clean_text

_TEXT_FIELDS: dict[type, tuple[str, ...]] = {}


class CleanTextMixin:
    """Every CharField / TextField value of the row passes `clean_text` (no C0 controls but tab and newline) in
    `clean_fields` (so before validation: forms, the admin and every service's `full_clean`) and again in `save`
    (writes that skip `full_clean`). Put it before `models.Model` in the bases; it adds no column."""

    @classmethod
    def _text_attnames(cls) -> tuple[str, ...]:
        names = _TEXT_FIELDS.get(cls)
        if names is None:
            names = _TEXT_FIELDS[cls] = tuple(
                f.attname for f in cls._meta.concrete_fields if isinstance(f, models.CharField | models.TextField)
            )
        return names

    def clean_text_fields(self) -> None:
        for name in self._text_attnames():
            value = self.__dict__.get(name)  # a deferred field is not loaded (nor changed)
            if isinstance(value, str):
                cleaned = clean_text(value)
                if cleaned != value:
                    setattr(self, name, cleaned)

    def clean_fields(self, exclude=None):
        self.clean_text_fields()
        super().clean_fields(exclude=exclude)

    def save(self, *args, **kwargs):
        self.clean_text_fields()
        super().save(*args, **kwargs)


class StoreOwnedQuerySet(models.QuerySet):
    def for_stores(self, store_ids):
        return self.filter(store_id__in=store_ids)


class StoreOwnedModel(CleanTextMixin, models.Model):
    """Base of every row that belongs to a store. Reach rows only through scoped selectors."""

    store = models.ForeignKey("org.Store", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StoreOwnedQuerySet.as_manager()

    class Meta:
        abstract = True


class AuditEvent(models.Model):
    """Append-only record of who did what. Holds field *names*, never personal data values."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    store = models.ForeignKey("org.Store", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    action = models.CharField(_("action"), max_length=20, choices=AuditAction.choices)
    object_type = models.CharField(_("object type"), max_length=50)
    object_id = models.CharField(_("object id"), max_length=50, blank=True)
    changed_fields = models.JSONField(_("changed fields"), default=list, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time (UTC)"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("audit event")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            # A user's recent events of one kind, counted by the phone-reveal limit (one index range scan).
            models.Index(fields=["actor", "action", "created_at"], name="audit_actor_action_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}#{self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("AuditEvent is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("AuditEvent is append-only")


class ApiToken(CleanTextMixin, models.Model):
    """Bearer token for integrations. Only a SHA-256 of the key is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=8, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("API token")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @staticmethod
    def new_key() -> str:
        return "ac_" + secrets.token_urlsafe(32)


class Notification(CleanTextMixin, models.Model):
    """A message to one user: shown in their in-app inbox, and sent by e-mail / SMS by the delivery job.

    `email_status` / `sms_status` make delivery re-runnable: the job sends only `pending` rows and marks them.
    """

    store = models.ForeignKey("org.Store", on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    email_status = models.CharField(
        _("e-mail"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.SKIPPED
    )
    sms_status = models.CharField(
        _("SMS"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.SKIPPED
    )

    class Meta:
        verbose_name = _("notification")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "read_at", "created_at"], name="notification_inbox_idx"),
            models.Index(
                fields=["email_status"], name="notification_email_idx", condition=models.Q(email_status="pending")
            ),
            models.Index(
                fields=["sms_status"], name="notification_sms_idx", condition=models.Q(sms_status="pending")
            ),
        ]

    def __str__(self) -> str:
        return self.title


class JobRun(models.Model):
    """One slot of a scheduled job (`core/schedule.py`): inserted by the scheduler before it enqueues the task, so
    the unique `(job, slot)` lets only one of two schedulers enqueue a slot; the task records its run on the row."""

    job = models.CharField(_("job"), max_length=100)
    slot = models.DateTimeField(_("slot"))
    status = models.CharField(_("result"), max_length=10, choices=JobRunStatus.choices, default=JobRunStatus.QUEUED)
    enqueued_at = models.DateTimeField(_("enqueued at"))
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    duration_ms = models.PositiveBigIntegerField(_("duration (ms)"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    output = models.CharField(_("output"), max_length=300, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    notified_at = models.DateTimeField(_("group admins notified at"), null=True, blank=True)

    class Meta:
        verbose_name = _("scheduled job run")
        ordering = ["-slot", "job"]
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="jobrun_job_slot_uniq")]

    def __str__(self) -> str:
        return f"{self.job} @ {self.slot:%Y-%m-%d %H:%M}"
