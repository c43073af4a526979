"""SMS backends. Production plugs a carrier gateway behind the same `send` interface."""

import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string


class BaseBackend:
    def send(self, *, to: str, text: str) -> None:
        raise NotImplementedError


class ConsoleBackend(BaseBackend):
    def send(self, *, to: str, text: str) -> None:
        sys.stdout.write(f"SMS to {to}: {text}\n")


class FileBackend(BaseBackend):
    def send(self, *, to: str, text: str) -> None:
        path = Path(settings.SMS_FILE_PATH)
        path.mkdir(parents=True, exist_ok=True)
        with open(path / "outbox.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps({"to": to, "text": text, "at": timezone.now().isoformat()}, ensure_ascii=False) + "\n")


class LocmemBackend(BaseBackend):
    outbox: list[dict] = []

    def send(self, *, to: str, text: str) -> None:
        self.outbox.append({"to": to, "text": text})


def sms_send(*, to: str, text: str) -> None:
    import_string(settings.SMS_BACKEND)().send(to=to, text=text)


# Whose mobile is what: core keeps no phone numbers of users. The org app, which keeps them on the staff records,
# registers the lookup in its `AppConfig.ready()`; without one no user has a mobile and SMS is `skipped`.
_mobile_lookups: list[Callable[[Iterable[int]], dict[int, str]]] = []


def user_mobiles_register(lookup: Callable[[Iterable[int]], dict[int, str]]) -> None:
    """Set the lookup `user ids → {user id: mobile}` (users without a mobile left out)."""
    _mobile_lookups[:] = [lookup]


def user_mobiles(user_ids: Iterable[int]) -> dict[int, str]:
    return _mobile_lookups[0](user_ids) if _mobile_lookups else {}
