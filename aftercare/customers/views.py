"""Customer and vehicle pages. Thin: parse, check the permission, call one selector or service, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from aftercare.core.forms import apply_errors, bound_data
from aftercare.core.htmx import is_partial, render_partial_or_page
from aftercare.org.choices import SharedResource
from aftercare.org.models import Store
from aftercare.org.permissions import Perm, has_perm, require_perm
from aftercare.org.scoping import current_store_ids, own_store_ids, store_for_write

from . import selectors, services
from .forms import (
    CustomerForm,
    CustomerSearchForm,
    OwnershipTransferForm,
    RevealLimitForm,
    VehicleForm,
)
from .panels import customer_panels

PAGE_SIZE = 25
SECTION_LIMIT = 100


@login_required
def customer_list(request):
    """Search and filter customers; an HTMX request gets only the results table."""
    require_perm(request.user, Perm.CUSTOMER_VIEW)
    form = CustomerSearchForm(request.GET)
    store_ids = current_store_ids(request.user, request, SharedResource.CUSTOMERS)
    qs = selectors.customer_list(user=request.user, store_ids=store_ids, q=form.query(), filters=form.filters())
    page = Paginator(selectors.customer_list_with_vehicles(qs), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "multi_store": len(store_ids) > 1}
    return render_partial_or_page(request, "customers/customer_list.html", "customers/_customer_results.html", context)


@login_required
def customer_detail(request, pk: int):
    """The customer 360 page: file, vehicles, orders, deliveries, policies and one timeline."""
    require_perm(request.user, Perm.CUSTOMER_VIEW)
    user = request.user
    customer = selectors.customer_get(user=user, pk=pk)
    vehicles = list(selectors.customer_vehicles(user=user, customer=customer))
    ownerships = list(selectors.customer_ownerships(user=user, customer=customer))
    repair_orders = list(selectors.repair_order_list(user=user, customer=customer)[:SECTION_LIMIT])
    deliveries = list(selectors.delivery_list(user=user, customer=customer)[:SECTION_LIMIT])
    policies = list(selectors.policy_list(user=user, customer=customer)[:SECTION_LIMIT])
    timeline = selectors.customer_timeline(
        user=user,
        customer=customer,
        deliveries=deliveries,
        repair_orders=repair_orders,
        policies=policies,
        ownerships=ownerships,
    )
    panels = customer_panels(user=user, customer=customer)  # the apps' parts of the page (customers/panels.py)
    # Opening one person's file is audited: one INSERT, the page's only write (no event for lists/search).
    services.customer_view_record(actor=user, customer=customer, route="customers:detail", via="ui")
    return render(
        request,
        "customers/customer_detail.html",
        {
            "customer": customer,
            "vehicles": vehicles,
            "past_ownerships": [o for o in ownerships if o.valid_to is not None],
            "repair_orders": repair_orders,
            "deliveries": deliveries,
            "policies": policies,
            "timeline": timeline,
            "panels": panels,
            "section_limit": SECTION_LIMIT,
            "can_reveal": has_perm(user, Perm.CUSTOMER_REVEAL_PHONE),
            "can_edit": has_perm(user, Perm.CUSTOMER_EDIT) and customer.store_id in own_store_ids(user),
        },
    )


@login_required
@require_POST
def customer_reveal_phone(request, pk: int):
    """Show the full phone numbers (HTMX fragment); audited as a `reveal`, without the number."""
    require_perm(request.user, Perm.CUSTOMER_REVEAL_PHONE)
    customer = selectors.customer_get(user=request.user, pk=pk)
    try:
        services.customer_phone_reveal(actor=request.user, customer=customer)
    except services.RevealLimitReached as exc:
        return _reveal_refused(request, customer, exc)
    return render(request, "customers/_phone.html", {"customer": customer, "revealed": True})


def _reveal_refused(request, customer, exc):
    """429 with the reason: the phone fragment for HTMX (base.html lets htmx swap a 429), else a page."""
    context = {"customer": customer, "refused": exc.message}
    if is_partial(request):
        return render(request, "customers/_phone.html", context, status=429)
    return render(request, "customers/reveal_refused.html", context, status=429)


@login_required
def customer_create(request):
    require_perm(request.user, Perm.CUSTOMER_EDIT)
    store_ids = own_store_ids(request.user)
    form = CustomerForm(**bound_data(request), user_store_ids=store_ids)
    if request.method == "POST" and form.is_valid():
        store = store_for_write(request.user, form.cleaned_data["store"].pk)
        try:
            customer = services.customer_create(actor=request.user, store=store, **form.service_fields())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Customer %(number)s created.") % {"number": customer.number})
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "customers/customer_form.html", {"form": form, "customer": None})


@login_required
def customer_edit(request, pk: int):
    require_perm(request.user, Perm.CUSTOMER_EDIT)
    customer = selectors.customer_get(user=request.user, pk=pk)
    store_for_write(request.user, customer.store_id)
    if request.method == "POST":
        form = CustomerForm(request.POST, instance=customer)
        if form.is_valid():
            try:
                services.customer_update(actor=request.user, customer=customer, **form.service_fields())
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Customer file saved."))
                return redirect("customers:detail", pk=customer.pk)
    else:
        form = CustomerForm(instance=customer)
        if customer.mobile or customer.mobile2 or customer.contact_phone:
            # The edit form shows the full numbers: that is a reveal, and is audited as one.
            require_perm(request.user, Perm.CUSTOMER_REVEAL_PHONE)
            try:
                services.customer_phone_reveal(actor=request.user, customer=customer)
            except services.RevealLimitReached as exc:
                return _reveal_refused(request, customer, exc)
        else:  # no phone to reveal: the form still shows the whole file, recorded as a view
            services.customer_view_record(actor=request.user, customer=customer, route="customers:edit", via="ui")
    return render(request, "customers/customer_form.html", {"form": form, "customer": customer})


@login_required
def vehicle_detail(request, pk: int):
    """Vehicle data, ownership history, repair orders, mileage readings, deliveries and policies."""
    require_perm(request.user, Perm.CUSTOMER_VIEW)
    user = request.user
    vehicle = selectors.vehicle_get(user=user, pk=pk)
    ownerships = list(selectors.ownership_history(user=user, vehicle=vehicle))
    services.vehicle_view_record(
        actor=user, vehicle=vehicle, customer_ids=[o.customer_id for o in ownerships],
        route="customers:vehicle_detail", via="ui",
    )
    return render(
        request,
        "customers/vehicle_detail.html",
        {
            "vehicle": vehicle,
            "ownerships": ownerships,
            "current_owner": next((o.customer for o in ownerships if o.valid_to is None), None),
            "repair_orders": list(selectors.repair_order_list(user=user, vehicle=vehicle)[:SECTION_LIMIT]),
            "deliveries": list(selectors.delivery_list(user=user, vehicle=vehicle)),
            "policies": list(selectors.policy_list(user=user, vehicle=vehicle)[:SECTION_LIMIT]),
            "readings": list(selectors.mileage_reading_list(user=user, vehicle=vehicle)[:SECTION_LIMIT]),
            "can_edit": has_perm(user, Perm.CUSTOMER_EDIT) and vehicle.store_id in own_store_ids(user),
        },
    )


@login_required
def vehicle_create(request, pk: int):
    """Add a vehicle to a customer (who becomes its current owner)."""
    require_perm(request.user, Perm.CUSTOMER_EDIT)
    customer = selectors.customer_get(user=request.user, pk=pk)
    store = store_for_write(request.user, customer.store_id)
    form = VehicleForm(**bound_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            vehicle = services.vehicle_create(
                actor=request.user,
                store=store,
                vin=form.cleaned_data["vin"],
                owner=customer,
                owner_since=form.cleaned_data["owner_since"],
                **form.service_fields(),
            )
        except ValidationError as exc:
            apply_errors(form, exc, rename={"on": "owner_since"})
        else:
            messages.success(request, _("Vehicle %(vehicle)s added.") % {"vehicle": vehicle})
            return redirect("customers:vehicle_detail", pk=vehicle.pk)
    return render(request, "customers/vehicle_form.html", {"form": form, "customer": customer})


@login_required
def vehicle_transfer(request, pk: int):
    """Move a vehicle to a new owner; the old ownership is closed and kept as history."""
    require_perm(request.user, Perm.CUSTOMER_EDIT)
    vehicle = selectors.vehicle_get(user=request.user, pk=pk)
    store_for_write(request.user, vehicle.store_id)
    form = OwnershipTransferForm(**bound_data(request))
    if request.method == "POST" and form.is_valid():
        new_owner = selectors.customer_by_number(user=request.user, number=form.cleaned_data["new_owner"])
        if new_owner is None:
            form.add_error("new_owner", _("No customer with this number in your stores."))
        else:
            try:
                services.ownership_transfer(
                    actor=request.user, vehicle=vehicle, new_owner=new_owner, on=form.cleaned_data["on"]
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(
                    request, _("%(vehicle)s now belongs to %(owner)s.") % {"vehicle": vehicle, "owner": new_owner}
                )
                return redirect("customers:vehicle_detail", pk=vehicle.pk)
    history = selectors.ownership_history(user=request.user, vehicle=vehicle)
    return render(request, "customers/vehicle_transfer.html", {"form": form, "vehicle": vehicle, "history": history})


@login_required
def data_quality(request):
    """Data-quality problems: counts per store and score, then the rows of one kind with their fix actions."""
    require_perm(request.user, Perm.DATA_QUALITY_VIEW)
    store_ids = current_store_ids(request.user, request, SharedResource.CUSTOMERS)
    chosen_store = request.GET.get("store", "")
    row_store_ids = store_ids
    if chosen_store.isdigit() and int(chosen_store) in store_ids:
        row_store_ids = frozenset({int(chosen_store)})
    else:
        chosen_store = ""
    kind = request.GET.get("kind", "")
    if kind not in selectors.DATA_QUALITY_KIND_MAP:
        kind = selectors.DATA_QUALITY_KINDS[0].code
    issues = selectors.data_quality_issues(user=request.user, kind=kind, store_ids=row_store_ids)
    page = Paginator(issues, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "kind": selectors.DATA_QUALITY_KIND_MAP[kind],
        "kinds": selectors.DATA_QUALITY_KINDS,
        "page": page,
        "chosen_store": chosen_store,
        "multi_store": len(store_ids) > 1,
        "can_merge": has_perm(request.user, Perm.CUSTOMER_MERGE),
        "can_edit": has_perm(request.user, Perm.CUSTOMER_EDIT),
        "own_store_ids": own_store_ids(request.user),
    }
    if is_partial(request):
        return render(request, "customers/data_quality_rows.html", context)
    context["summaries"] = selectors.data_quality_summary(user=request.user, store_ids=store_ids)
    return render(request, "customers/data_quality.html", context)


@login_required
def customer_merge(request, keep: int, merge: int):
    """Show two customer files side by side; on POST merge the second into the first."""
    require_perm(request.user, Perm.CUSTOMER_MERGE)
    keep_row = selectors.customer_get(user=request.user, pk=keep)
    merge_row = selectors.customer_get(user=request.user, pk=merge)
    store_for_write(request.user, keep_row.store_id)
    store_for_write(request.user, merge_row.store_id)
    error = ""
    if keep_row.pk == merge_row.pk:
        error = _("A customer cannot be merged into itself.")
    elif keep_row.store_id != merge_row.store_id:
        error = _("Customers of different stores cannot be merged; each store keeps its own files.")
    elif not keep_row.is_active or not merge_row.is_active:
        error = _("One of these customers was already merged into another file.")
    if request.method == "POST" and not error:
        try:
            kept = services.customer_merge(actor=request.user, keep=keep_row, merge=merge_row)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(
                request,
                _("Customer %(merged)s was merged into %(kept)s.") % {"merged": merge_row.number, "kept": kept.number},
            )
            return redirect("customers:detail", pk=kept.pk)
    status = 400 if request.method == "POST" and error else 200
    pair = [keep_row, merge_row]
    counts = selectors.data_quality_merge_preview(user=request.user, customers=pair)
    vehicles = {c.pk: list(selectors.customer_vehicles(user=request.user, customer=c)) for c in pair}
    return render(
        request,
        "customers/merge_confirm.html",
        {
            "keep": keep_row,
            "merge": merge_row,
            "error": error,
            "columns": [(keep_row, counts[keep_row.pk], vehicles[keep_row.pk]),
                        (merge_row, counts[merge_row.pk], vehicles[merge_row.pk])],
            "compare_rows": _merge_compare_rows(keep_row, merge_row),
        },
        status=status,
    )


_MERGE_COMPARE_FIELDS = (
    "number", "name", "mobile", "mobile2", "address", "region", "birthday", "background",
    "contact_person", "contact_phone", "source", "consent_service_calls", "consent_marketing", "dms_code",
)


def _merge_compare_rows(keep, merge) -> list[tuple[str, str, str, bool]]:
    """(label, value in keep, value in merge, differ) per field; phones masked (showing them is a reveal)."""
    from .validators import mask_mobile

    def shown(customer, name):
        value = getattr(customer, name)
        field = customer._meta.get_field(name)
        if value in (None, ""):
            return ""
        if name in ("mobile", "mobile2", "contact_phone"):
            return mask_mobile(value)
        if field.choices:
            return str(getattr(customer, f"get_{name}_display")())
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        return str(value)

    rows = []
    for name in _MERGE_COMPARE_FIELDS:
        a, b = shown(keep, name), shown(merge, name)
        rows.append((str(keep._meta.get_field(name).verbose_name), a, b, a != b))
    return rows


# ---- customer settings of a store (the CS manager's page) --------------------------------------------------------


@login_required
def customer_settings(request):
    """The customer-file settings of the user's own stores (today: the phone-reveal limit), one form per store."""
    require_perm(request.user, Perm.CUSTOMER_SETTINGS)
    return render(request, "customers/settings.html", {"rows": _settings_rows(request.user)})


def _auto_id(store) -> str:
    return f"id_store{store.pk}_%s"


def _limit(store) -> dict:
    return {"phone_reveals_per_hour": store.phone_reveals_per_hour}


def _settings_rows(user, store=None, form=None) -> list:
    """(store, form) per own store; `form` (bound, with errors) stands for `store`."""
    return [
        (s, form if store is not None and s.pk == store.pk else RevealLimitForm(initial=_limit(s), auto_id=_auto_id(s)))
        for s in Store.objects.filter(pk__in=own_store_ids(user)).order_by("code")
    ]


@login_required
@require_POST
def customer_settings_edit(request, store_id: int):
    """Save one own store's phone-reveal limit; another store answers 404."""
    require_perm(request.user, Perm.CUSTOMER_SETTINGS)
    store = store_for_write(request.user, store_id)
    form = RevealLimitForm(request.POST, auto_id=_auto_id(store))
    if form.is_valid():
        try:
            services.store_reveal_limit_update(actor=request.user, store=store, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Customer settings of %(store)s saved.") % {"store": store.name})
            return redirect("customers:settings")
    return render(request, "customers/settings.html", {"rows": _settings_rows(request.user, store, form)}, status=400)
