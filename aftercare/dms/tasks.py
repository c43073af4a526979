"""Background work of the DMS import (run by `manage.py db_worker`)."""

from django_tasks import task

from .models import ImportBatch
from .readers import ImportFileError


@task()
def import_batch_process(batch_id: int) -> dict:
    """Run an uploaded import; a file error is recorded on the batch, not raised."""
    from .services import import_batch_run

    batch = ImportBatch.objects.get(pk=batch_id)
    try:
        import_batch_run(batch=batch)
    except ImportFileError:
        batch.refresh_from_db()
    return {
        "status": batch.status,
        "created": batch.created_count,
        "updated": batch.updated_count,
        "unchanged": batch.unchanged_count,
        "rejected": batch.rejected_count,
    }
