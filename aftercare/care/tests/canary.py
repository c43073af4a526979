"""Care rows of a foreign store for the project-wide scoping walker (aftercare/core/tests/test_scoping.py); every
part of the care app adds its rows in its own block of `plant`."""

from decimal import Decimal

from aftercare.testing import factories as f


def plant(store, canary) -> dict:
    rows = {}
    rows.update(_plant_classes(store, canary))
    rows.update(_plant_churn(store, canary))
    return rows


# ---- classes: a lost customer with its profile, class history and churn reason ----


def _plant_classes(store, canary) -> dict:
    import datetime as dt

    from aftercare.care.models import CareProfile, ChurnReason, ClassChange

    customer = f.CustomerFactory(store=store, name=f"{canary}-cls", address=canary)
    today = dt.date.today()
    profile = CareProfile.objects.create(store=store, customer=customer, customer_class="lost", lost_rule="no_visit",
                                         class_since=today, classified_on=today, visits_12m=1, spend_12m=4321)
    ClassChange.objects.create(store=store, customer=customer, from_class="regular", to_class="lost",
                               rule="no_visit", on_date=today)
    reason = ChurnReason.objects.create(store=store, customer=customer, reason="other", note=canary,
                                        recorded_on=today)
    return {"care_profile": profile, "churn_reason": reason, "class_customer": customer}


# ---- end classes ----


# ---- churn: a scored customer at the top of the risk list ----


def _plant_churn(store, canary) -> dict:
    from aftercare.care.models import CareProfile

    churn_customer = f.CustomerFactory(store=store, name=f"{canary}-churn", address=canary)
    CareProfile.objects.create(store=store, customer=churn_customer, churn_risk=0.99, distance_km=Decimal("99"),
                               churn_reasons=["complaints_6m:+"])
    return {"churn_customer": churn_customer}


# ---- end churn ----
