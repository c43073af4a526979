"""The pages a measure's figure drills down to (`kpis.Drill`): each app's list of the rows a figure counts, read
the same way — a filter form of months, store and what is counted (`followups.forms.MeasureRowsForm`), the store
narrowed to the user's scope (another store's id answers 404), a page of rows, 400 with the field's error for a bad
filter. The page template extends `_drill_list.html`."""

import datetime as dt
from collections.abc import Callable

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.shortcuts import render

from .scoping import narrowed_store_ids

PAGE_SIZE = 50

# (the form's cleaned data, the stores in scope, first day, day after the last) -> the rows
RowsFor = Callable[[dict, frozenset[int], dt.date, dt.date], QuerySet]


def drill_list_page(request, form_class, rows_for: RowsFor, template: str, context: dict | None = None,
                    page_size: int = PAGE_SIZE):
    """Render `template` with `form` (bound to the query string), `page` (None until the filter is valid) and
    `context`; 400 when the bound filter has errors."""
    form = form_class(request.GET or None)
    page = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        store_ids = narrowed_store_ids(request.user, data.get("store"), request=request)
        since, until = form.period()
        page = Paginator(rows_for(data, store_ids, since, until), page_size).get_page(request.GET.get("page"))
    status = 400 if form.is_bound and form.errors else 200
    return render(request, template, {"form": form, "page": page, **(context or {})}, status=status)
