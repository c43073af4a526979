from django.apps import apps
from django.contrib import admin, messages
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import ApiToken, AuditEvent
from .services import api_token_create


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit trail is append-only, even for superusers."""

    list_display = ["created_at", "action", "object_type", "object_link", "actor", "store", "route"]
    list_filter = ["action", "object_type", "store"]
    search_fields = ["object_type", "object_id", "actor__username"]
    date_hierarchy = "created_at"
    list_select_related = ["actor", "store"]

    @admin.display(description=gettext_lazy("object id"), ordering="object_id")
    def object_link(self, event):
        """The object's id, linked to its admin page when the model is registered (no query: only a reverse)."""
        if not event.object_id:
            return "—"
        try:
            model = apps.get_model(event.object_type)
        except (LookupError, ValueError):
            model = None
        if model is None or model not in self.admin_site._registry:
            return event.object_id
        opts = model._meta
        try:
            url = reverse(f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change", args=[event.object_id])
        except NoReverseMatch:
            return event.object_id
        return format_html('<a href="{}">{}</a>', url, event.object_id)

    @admin.display(description=gettext_lazy("route"))
    def route(self, event):
        """How a file was read (`ui` / `api` and the URL name) for `view` events; blank for the others."""
        detail = event.detail if isinstance(event.detail, dict) else {}
        return " · ".join(str(detail[k]) for k in ("via", "route") if detail.get(k)) or "—"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created here; the clear key is shown once, only its SHA-256 is stored."""

    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked"]
    list_filter = ["revoked"]
    search_fields = ["name", "user__username", "prefix"]
    autocomplete_fields = ["user"]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        return ["user", "name"] if obj is None else ["user", "name", "prefix", "created_at", "last_used_at", "revoked"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["user", "prefix", "created_at", "last_used_at"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        token, key = api_token_create(user=obj.user, name=obj.name)
        obj.pk = token.pk
        obj.key_hash, obj.prefix, obj.created_at = token.key_hash, token.prefix, token.created_at
        obj._state.adding = False
        self.message_user(
            request,
            _("API key for %(name)s (copy it now, it is shown only once): %(key)s") % {"name": obj.name, "key": key},
            messages.WARNING,
        )

    @admin.action(description=_("Revoke selected tokens"))
    def revoke(self, request, queryset):
        queryset.update(revoked=True)
