"""SMS backends. Production plugs a carrier gateway behind the same `send` interface."""

import json
import sys
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
