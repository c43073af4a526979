"""The churn-risk page for the CS manager (`care.manage`): the model's backtest, the active customers by risk
(scoped, paginated) and the distribution of risk."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from aftercare.core.charts import Series, bar_chart
from aftercare.core.htmx import render_partial_or_page
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import current_store_ids

from .. import selectors
from ..churnmodel import reason_labels, risk_band, risk_percent

PAGE_SIZE = 25


def risk_rows(scores) -> list:
    """Decorate scores for display: risk as %, band, translated reasons."""
    for p in scores:
        p.risk_percent = risk_percent(p.risk)
        p.band = risk_band(p.risk)
        p.reason_labels = reason_labels(p.reasons)
    return scores


@login_required
@require_GET
def churn_page(request):
    user = request.user
    require_perm(user, Perm.CARE_MANAGE)
    store_ids = current_store_ids(user, request)
    page = Paginator(selectors.churn_risk_list(user=user, store_ids=store_ids), PAGE_SIZE).get_page(
        request.GET.get("page"))
    risk_rows(page.object_list)
    counts = selectors.churn_risk_distribution(user=user, store_ids=store_ids)
    labels = [f"{i * 10}–{i * 10 + 10}%" for i in range(10)]
    chart = bar_chart(_("Active customers by churn risk"), labels, [Series(_("Customers"), counts)])
    model = selectors.churn_model_latest()
    context = {"page": page, "chart": chart, "model": model, "metrics": model.metrics if model else {},
               "scored": sum(counts), "multi_store": len(store_ids) > 1}
    return render_partial_or_page(request, "care/churn/page.html", "care/churn/_rows.html", context)
