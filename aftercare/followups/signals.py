"""What a follow-up call tells the apps above it (they connect their receivers in `AppConfig.ready()`).

Sent with `Signal.send` inside the call's transaction: a receiver that raises (a `ValidationError` about the
feedback, say) rolls the call back with it, and the caller sees the error.
"""

from django.dispatch import Signal

# Something the customer said on a call is to be recorded as feedback. Sent inside the call's transaction.
# Arguments: sender (the CallLog class), actor, call (the CallLog), task (FollowupTask or None for an inbound
# call), sheet (AnswerSheet or None), inbound (bool), customer, vehicle (or None) and `feedback`, a dict:
# kind, severity, category, department, text (as the call screen's feedback box gives them).
call_feedback_given = Signal()

# A specialist claimed a task (from the queue or by a manager's assignment). Sent inside the claim's transaction,
# so a receiver that raises (`TaskAlreadyClaimed`: the renewal case is held by someone else) refuses the claim.
# Arguments: sender (the FollowupTask class), task (as claimed), actor (who claimed or assigned), holder (the user
# now holding it).
task_claimed = Signal()
