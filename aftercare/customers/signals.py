"""What happens to customers' records that the apps above may answer (receivers connected in their
`AppConfig.ready()`).

Sent with `Signal.send` inside the writing transaction: a receiver writes in that transaction, and one that
raises rolls the write back.
"""

from django.dispatch import Signal

# Rows of one kind ("customers", "vehicles", "deliveries", "repair_orders", …, as `aftercare.dms` names its import
# kinds) were written in bulk for `store_id`: sent once per written chunk of an import, never on a dry run.
# Arguments: sender, store_id, kind.
records_imported = Signal()

# ---- channels: consent ----
# A customer's consent of one purpose changed (`customers.services.consent_set`), inside its transaction.
# Arguments: sender, actor, customer, purpose ("service" / "marketing"), granted, source. The follow-ups app
# cancels the customer's pending marketing tasks and messages when marketing consent is withdrawn.
consent_changed = Signal()
# ---- end channels ----
