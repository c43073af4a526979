"""Helpers for views and selectors that know nothing of stores."""

from django.http import Http404


def get_scoped_or_404(queryset, **lookup):
    """`queryset` must already be scoped; anything outside it answers 404."""
    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
