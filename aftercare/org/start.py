"""The start page ("today", `/today/`): cards that the apps register, shown per role (NetBox's dashboard widgets,
much simpler: no layout, no per-user configuration).

An app describes a card once, in its `AppConfig.ready()`:

    register_card(StartCard(key="followups.my_calls", title=_("My calls"), order=10,
                            permission=Perm.FOLLOWUP_CALL, roles=(Role.CS_SPECIALIST,), data=my_calls))

`data(user=, store_ids=, now=)` answers a `CardData`: rows of (label, count, url, severity), counted in one or a
few aggregate queries over the stores given (already scoped and narrowed by the store switcher). Every count
links to the list that shows exactly those rows. Org owns the page (`views.start`) and knows no card.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from .permissions import has_perm, role_of

SEVERITIES = ("", "info", "warning", "danger")


def list_url(name: str, **params) -> str:
    """A card row's link: the list page `name` with the filters that show exactly the row's rows."""
    return reverse(name) + (f"?{urlencode(params)}" if params else "")


@dataclass(frozen=True)
class CardRow:
    """One number of a card; `url` opens the list of exactly these rows."""

    label: Any  # a (lazy) translated string
    count: int
    url: str
    severity: str = ""  # "" | info | warning | danger (shown only when count > 0)
    display: str = ""  # a figure shown instead of the count (a KPI row: "92.5%"); the count is then 0
    judge: Any = None  # a KPI row's `org.selectors.Judgement` (target, gap, met / missed / running)

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}")


@dataclass(frozen=True)
class CardData:
    rows: tuple[CardRow, ...]

    @property
    def total(self) -> int:
        return sum(row.count for row in self.rows)


@dataclass(frozen=True)
class StartCard:
    """A card of the start page. Shown to users whose role is in `roles` (None: any role) and who hold `permission`
    (None: anyone signed in), in ascending `order`."""

    key: str
    title: Any
    data: Callable[..., CardData]  # (user=, store_ids=, now=) -> CardData
    order: int = 100
    permission: str | None = None
    roles: Iterable[str] | None = None

    def visible_to(self, user) -> bool:
        if self.roles is not None and role_of(user) not in set(self.roles):
            return False
        return self.permission is None or has_perm(user, self.permission)


_cards: dict[str, StartCard] = {}


def register_card(card: StartCard) -> None:
    """Add (or replace, by key) a start-page card."""
    _cards[card.key] = card


def unregister_card(key: str) -> None:
    """Remove a card (tests)."""
    _cards.pop(key, None)


def cards_for(user) -> list[StartCard]:
    """The cards `user` may see, in order."""
    return sorted((c for c in _cards.values() if c.visible_to(user)), key=lambda c: (c.order, c.key))


def start_cards(*, user, store_ids, now) -> list[tuple[StartCard, CardData]]:
    """Every card `user` sees, with its numbers for `store_ids` at `now`."""
    return [(card, card.data(user=user, store_ids=frozenset(store_ids), now=now)) for card in cards_for(user)]
