"""Signals of the appointments app, sent by its booking services (`services/booking.py`) inside their transaction:

- `booking_created(booking, actor)`: a booking was made (the confirmation SMS and the parts department's notice
  follow, `receivers.py`).
- `booking_freed(booking, store_id, start_at, actor)`: a booking let go of its slots at `start_at` (cancelled, or
  moved to another start): the waitlist of that day may be offered a freed start (`services/waitlist.py`).
"""

from django.dispatch import Signal

booking_created = Signal()
booking_freed = Signal()
