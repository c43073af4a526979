"""Writes for customer and vehicle files. Every write validates (`full_clean`) and audits."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.org.models import Store

from . import validators as v
from .choices import CONSENT_FIELDS, ConsentPurpose, ConsentSource
from .models import ConsentChange, Customer, InsurancePolicy, Ownership, Vehicle
from .signals import consent_changed


def customer_numbers_allocate(*, store_id: int, count: int = 1, using=None) -> list[str]:
    """Reserve `count` consecutive customer numbers of a store (one UPDATE … RETURNING of its counter row).

    On this connection the counter row stays locked until the caller's transaction ends. The DMS
    import's parallel writers pass a connection of their own (`using`, autocommit): the row is not held
    until their chunk commits, so they never wait for each other, and a rolled-back chunk's numbers are skipped.
    """
    with (using or connection).cursor() as cur:
        cur.execute(
            f"UPDATE {Store._meta.db_table} SET next_customer_number = next_customer_number + %s WHERE id = %s "
            "RETURNING next_customer_number, customer_number_prefix, code",
            [count, store_id],
        )
        after, prefix, code = cur.fetchone()
    return [f"{prefix or code}{n:07d}" for n in range(after - count, after)]


_CUSTOMER_FIELDS = (
    "name",
    "mobile",
    "mobile2",
    "address",
    "region",
    "birthday",
    "background",
    "contact_person",
    "contact_phone",
    "consent_service_calls",
    "consent_marketing",
    "source",
    "dms_code",
    "email",  # channels
    "wechat_openid",  # channels
)


def _normalise_customer_fields(data: dict) -> dict:
    errors = {}
    out = dict(data)
    for field in ("mobile", "mobile2", "contact_phone"):
        if field in out:
            try:
                out[field] = v.normalize_mobile(out[field])
            except ValidationError as exc:
                errors[field] = exc.messages
    for field in ("name", "address", "region", "contact_person", "email", "wechat_openid"):
        if field in out:
            out[field] = v.clean_text(out[field])
    if "dms_code" in out:
        out["dms_code"] = v.clean_text(out["dms_code"]) or None
    if errors:
        raise ValidationError(errors)
    return out


def customer_create(*, actor, store: Store, name: str, **fields) -> Customer:
    """Create a customer file in `store` with the next customer number."""
    unknown = set(fields) - set(_CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"unknown customer fields: {sorted(unknown)}")
    data = _normalise_customer_fields({"name": name, **fields})
    with transaction.atomic():
        customer = Customer(store=store, number="-", **data)
        customer.full_clean(exclude=["number"])
        customer.number = customer_numbers_allocate(store_id=store.pk)[0]
        customer.save()
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=customer, changed_fields=data.keys())
        # the new file's consents: history rows only (nothing pending can be cancelled yet, no signal)
        _consents_record(actor=actor, customer=customer, fields=CONSENT_FIELDS.values(), source=ConsentSource.STAFF,
                         signal=False)
    return customer


def customer_update(*, actor, customer: Customer, **fields) -> Customer:
    """Change fields of a customer file; audits the names of the fields that changed."""
    unknown = set(fields) - set(_CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"unknown customer fields: {sorted(unknown)}")
    data = _normalise_customer_fields(fields)
    changed = [name for name, value in data.items() if getattr(customer, name) != value]
    if not changed:
        return customer
    for name in changed:
        setattr(customer, name, data[name])
    customer.full_clean()
    with transaction.atomic():
        customer.save(update_fields=[*changed, "updated_at"])
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=customer, changed_fields=changed)
        _consents_record(actor=actor, customer=customer, fields=changed, source=ConsentSource.STAFF)
    return customer


_VEHICLE_FIELDS = (
    "plate",
    "brand",
    "model",
    "delivery_date",
    "warranty_end",
    "maintenance_interval_km",
    "maintenance_interval_months",
    "next_maintenance_due",
)


def vehicle_create(*, actor, store: Store, vin: str, owner: Customer | None = None,
                   owner_since: dt.date | None = None, **fields) -> Vehicle:
    """Create a vehicle (VIN checked, unique in the group), optionally with its current owner."""
    unknown = set(fields) - set(_VEHICLE_FIELDS)
    if unknown:
        raise TypeError(f"unknown vehicle fields: {sorted(unknown)}")
    errors = {}
    try:
        vin = v.normalize_vin(vin)
    except ValidationError as exc:
        errors["vin"] = exc.messages
    if "plate" in fields:
        try:
            fields["plate"] = v.normalize_plate(fields["plate"])
        except ValidationError as exc:
            errors["plate"] = exc.messages
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        vehicle = Vehicle(store=store, vin=vin, **fields)
        vehicle.full_clean()
        vehicle.save()
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=vehicle, changed_fields=["vin", *fields])
        if owner is not None:
            since = owner_since or fields.get("delivery_date") or dt.date.today()
            ownership_transfer(actor=actor, vehicle=vehicle, new_owner=owner, on=since)
    return vehicle


def policy_record(
    *, actor, vehicle: Vehicle, customer: Customer, policy_number: str, insurer: str, start_date: dt.date,
    expiry_date: dt.date, premium, kind: str,
) -> InsurancePolicy:
    """Put a policy sold by the vehicle's store on file (a renewal a specialist sold, before the DMS or the
    insurer sends it): created, or — the same number for the same vehicle — updated. A number on file for another
    vehicle or store is refused on `policy_number`. A later import of the same number updates this row."""
    policy_number = (policy_number or "").strip()
    with transaction.atomic():
        policy = InsurancePolicy.objects.select_for_update().filter(policy_number=policy_number).first()
        if policy is not None and (policy.vehicle_id != vehicle.pk or policy.store_id != vehicle.store_id):
            raise ValidationError({"policy_number": [gettext("This policy number is on file for another vehicle.")]})
        created = policy is None
        policy = policy or InsurancePolicy(store_id=vehicle.store_id, vehicle=vehicle, policy_number=policy_number)
        policy.customer = customer
        policy.insurer, policy.start_date, policy.expiry_date = insurer, start_date, expiry_date
        policy.premium, policy.kind = premium, kind
        policy.full_clean(exclude=["store", "vehicle", "customer"])
        policy.save()
        audit_event_record(actor=actor, action=AuditAction.CREATE if created else AuditAction.UPDATE, obj=policy,
                           changed_fields=["insurer", "start_date", "expiry_date", "premium", "kind"])
    return policy


def ownership_transfer(*, actor, vehicle: Vehicle, new_owner: Customer, on: dt.date) -> Ownership:
    """Close the current ownership (if any) the day before `on` and open one for `new_owner`."""
    with transaction.atomic():
        current = Ownership.objects.select_for_update().filter(vehicle=vehicle, valid_to__isnull=True).first()
        if current is not None:
            if current.customer_id == new_owner.pk:
                return current
            if on <= current.valid_from:
                raise ValidationError({"on": _("Transfer date must be after the current owner's start date.")})
            current.valid_to = on - dt.timedelta(days=1)
            current.save(update_fields=["valid_to", "updated_at"])
        ownership = Ownership(store=new_owner.store, vehicle=vehicle, customer=new_owner, valid_from=on)
        ownership.full_clean(validate_constraints=False)
        ownership.save()
        audit_event_record(
            actor=actor,
            action=AuditAction.UPDATE if current else AuditAction.CREATE,
            obj=ownership,
            changed_fields=["customer", "valid_from"],
            detail={"vehicle_id": vehicle.pk, "previous_ownership_id": current.pk if current else None},
        )
    return ownership


class RevealLimitReached(Exception):
    """`actor` has revealed `count` phone numbers in the last hour and the store allows `limit` (answer 429)."""

    def __init__(self, *, count: int, limit: int):
        self.count, self.limit = count, limit
        super().__init__(f"reveal limit reached: {count} in the last hour, limit {limit}")

    @property
    def message(self) -> str:
        return ngettext(
            "You have revealed %(count)s phone number in the last hour; the limit is %(limit)s per hour. "
            "Try again later.",
            "You have revealed %(count)s phone numbers in the last hour; the limit is %(limit)s per hour. "
            "Try again later.",
            self.count,
        ) % {"count": self.count, "limit": self.limit}


REVEAL_WINDOW = dt.timedelta(hours=1)


def customer_phone_reveal(*, actor, customer: Customer) -> str:
    """Return the customer's full mobile and audit that `actor` saw it (the number itself is not logged).

    At most `Store.phone_reveals_per_hour` (of the customer's store) reveals per user in any hour: the user's
    `reveal` events of the last hour are counted (one count on the audit index actor, action, time). Beyond it the
    reveal is refused (`RevealLimitReached`, audited as `reveal_refused`). Reveals of one user are serialised (their
    staff row is locked) so that parallel requests cannot overshoot the limit.
    """
    from aftercare.core.models import AuditEvent
    from aftercare.org.models import Staff

    limit = customer.store.phone_reveals_per_hour
    with transaction.atomic():
        list(Staff.objects.select_for_update().filter(user_id=actor.pk).values_list("pk", flat=True))
        count = AuditEvent.objects.filter(
            actor_id=actor.pk, action=AuditAction.REVEAL, created_at__gte=timezone.now() - REVEAL_WINDOW
        ).count()
        if count >= limit:
            audit_event_record(
                actor=actor,
                action=AuditAction.REVEAL_REFUSED,
                obj=customer,
                changed_fields=["mobile"],
                detail={"count": count, "limit": limit},
            )
        else:
            audit_event_record(actor=actor, action=AuditAction.REVEAL, obj=customer, changed_fields=["mobile"])
            return customer.mobile
    raise RevealLimitReached(count=count, limit=limit)


def store_reveal_limit_update(*, actor, store: Store, phone_reveals_per_hour: int) -> Store:
    """Set how many phone numbers one user may reveal per hour in `store` (the caller checks `customer.settings`
    and that the store is one of the actor's own). Validated, audited as an `update` of the store."""
    with transaction.atomic():
        store = Store.objects.select_for_update().get(pk=store.pk)
        before = store.phone_reveals_per_hour
        store.phone_reveals_per_hour = phone_reveals_per_hour
        store.full_clean()
        store.save(update_fields=["phone_reveals_per_hour"])
        audit_event_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=store,
            store_id=store.pk,
            changed_fields=["phone_reveals_per_hour"],
            detail={"before": before, "after": phone_reveals_per_hour},
        )
    return store


def customer_view_record(*, actor, customer: Customer, route: str, via: str = "ui"):
    """Audit that `actor` opened one customer's file (the 360 page, the API read): a `view` event naming the
    customer, its store and the route (`route` = URL name, `via` = `ui` / `api`).

    Costs exactly one INSERT and nothing else: the customer is already loaded and scoped by the caller, the
    actor is the request's user, so there is nothing to validate against the database (no `full_clean`, whose
    foreign-key checks would each cost a query). Lists and search results are not recorded.
    """
    return audit_event_record(actor=actor, action=AuditAction.VIEW, obj=customer, detail={"route": route, "via": via})


def vehicle_view_record(*, actor, vehicle: Vehicle, customer_ids, route: str, via: str = "ui"):
    """Audit that `actor` opened one vehicle's file, which names its owners: one `view` event on the vehicle with
    the ids of the customers it shows (`customer_ids`, already loaded by the caller). One INSERT, as above."""
    detail = {"route": route, "via": via, "customer_ids": sorted({int(pk) for pk in customer_ids})}
    return audit_event_record(actor=actor, action=AuditAction.VIEW, obj=vehicle, detail=detail)


# Fields of `keep` filled from `merge` when blank on `keep` (phones are handled separately).
_MERGE_FILL_FIELDS = ("address", "region", "birthday", "background", "contact_person", "contact_phone", "dms_code")


def customer_merge(*, actor, keep: Customer, merge: Customer) -> Customer:
    """Merge the duplicate file `merge` into `keep` (same store only), in one transaction.

    Moves ownerships (and so vehicles and their mileage history), repair orders, deliveries and policies to
    `keep`; fills `keep`'s blank fields from `merge` (a different mobile goes to the empty second phone); an
    opt-out on either file wins for consent; `merge` becomes inactive with `merged_into=keep` (never deleted).
    If both owned the same vehicle, back-to-back (or overlapping) ownerships of `keep` are joined into one, so
    the vehicle keeps exactly one current owner. Audited on both files (field names and ids only).
    """
    from aftercare.customers.models import InsurancePolicy, RepairOrder, SalesDelivery

    if keep.pk == merge.pk:
        raise ValidationError({"merge": _("A customer cannot be merged into itself.")})
    if keep.store_id != merge.store_id:
        raise ValidationError(
            {"merge": _("Customers of different stores cannot be merged; each store keeps its own files.")}
        )
    with transaction.atomic():
        locked = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[keep.pk, merge.pk])}
        if len(locked) != 2:
            raise ValidationError({"merge": _("One of the customers no longer exists.")})
        keep, merge = locked[keep.pk], locked[merge.pk]
        for role, customer in (("keep", keep), ("merge", merge)):
            if not customer.is_active:
                raise ValidationError(
                    {role: _("Customer %(number)s was already merged into another file.") % {"number": customer.number}}
                )

        filled = _merge_fill_fields(keep, merge)
        if "dms_code" in filled:
            # The code moves to the kept file (unique per store), so later DMS imports find it there.
            Customer.objects.filter(pk=merge.pk).update(dms_code=None)
            merge.dms_code = None
        for flag in ("consent_service_calls", "consent_marketing"):
            if getattr(keep, flag) and not getattr(merge, flag):
                setattr(keep, flag, False)
                filled.append(flag)
        keep.full_clean()

        shared_vehicles = set(
            Ownership.objects.filter(customer=merge, vehicle__ownerships__customer=keep).values_list(
                "vehicle_id", flat=True
            )
        )
        moved = {
            "ownerships": Ownership.objects.filter(customer=merge).update(customer=keep),
            "repair_orders": RepairOrder.objects.filter(customer=merge).update(customer=keep),
            "deliveries": SalesDelivery.objects.filter(customer=merge).update(customer=keep),
            "policies": InsurancePolicy.objects.filter(customer=merge).update(customer=keep),
        }
        joined = _ownerships_join_runs(customer=keep, vehicle_ids=shared_vehicles)

        if filled:
            keep.save(update_fields=[*filled, "updated_at"])
            _consents_record(actor=actor, customer=keep, fields=filled, source=ConsentSource.STAFF, note="merge")
        merge.is_active = False
        merge.merged_into = keep
        merge.save(update_fields=["is_active", "merged_into", "updated_at"])
        # Files merged into `merge` earlier now point at the surviving file.
        Customer.objects.filter(merged_into=merge).update(merged_into=keep)

        detail = {"kept_id": keep.pk, "merged_id": merge.pk, "moved": moved, "joined_ownership_ids": joined}
        audit_event_record(actor=actor, action=AuditAction.MERGE, obj=keep, changed_fields=filled, detail=detail)
        audit_event_record(
            actor=actor, action=AuditAction.MERGE, obj=merge, changed_fields=["is_active", "merged_into"],
            detail=detail,
        )
    return keep


def _merge_fill_fields(keep: Customer, merge: Customer) -> list[str]:
    """Copy `merge`'s values into `keep`'s blank fields; returns the names of the fields filled."""
    filled = []
    phones = [p for p in (merge.mobile, merge.mobile2) if p and p not in (keep.mobile, keep.mobile2)]
    for slot in ("mobile", "mobile2"):
        if not getattr(keep, slot) and phones:
            setattr(keep, slot, phones.pop(0))
            filled.append(slot)
    for name in _MERGE_FILL_FIELDS:
        value = getattr(merge, name)
        if getattr(keep, name) in (None, "") and value not in (None, ""):
            setattr(keep, name, value)
            filled.append(name)
    return filled


def _ownerships_join_runs(*, customer: Customer, vehicle_ids: set[int]) -> list[int]:
    """Join back-to-back or overlapping ownerships of `customer` on each vehicle into the earliest row.

    Returns the ids of the rows joined away (deleted; their period now lies in the kept row). Two queries plus
    one bulk update and one delete, whatever the number of vehicles.
    """
    if not vehicle_ids:
        return []
    rows = list(
        Ownership.objects.select_for_update()
        .filter(vehicle_id__in=vehicle_ids)
        .order_by("vehicle_id", "valid_from", "id")
    )
    changed: dict[int, Ownership] = {}
    drop_ids: list[int] = []
    run: Ownership | None = None
    for row in rows:
        if run is not None and run.vehicle_id == row.vehicle_id and run.customer_id == row.customer_id == customer.pk:
            if run.valid_to is not None and (row.valid_to is None or row.valid_to > run.valid_to):
                run.valid_to = row.valid_to
                changed[run.pk] = run
            drop_ids.append(row.pk)
            continue
        run = row
    if not drop_ids:
        return []
    # Delete first: the kept row may become the open one, and only one open row per vehicle is allowed.
    Ownership.objects.filter(pk__in=drop_ids).delete()
    now = timezone.now()
    for row in changed.values():
        row.updated_at = now
    Ownership.objects.bulk_update(list(changed.values()), ["valid_to", "updated_at"])
    return drop_ids


# ---- channels: consent by purpose (PIPL) ----
_PURPOSE_OF_FIELD = {field: purpose for purpose, field in CONSENT_FIELDS.items()}


def _consents_record(*, actor, customer: Customer, fields, source: str, note: str = "", signal: bool = True
                     ) -> None:
    """History rows (and, unless `signal` is off, `consent_changed`) for the consent flags among `fields` whose new
    value `customer` holds; called inside the writer's transaction."""
    now = timezone.now()
    for field in fields:
        purpose = _PURPOSE_OF_FIELD.get(field)
        if purpose is None:
            continue
        granted = bool(getattr(customer, field))
        ConsentChange.objects.create(
            store_id=customer.store_id, customer=customer, purpose=purpose, granted=granted, source=source, at=now,
            by=actor if actor is not None and getattr(actor, "is_authenticated", False) else None, note=note,
        )
        if signal:
            consent_changed.send(
                sender=Customer, actor=actor, customer=customer, purpose=purpose, granted=granted, source=source
            )


def consent_set(*, actor, customer: Customer, purpose: str, granted: bool, source: str, note: str = "") -> bool:
    """Give or withdraw `customer`'s consent of `purpose` (service / marketing), with its `source` (import, staff,
    customer reply, link, api) — the one way consent changes. A change writes a `ConsentChange`, an audit event
    and `consent_changed` (on a withdrawal of marketing consent the follow-ups app cancels the customer's pending
    marketing tasks and messages), in one transaction. Returns whether the consent changed; a withdrawal that
    changes nothing still cancels what is pending."""
    errors = {}
    if purpose not in CONSENT_FIELDS:
        errors["purpose"] = [gettext("Unknown consent purpose.")]
    if source not in ConsentSource.values:
        errors["source"] = [gettext("Unknown consent source.")]
    if errors:
        raise ValidationError(errors)
    field = CONSENT_FIELDS[ConsentPurpose(purpose)]
    granted = bool(granted)
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        changed = getattr(locked, field) != granted
        setattr(customer, field, granted)
        if changed:
            Customer.objects.filter(pk=customer.pk).update(**{field: granted, "updated_at": timezone.now()})
            audit_event_record(
                actor=actor, action=AuditAction.UPDATE, obj=customer, changed_fields=[field],
                detail={"purpose": purpose, "granted": granted, "source": source},
            )
            _consents_record(actor=actor, customer=customer, fields=[field], source=source, note=note)
        elif not granted:
            consent_changed.send(
                sender=Customer, actor=actor, customer=customer, purpose=purpose, granted=False, source=source
            )
    return changed
# ---- end channels ----
