"""Reads of the DMS import, scoped to the stores the acting user works in or oversees."""

from django.db.models import QuerySet

from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import get_scoped_or_404, visible_store_ids

from .models import ImportBatch, ImportRowError


def import_batch_list(*, user, store_ids=None) -> QuerySet[ImportBatch]:
    """Past imports of the user's stores, newest first."""
    require_perm(user, Perm.DMS_IMPORT)
    ids = visible_store_ids(user)
    if store_ids is not None:
        ids = ids & frozenset(store_ids)
    return ImportBatch.objects.filter(store_id__in=ids).select_related("store", "created_by", "created_by__staff")


def import_batch_get(*, user, pk) -> ImportBatch:
    """One import of the user's stores, or 404."""
    return get_scoped_or_404(import_batch_list(user=user), pk=pk)


def import_row_error_list(*, user, batch: ImportBatch) -> QuerySet[ImportRowError]:
    """The rejected rows of a batch (already scoped by `import_batch_get`)."""
    require_perm(user, Perm.DMS_IMPORT)
    return ImportRowError.objects.filter(batch_id=batch.pk).order_by("row", "id")
