"""The vehicles and customers an import has written, so that their later repair orders need no search in SQL."""

import itertools
import operator
import threading
from collections.abc import Iterable


class KnownVehicles:
    """Per import: the vehicles and customers its chunks have written, so that later orders need no search in SQL.

    (VIN, customer key) → (vehicle id, customer id), for vehicles the file can no longer change (stored, owned
    and with every vehicle column of the file filled, see `ChunkWriter._remember`). A later row with the same
    VIN and customer key is then a new repair order of a stored vehicle and customer, copied straight into
    the order table (`RowValidator.chunks` sorts them out, `ChunkWriter._copy_known` writes them).

    Keyed by one int: the VIN read as a base-36 number (exact, below 2**88) plus the customer key's 64-bit
    `hash()` (stable within the process) shifted above it; a wrong match needs the same VIN and two of its
    customer keys with the same hash. At most `limit` pairs (~130 bytes each: 250,000 ≈ 33 MB), so memory
    stays bounded whatever the file. Lookups go column-wise through C (`map`), not row by row in Python.
    """

    ID_BITS = 40
    ID_MASK = (1 << ID_BITS) - 1
    VIN_BITS = 88

    def __init__(self, limit: int = 250_000):
        self.limit = limit
        self.map: dict[int, int] = {}
        self.lock = threading.Lock()

    @classmethod
    def key(cls, vin: str, ckey: str) -> int:
        return int(vin, 36) ^ (hash(ckey) << cls.VIN_BITS)

    def ids(self, vin: str, ckey: str) -> tuple[int, int] | None:
        """(vehicle id, customer id) of a remembered VIN with this customer key, else None (`lookup` of one)."""
        packed = (self.lookup([vin], [ckey]) or [None])[0]
        return None if packed is None else (packed >> self.ID_BITS, packed & self.ID_MASK)

    def lookup(self, vins: Iterable[str], ckeys: Iterable[str]) -> list[int | None]:
        """The packed (vehicle id << 40 | customer id) of each (VIN, customer key), None where not remembered."""
        try:
            keys = map(
                operator.xor,
                map(int, vins, itertools.repeat(36)),
                map(operator.lshift, map(hash, ckeys), itertools.repeat(self.VIN_BITS)),
            )
            return list(map(self.map.get, keys))
        except (TypeError, ValueError):  # a VIN that is no base-36 number (not stored by this import): no lookups
            return []

    def add(self, entries: list[tuple[str, str, int, int]]) -> None:
        """Remember (VIN, customer key, vehicle id, customer id) after their chunk committed; the first one stays."""
        with self.lock:
            known = self.map
            room = self.limit - len(known)
            for vin, ckey, vehicle_id, customer_id in entries:
                if room <= 0:
                    return
                try:
                    key = self.key(vin, ckey)
                except (TypeError, ValueError):
                    continue
                if key in known or vehicle_id > self.ID_MASK or customer_id > self.ID_MASK:
                    continue
                known[key] = (vehicle_id << self.ID_BITS) | customer_id
                room -= 1
