"""Scoped reads of the care app: every selector takes the acting user and reads only the stores they may see."""


# ---- churn: scoped reads of the churn-risk score ----


def _churn_store_ids(user, store_ids=None) -> frozenset[int]:
    from aftercare.org.permissions import CARE_MANAGE, has_perm
    from aftercare.org.scoping import visible_store_ids

    if not has_perm(user, CARE_MANAGE):
        return frozenset()
    visible = visible_store_ids(user)
    return visible if store_ids is None else visible & frozenset(store_ids)


def churn_risk_list(*, user, store_ids=None):
    """The scored customers of the stores in scope, highest risk first (with customer and store)."""
    from .models import CareProfile

    return (CareProfile.objects.filter(store_id__in=_churn_store_ids(user, store_ids), churn_risk__isnull=False)
            .select_related("customer", "store").order_by("-churn_risk", "customer_id"))


def churn_risk_distribution(*, user, store_ids=None) -> list[int]:
    """How many scored customers fall in each 10 % band of risk (0–10 %, …, 90–100 %), in one query."""
    from django.db.models import Count, IntegerField, Q

    from .models import CareProfile

    qs = CareProfile.objects.filter(store_id__in=_churn_store_ids(user, store_ids), churn_risk__isnull=False)
    counts = qs.aggregate(**{
        f"b{i}": Count("id", filter=Q(churn_risk__gte=i / 10) & (Q(churn_risk__lt=(i + 1) / 10) if i < 9 else Q()),
                       output_field=IntegerField())
        for i in range(10)
    })
    return [counts[f"b{i}"] or 0 for i in range(10)]


def churn_profile_for(*, customer):
    """The care profile of a customer the caller already may see (the 360 page's customer), or None."""
    from .models import CareProfile

    return CareProfile.objects.filter(customer_id=customer.pk, store_id=customer.store_id).first()


def churn_model_latest():
    """The newest trained churn-risk model row (group-wide), or None."""
    from .models import ChurnModel

    return ChurnModel.objects.defer("model").order_by("-trained_at", "-id").first()


# ---- end churn ----
