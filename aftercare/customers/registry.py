"""Lookups a higher app fills in its `AppConfig.ready()` so that a peer can read its data without importing it.

Bookings (issue 18, reminders' effectiveness): the appointments app registers a lookup of when bookings were made;
the care app asks when bookings were made for some vehicles in a period. No lookup registered (appointments not
installed): none booked.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable

# (vehicle_ids, since, until) -> [(vehicle_id, made_at), …] of the bookings made in [since, until), not cancelled
BookingsLookup = Callable[[list[int], dt.datetime, dt.datetime], Iterable[tuple[int, dt.datetime]]]

_bookings_lookups: list[BookingsLookup] = []


def register_bookings_lookup(fn: BookingsLookup) -> None:
    """Add a bookings lookup; registering the same function twice keeps one."""
    if fn not in _bookings_lookups:
        _bookings_lookups.append(fn)


def bookings_made_at(vehicle_ids: Iterable[int], since: dt.datetime, until: dt.datetime) -> dict[int, list]:
    """When bookings were made for the vehicles of `vehicle_ids` in `[since, until)`: vehicle id → instants."""
    ids = list(vehicle_ids)
    out: dict[int, list] = defaultdict(list)
    if not ids:
        return out
    for fn in _bookings_lookups:
        for vehicle_id, made_at in fn(ids, since, until):
            out[vehicle_id].append(made_at)
    return out
