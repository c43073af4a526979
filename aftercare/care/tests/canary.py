"""Care rows of a foreign store for the project-wide scoping walker (aftercare/core/tests/test_scoping.py). Each
part of the care app plants its rows in its own block; every one carries the canary, none may ever show."""

from decimal import Decimal

from aftercare.testing import factories as f


def plant(store, canary) -> dict:
    rows: dict = {}
    # ---- churn: a scored customer at the top of the risk list ----
    from aftercare.care.models import CareProfile

    churn_customer = f.CustomerFactory(store=store, name=f"{canary}-churn", address=canary)
    CareProfile.objects.create(store=store, customer=churn_customer, churn_risk=0.99, distance_km=Decimal("99"),
                               churn_reasons=["complaints_6m:+"])
    rows["churn_customer"] = churn_customer
    # ---- end churn ----
    return rows
