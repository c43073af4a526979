"""The dealer scorecard and the parts-shipment months (docs/quality.md, "Dealer scorecard")."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from aftercare.core.exports import XLSX_CONTENT_TYPE, attachment_header, xlsx_bytes
from aftercare.core.forms import bound_data
from aftercare.org.calendar import business_date, month_add
from aftercare.org.permissions import Perm, has_perm, require_perm

from . import selectors_scorecard as selectors
from .forms_scorecard import ScorecardForm, ShipmentImportForm
from .services.shipments import import_columns_help, parts_shipments_import

PAGE_SIZE = 50


def _fmt(value) -> str:
    return "—" if value is None else str(value)


def _xlsx(card) -> HttpResponse:
    header = [_("Rank"), _("Store"), _("Score")]
    for m in card.measures:
        header += [str(m.name), _("Target"), _("Rank")]
    rows = []
    for row in card.rows:
        line = [row.rank, row.store.code, row.score]
        for cell in row.cells:
            line += [cell.value, cell.judgement.target.value if cell.judgement.target else None, cell.rank]
        rows.append(line)
    content, _n = xlsx_bytes(_("Dealer scorecard"), header, rows)
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = attachment_header(f"scorecard-{card.month:%Y-%m}.xlsx")
    return response


@login_required
def scorecard(request):
    """Every store the user sees, one month: key measures against target, ranked; `?format=xlsx` exports it."""
    require_perm(request.user, Perm.QUALITY_VIEW)
    form = ScorecardForm(request.GET or None)
    today = business_date()
    month = (form.cleaned_data.get("month") if form.is_valid() else None) or today.replace(day=1)
    card = selectors.scorecard_month(user=request.user, month=month, today=today)
    if request.GET.get("format") == "xlsx":
        return _xlsx(card)
    return render(request, "quality/scorecard/page.html", {
        "form": form, "card": card, "previous": month_add(card.month, -1), "next": month_add(card.month, 1),
        "may_import": has_perm(request.user, Perm.QUALITY_MANAGE),
    }, status=200 if form.is_valid() or not request.GET else 400)


@login_required
def shipments(request):
    """The parts-shipment months of the stores in scope, and (a quality manager) the import of the carmaker's file."""
    require_perm(request.user, Perm.QUALITY_VIEW)
    may_import = has_perm(request.user, Perm.QUALITY_MANAGE)
    form = result = None
    status = 200
    if may_import:
        form = ShipmentImportForm(**bound_data(request))
        if request.method == "POST":
            if form.is_valid():
                upload = form.cleaned_data["file"]
                result = parts_shipments_import(actor=request.user, file=upload, filename=upload.name)
                if result.ok:
                    messages.success(request, _("Rows added: %(created)s; rows updated: %(updated)s.")
                                     % {"created": result.created, "updated": result.updated})
                    return redirect("quality:shipments")
                if result.file_error:
                    form.add_error("file", result.file_error)
            status = 400
    elif request.method == "POST":
        require_perm(request.user, Perm.QUALITY_MANAGE)
    page = Paginator(selectors.parts_shipment_list(user=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "quality/scorecard/shipments.html", {
        "form": form, "result": result, "page": page, "columns": import_columns_help(),
    }, status=status)
