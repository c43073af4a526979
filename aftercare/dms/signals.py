"""What an import tells the apps above it (they connect their receivers in `AppConfig.ready()`).

The rows themselves are announced by `aftercare.customers.signals.records_imported` (customers owns them, and
followups, a peer of dms, may not import dms); this module has what only an import knows.

The importer knows nothing of follow-up calls, repeat repairs or renewals: it sends these signals and the higher apps
answer. Both are sent with `Signal.send` (not `send_robust`), so a receiver that raises fails the import step
that sent it, and its transaction rolls back.
"""

from django.dispatch import Signal

# A repair-order import (not a dry run) wrote its last chunk; sent once per import, before the batch is marked done.
# Arguments: sender (the ImportBatch class), store_id, batch.
repair_orders_imported = Signal()

# A policy import (not a dry run) wrote its last chunk; sent once per import, before the batch is marked done.
# Arguments: sender (the ImportBatch class), store_id, batch.
policies_imported = Signal()
