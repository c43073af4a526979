"""What the org app tells the apps above it (they connect their receivers in `AppConfig.ready()`).

Org knows no follow-up rule or complaint setting: it sends these signals and the higher apps answer. Sent with
`Signal.send` (not `send_robust`) inside the writer's transaction, so a receiver that raises rolls the write back.
"""

from django.dispatch import Signal

# A store was created (in admin or through `org.services.store_create`). Sent inside the creating transaction,
# after the store row is saved, so receivers may write rows of the new store (followups seeds its default rules).
# Arguments: sender (the Store class), store, actor (the user who created it, or None).
store_created = Signal()
