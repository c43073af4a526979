"""WeChat service-account template messages (微信服务号模板消息). Backends like the SMS ones (`core/sms.py`),
chosen by `WECHAT_BACKEND`; production uses `HttpBackend`, which speaks the official API:

- `GET {WECHAT_API_BASE}/cgi-bin/token?grant_type=client_credential&appid=…&secret=…` → `access_token`,
  `expires_in` (kept in the cache until a few minutes before it expires);
- `POST {WECHAT_API_BASE}/cgi-bin/message/template/send?access_token=…` with `touser` (the openid),
  `template_id`, `url` and `data` (`{key: {"value": …}}`) → `errcode` 0 and `msgid`.

A token the API calls expired or invalid (errcode 40001, 40014, 42001) is fetched again and the message sent
once more; any other non-zero errcode raises `WechatError` naming it. `WECHAT_API_BASE` is a setting so the tests
point it at a local fake server.
"""

import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.module_loading import import_string

TOKEN_CACHE_KEY = "aftercare.wechat.access_token"
TOKEN_ERRORS = {40001, 40014, 42001}


class WechatError(Exception):
    def __init__(self, errcode: int, errmsg: str = ""):
        self.errcode, self.errmsg = errcode, errmsg
        super().__init__(f"WeChat error {errcode}: {errmsg}")


class BaseBackend:
    def send(self, *, openid: str, template_id: str, data: dict, url: str = "") -> str:
        """Send one template message; returns the message id."""
        raise NotImplementedError


class ConsoleBackend(BaseBackend):
    def send(self, *, openid: str, template_id: str, data: dict, url: str = "") -> str:
        sys.stdout.write(f"WeChat to {openid} ({template_id}): {json.dumps(data, ensure_ascii=False)}\n")
        return ""


class FileBackend(BaseBackend):
    def send(self, *, openid: str, template_id: str, data: dict, url: str = "") -> str:
        path = Path(settings.WECHAT_FILE_PATH)
        path.mkdir(parents=True, exist_ok=True)
        row = {"touser": openid, "template_id": template_id, "url": url, "data": data, "at": timezone.now().isoformat()}
        with open(path / "outbox.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        return ""


class LocmemBackend(BaseBackend):
    outbox: list[dict] = []

    def send(self, *, openid: str, template_id: str, data: dict, url: str = "") -> str:
        self.outbox.append({"touser": openid, "template_id": template_id, "url": url, "data": data})
        return str(len(self.outbox))


class HttpBackend(BaseBackend):
    """The official API over HTTPS (urllib: no extra dependency)."""

    def _call(self, path: str, *, query: dict, body: dict | None = None) -> dict:
        url = f"{settings.WECHAT_API_BASE.rstrip('/')}{path}?{urllib.parse.urlencode(query)}"
        data = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else None
        request = urllib.request.Request(url, data=data, method="POST" if body is not None else "GET")
        request.add_header("Content-Type", "application/json; charset=utf-8")
        try:
            with urllib.request.urlopen(request, timeout=settings.WECHAT_TIMEOUT_SECONDS) as response:
                answer = json.loads(response.read().decode("utf-8") or "{}")
        except (urllib.error.URLError, TimeoutError, ValueError) as exc:
            raise WechatError(-1, f"{type(exc).__name__}: {exc}") from exc
        return answer if isinstance(answer, dict) else {}

    def token(self, *, refresh: bool = False) -> str:
        token = None if refresh else cache.get(TOKEN_CACHE_KEY)
        if token:
            return token
        answer = self._call(
            "/cgi-bin/token",
            query={"grant_type": "client_credential", "appid": settings.WECHAT_APP_ID,
                   "secret": settings.WECHAT_APP_SECRET},
        )
        if not answer.get("access_token"):
            raise WechatError(int(answer.get("errcode") or -1), str(answer.get("errmsg") or "no access_token"))
        expires = max(int(answer.get("expires_in") or 7200) - 300, 60)
        cache.set(TOKEN_CACHE_KEY, answer["access_token"], expires)
        return answer["access_token"]

    def send(self, *, openid: str, template_id: str, data: dict, url: str = "") -> str:
        body = {"touser": openid, "template_id": template_id, "data": data}
        if url:
            body["url"] = url
        for refresh in (False, True):
            answer = self._call("/cgi-bin/message/template/send", query={"access_token": self.token(refresh=refresh)},
                                body=body)
            errcode = int(answer.get("errcode") or 0)
            if errcode == 0:
                return str(answer.get("msgid", ""))
            if errcode not in TOKEN_ERRORS or refresh:
                raise WechatError(errcode, str(answer.get("errmsg", "")))
        raise AssertionError("unreachable")


def wechat_send(*, openid: str, template_id: str, data: dict, url: str = "") -> str:
    return import_string(settings.WECHAT_BACKEND)().send(openid=openid, template_id=template_id, data=data, url=url)
