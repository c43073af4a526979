"""Renewal pages. Thin: parse, check permission, call a selector or service, render."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from aftercare.core.exports import XLSX_CONTENT_TYPE, attachment_header
from aftercare.org.calendar import business_date
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import current_store_ids, own_store_ids, store_for_write

from . import selectors
from .forms import RenewalSheetImportForm
from .services import sheets

# ---- the follow-up sheet (sheets): export and import -----------------------------------------------------------


@login_required
def renewal_export(request):
    """The list as filtered on the list page (`month`, `segment`, `state`, `holder`, `store`) as the follow-up
    sheet (XLSX; scoped, audited). A malformed filter answers 400 naming it."""
    require_perm(request.user, Perm.RENEWAL_WORK)
    try:
        cases = selectors.renewal_case_filter(
            user=request.user, params=request.GET, store_ids=current_store_ids(request.user, request)
        )
    except ValidationError as exc:
        message = "; ".join(f"{name}: {'; '.join(errors)}" for name, errors in exc.message_dict.items())
        return render(request, "errors/page.html",
                      {"status": 400, "title": _("Bad filter"), "message": message}, status=400)
    filters = {name: request.GET.get(name, "")[:40] for name in selectors.CASE_FILTERS}
    content = sheets.renewal_sheet_export_xlsx(actor=request.user, cases=cases, filters=filters)
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = attachment_header(f"renewals-{business_date():%Y%m%d}.xlsx")
    return response


@login_required
def renewal_import(request):
    """Upload a store's current follow-up sheet; the result (rows imported, errors by row and column) below."""
    require_perm(request.user, Perm.RENEWAL_MANAGE)
    store_ids = own_store_ids(request.user)
    form = RenewalSheetImportForm(request.POST or None, request.FILES or None, user_store_ids=store_ids)
    result = None
    if request.method == "POST" and form.is_valid():
        store = store_for_write(request.user, form.cleaned_data["store"].pk)
        upload = form.cleaned_data["file"]
        result = sheets.renewal_sheet_import(actor=request.user, store=store, file=upload, filename=upload.name)
        if result.file_error:
            form.add_error("file", result.file_error)
    status = 400 if request.method == "POST" and (form.errors or (result and result.file_error)) else 200
    return render(request, "renewals/sheet_import.html",
                  {"form": form, "result": result, "columns": sheets.import_columns_help()}, status=status)
