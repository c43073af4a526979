"""Pages of the channels part: the delivery log (search, XLSX export), the message templates (care.manage) and
the customer's public opt-out page (a signed link in marketing messages; no log-in, like the self-booking link)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from aftercare.core.exports import XLSX_CONTENT_TYPE
from aftercare.core.forms import apply_errors, bound_data
from aftercare.core.htmx import is_partial
from aftercare.org.calendar import business_date
from aftercare.org.permissions import Perm, has_perm, require_any_perm, require_perm
from aftercare.org.scoping import current_store_ids, settings_store, settings_stores

from .. import selectors
from ..forms import ChannelSettingsForm, MessageLogSearchForm, MessageTemplateForm
from ..services import channels as services

PAGE_SIZE = 50


def _log_rows(request):
    require_any_perm(request.user, Perm.CARE_WORK, Perm.CARE_MANAGE)
    store_ids = current_store_ids(request.user, request)
    form = MessageLogSearchForm(request.GET)
    rows = selectors.message_log_search(user=request.user, store_ids=store_ids, **form.filters())
    return form, rows, store_ids


@login_required
def message_log(request):
    """Every SMS, e-mail and WeChat message: by customer, phone tail, status, channel, purpose and days."""
    form, rows, store_ids = _log_rows(request)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "multi_store": len(store_ids) > 1,
               "can_export": has_perm(request.user, Perm.CARE_MANAGE)}
    if is_partial(request):
        return render(request, "care/channels/_message_rows.html", context)
    return render(request, "care/channels/message_log.html", context)


@login_required
def message_log_export(request):
    require_perm(request.user, Perm.CARE_MANAGE)
    form, rows, _ids = _log_rows(request)
    content = services.message_log_export_xlsx(actor=request.user, messages=rows, filters=form.audit_detail())
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="messages-{business_date():%Y%m%d}.xlsx"'
    return response


@login_required
def template_list(request):
    require_perm(request.user, Perm.CARE_MANAGE)
    templates = selectors.message_template_list(user=request.user)
    return render(request, "care/channels/template_list.html", {"templates": templates})


@login_required
@require_http_methods(["GET", "POST"])
def template_edit(request, pk=None):
    """Create or change a message template; an unknown `{variable}` is refused, naming it."""
    require_perm(request.user, Perm.CARE_MANAGE)
    template = selectors.message_template_get(user=request.user, pk=pk) if pk else None
    stores = settings_stores(request.user)
    form = MessageTemplateForm(**bound_data(request), instance=template, stores=stores)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in services.TEMPLATE_FIELDS}
        kwargs = {}
        if template is None:
            store_id = form.cleaned_data.get("store")
            store = stores.filter(pk=store_id).first() if store_id else stores.first()
            kwargs = {"store": store, "group_wide": store_id is None}
        try:
            services.message_template_save(actor=request.user, template=template, **kwargs, **data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return redirect("care:templates")
    from aftercare.followups.services.outbound import template_variables

    return render(request, "care/channels/template_form.html",
                  {"form": form, "template": template, "variables": sorted(template_variables().items())})


@login_required
@require_http_methods(["GET", "POST"])
def channel_settings(request):
    """A store's sending rules: quiet hours, weekly caps of marketing messages and calls, the channels it sends on."""
    require_perm(request.user, Perm.CARE_MANAGE)
    store = settings_store(request)
    from aftercare.followups.services.outbound import channel_rules

    rules = channel_rules(store.pk)
    initial = {"quiet_start": rules.quiet_start, "quiet_end": rules.quiet_end,
               "marketing_weekly_cap": rules.marketing_weekly_cap, "calls_weekly_cap": rules.calls_weekly_cap,
               "enabled_channels": list(rules.channels)}
    form = ChannelSettingsForm(**bound_data(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.channel_settings_update(actor=request.user, store=store, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Channel settings of %(store)s saved.") % {"store": store.name})
            return redirect(f"{request.path}?store={store.pk}")
    stores = settings_stores(request.user)
    return render(request, "care/channels/settings.html", {"store": store, "stores": stores, "form": form},
                  status=400 if request.method == "POST" else 200)


@never_cache
@require_http_methods(["GET", "POST"])
def optout(request, token):
    """Public (signed token, no log-in): the customer confirms and marketing consent is withdrawn at once."""
    customer = services.optout_customer(token)
    if customer is None:
        return render(request, "care/channels/optout.html", {"invalid": True}, status=404)
    done = False
    if request.method == "POST":
        services.optout_by_link(customer=customer)
        done = True
    return render(request, "care/channels/optout.html", {"store": customer.store, "done": done})
