"""The renewal pages' addresses for the start page, the customer 360 and the call screen: by URL name when the
renewal pages are mounted (`renewals:list`, `renewals:detail`), else the paths they are mounted at."""

from urllib.parse import urlencode

from django.urls import NoReverseMatch, reverse


def case_list_url(**params) -> str:
    """The renewal list (`/renewals/`) with `params` as its filters (e.g. `due=today`)."""
    try:
        base = reverse("renewals:list")
    except NoReverseMatch:
        base = "/renewals/"
    return base + (f"?{urlencode(params)}" if params else "")


def case_url(pk: int) -> str:
    """A renewal case's page (`/renewals/<id>/`), where its contacts and outcome are recorded."""
    try:
        return reverse("renewals:detail", args=[pk])
    except NoReverseMatch:
        return f"/renewals/{int(pk)}/"
