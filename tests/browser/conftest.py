"""The browser tests' Chromium, and a Content-Security-Policy guard on every page they open.

Every context made from the `browser` fixture (and the `page` fixture's) reports `securitypolicyviolation` events and
the console's CSP messages ("Refused to execute inline script …"); a test whose pages caused any fails, listing
them. The policy itself is `settings.CONTENT_SECURITY_POLICY` (no inline script or style, no eval).
"""

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the live server's ORM calls are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Runs in every page before its own scripts: a violation becomes a console line the guard reads.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("[csp-violation] " + e.effectiveDirective + " blocked " + (e.blockedURI || "inline") + " at "
    + e.sourceFile + ":" + e.lineNumber + " sample " + JSON.stringify(e.sample || ""));
}, true);
"""


class CspGuard:
    """Collects the CSP violations, console errors and uncaught errors of every page of the contexts it watches."""

    def __init__(self):
        self.violations: list[str] = []
        self.errors: list[str] = []
        self.contexts = []

    def watch(self, context):
        self.contexts.append(context)
        context.add_init_script(REPORT_VIOLATIONS)
        context.on("console", self._on_console)
        context.on("page", lambda page: page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}")))
        return context

    def _on_console(self, message):
        text = message.text
        where = message.page.url if message.page else "?"
        if "[csp-violation]" in text or "Content Security Policy" in text:
            self.violations.append(f"{where}: {text}")
        elif message.type == "error":
            self.errors.append(f"{where}: {text}")

    def flush(self):
        """Lets Playwright deliver the events still queued for open pages."""
        for context in self.contexts:
            for page in list(getattr(context, "pages", [])):
                try:
                    page.title()  # a round trip to the browser (and no eval, which the policy forbids)
                except Exception:  # noqa: BLE001  a page or context already closed has nothing queued
                    pass

    def check(self):
        self.flush()
        if self.violations:
            lines = "\n".join(self.violations + [f"(console error) {e}" for e in self.errors])
            raise AssertionError(f"Content-Security-Policy violations in the pages:\n{lines}")


class GuardedBrowser:
    """The Playwright browser, with the guard on each new context."""

    def __init__(self, browser, guard):
        self._browser = browser
        self._guard = guard

    def new_context(self, **kwargs):
        return self._guard.watch(self._browser.new_context(**kwargs))

    def new_page(self, **kwargs):
        return self.new_context(**kwargs).new_page()

    def __getattr__(self, name):
        return getattr(self._browser, name)


@pytest.fixture
def csp_guard():
    return CspGuard()


@pytest.fixture
def browser(csp_guard):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield GuardedBrowser(chromium, csp_guard)
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def _until(page, condition, seconds: float = 15) -> None:
    """Wait (polling the database) until `condition()` holds: the page's request has been saved."""
    for _ in range(int(seconds * 10)):
        if condition():
            return
        page.wait_for_timeout(100)
    raise AssertionError("the page's request was not saved in time")


def _login(page, url: str, username: str) -> None:
    """Sign `username` in (password "password") on the live server at `url`."""
    page.goto(f"{url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "password")
    page.click("main button[type=submit]")
    page.wait_for_load_state()


@pytest.fixture
def until():
    """`until(page, condition, seconds=15)`: wait, polling the database, until `condition()` holds."""
    return _until


@pytest.fixture
def login():
    """`login(page, live_server_url, username)`: sign a user in through the login page."""
    return _login


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A test that passed still fails when one of its pages violated the Content-Security-Policy."""
    result = yield
    guard = item.funcargs.get("csp_guard")
    if guard is not None:
        guard.check()
    return result
