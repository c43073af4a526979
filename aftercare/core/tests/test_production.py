"""Production settings: debug off by default, friendly error pages, security headers, `check --deploy` clean with
HTTPS=true, static files served by WhiteNoise with debug off, and no inline script or style left in a template."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client
from django.urls import path
from django.utils import translation
from django.utils.translation import gettext

from aftercare.org.choices import Role
from aftercare.urls import handler400, handler403, handler404, handler500  # noqa: F401  (this module is a URLconf)
from aftercare.urls import urlpatterns as base_urlpatterns

ROOT = Path(__file__).resolve().parents[3]
CHART_JS = ROOT / "aftercare" / "core" / "static" / "core" / "vendor" / "chartjs" / "chart.umd.min.js"
PROD_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "k" * 20 + "Zq9#xP2$vL7!mN4&tR8@wY3^bC6*hJ1%",
    "ALLOWED_HOSTS": "aftercare.example.com",
}


def _run_python(code: str, **env) -> subprocess.CompletedProcess:
    """Settings are read at import: each environment gets its own interpreter."""
    drop = {"DEBUG", "HTTPS", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}  # the last: async.E001
    clean = {k: v for k, v in os.environ.items() if k not in drop}
    clean.update(env, DJANGO_SETTINGS_MODULE="aftercare.settings")
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


# --- debug off --------------------------------------------------------------------------------------------------


def test_it_runs_with_debug_off_unless_asked():
    result = _run_python("import django; django.setup(); from django.conf import settings; print(settings.DEBUG)")
    assert result.stdout.strip() == "False", result.stderr


def _fake_project(tmp_path, python_body: str) -> Path:
    """A copy of scripts/run.sh in a project whose .venv/bin/python is the given shell script."""
    (tmp_path / "scripts").mkdir()
    script = tmp_path / "scripts" / "run.sh"
    script.write_text((ROOT / "scripts" / "run.sh").read_text())
    script.chmod(0o755)
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\n" + python_body)
    python.chmod(0o755)
    return script


def _run_sh(tmp_path, *args) -> list[str]:
    """scripts/run.sh where .venv/bin/python only writes down DEBUG and its arguments (and lives a second, so that
    every process has started before the first one ends and run.sh stops the rest)."""
    script = _fake_project(tmp_path, 'echo "DEBUG=$DEBUG $*" >> "$(dirname "$0")/calls"\nsleep 1\n')
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "WEB_WORKERS")}
    subprocess.run(["bash", str(script), *args], env=env, check=True, capture_output=True, timeout=60)
    return sorted((tmp_path / ".venv" / "bin" / "calls").read_text().splitlines())


WORKER = "manage.py db_worker --queue-name * --interval 1 --no-reload"


def test_it_starts_make_run_with_debug_off(tmp_path):
    assert _run_sh(tmp_path) == [
        "DEBUG=false -m gunicorn aftercare.wsgi -b 127.0.0.1:8000 -w 2 --access-logfile -",
        f"DEBUG=false {WORKER}",
        "DEBUG=false manage.py scheduler",
    ]
    # what `make run` runs, its `prepare` prerequisite included
    run = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "exec scripts/run.sh\n" in run and "DEBUG=true" not in run
    assert "collectstatic" in run and "scripts/ensure-system-packages.sh run" in run
    assert re.search(r"^gunicorn\b", (ROOT / "requirements.txt").read_text(), re.M)
    apt = (ROOT / "scripts" / "ensure-system-packages.sh").read_text()  # the PDFs' Chinese font, for run and test
    assert "fonts-noto-cjk" in apt and "libpango" in apt
    assert "scripts/ensure-system-packages.sh test" in (ROOT / "scripts" / "test.sh").read_text()


def test_it_starts_make_dev_with_debug_on_and_autoreload(tmp_path):
    assert _run_sh(tmp_path, "dev") == [
        f"DEBUG=true {WORKER}",
        "DEBUG=true manage.py runserver 127.0.0.1:8000",
        "DEBUG=true manage.py scheduler",
    ]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^dev:.*?scripts/run.sh dev$", makefile, re.M | re.S)


def test_it_stops_everything_it_started_on_ctrl_c(tmp_path):
    """Each fake process writes its pid and waits; SIGINT to run.sh (what Ctrl-C does) ends all of them."""
    script = _fake_project(tmp_path, 'echo $$ >> "$(dirname "$0")/pids"\nexec sleep 60\n')
    pids = tmp_path / ".venv" / "bin" / "pids"
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    # run.sh starts as from a terminal, with SIGINT at its default: a non-interactive bash cannot trap a signal
    # ignored on entry, and a pytest-xdist worker may run with SIGINT ignored (the full suite's gw0 did)
    proc = subprocess.Popen(["bash", str(script)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        for _ in range(100):
            if pids.exists() and len(pids.read_text().split()) == 3:
                break
            time.sleep(0.1)
        started = [int(p) for p in pids.read_text().split()]
        assert len(started) == 3
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
    for pid in started:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


# --- check --deploy ---------------------------------------------------------------------------------------------

CHECK_DEPLOY = (
    "import django; django.setup(); from django.core.management import call_command; "
    "call_command('check', '--deploy', '--fail-level', 'WARNING')"
)


def test_it_passes_check_deploy_with_production_values():
    result = _run_python(CHECK_DEPLOY, **PROD_ENV, HTTPS="true")
    assert result.returncode == 0, result.stderr


def test_it_warns_in_check_deploy_without_https():
    result = _run_python(CHECK_DEPLOY, **PROD_ENV)
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):  # HSTS, redirect, cookies
        assert warning in result.stderr


def test_it_switches_on_https_settings_with_one_variable():
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; print(json.dumps(["
        "s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_PROXY_SSL_HEADER]))"
    )
    on = json.loads(_run_python(code, **PROD_ENV, HTTPS="true", HSTS_SECONDS="3600").stdout)
    assert on == [True, True, True, 3600, ["HTTP_X_FORWARDED_PROTO", "https"]]
    off = json.loads(_run_python(code, **PROD_ENV).stdout)
    assert off == [False, False, False, 0, None]


def test_it_refuses_https_with_the_development_secret_key():
    result = _run_python("import django; django.setup()", DEBUG="false", HTTPS="true")
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


# --- headers ----------------------------------------------------------------------------------------------------


def _assert_security_headers(response):
    csp = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'self'" and directives["form-action"] == "'self'"
    assert "unsafe" not in csp
    policy = response["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in policy
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


def test_it_sends_the_security_headers_on_a_page(client, specialist):
    client.force_login(specialist)
    response = client.get("/customers/")
    assert response.status_code == 200
    _assert_security_headers(response)


def test_it_sends_the_security_headers_on_the_api(client, specialist):
    client.force_login(specialist)
    response = client.get("/api/customers")
    assert response.status_code == 200
    _assert_security_headers(response)


def test_it_sends_hsts_over_https(settings, client, specialist):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/login/")
    assert response.status_code == 301 and response["Location"].startswith("https://")
    response = client.get("/login/", headers={"X-Forwarded-Proto": "https"})
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


# --- templates: nothing inline ------------------------------------------------------------------------------------

INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*application/(?:ld\+)?json)|<style\b|\sstyle=|\son[a-z]+=|hx-on", re.I
)


def test_it_keeps_scripts_and_styles_out_of_the_templates():
    """The CSP forbids inline script, inline style, event-handler attributes and htmx's hx-on (eval)."""
    offenders = []
    for template in (ROOT / "aftercare").rglob("templates/**/*.html"):
        if "/pdf/" in template.as_posix():  # rendered to PDF by WeasyPrint, never served as a page
            continue
        for number, line in enumerate(template.read_text(encoding="utf-8").splitlines(), 1):
            if INLINE.search(line):
                offenders.append(f"{template.relative_to(ROOT)}:{number}: {line.strip()}")
    for module in (ROOT / "aftercare").rglob("*.py"):  # form widgets' attrs
        if "tests" not in module.parts and re.search(r"""["']style["']\s*:""", module.read_text(encoding="utf-8")):
            offenders.append(f"{module.relative_to(ROOT)}: a widget's style attribute")
    assert not offenders, "\n".join(offenders)


def test_it_ships_a_chart_library_that_needs_no_inline_style_or_eval():
    """The vendored Chart.js (aftercare/core/charts.py draws with it) sizes its canvas through the CSSOM, which the
    policy allows; it must not inject a <style> element or evaluate strings, and it is the version its README names.
    Its source-map line is removed: collectstatic's hashed storage fails on a map that is not shipped."""
    source = CHART_JS.read_text(encoding="utf-8")
    version = re.search(r"Chart\.js v(\d+\.\d+\.\d+)", source[:200]).group(1)
    assert f"Chart.js {version}" in (CHART_JS.parent / "README.md").read_text(encoding="utf-8")
    assert "MIT License" in (CHART_JS.parent / "LICENSE.md").read_text(encoding="utf-8")
    assert "sourceMappingURL" not in source
    for injected in ('createElement("style")', "insertRule(", "new Function(", "eval(", ".cssText"):
        assert injected not in source, injected


# --- friendly error pages -----------------------------------------------------------------------------------------


def _boom(request):
    raise RuntimeError("/srv/aftercare/secret/path.py exploded")


urlpatterns = [path("boom/", _boom), path("api/boom/", _boom), *base_urlpatterns]


@pytest.fixture
def prod(settings):
    settings.DEBUG = False
    return settings


@pytest.mark.parametrize(("lang", "expect"), [("zh-hans", "zh-hans"), ("en", "en")])
def test_it_shows_a_friendly_404_in_the_users_language(prod, client, lang, expect):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = lang
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert 'id="error-page" data-status="404"' in html and f'<html lang="{expect}">' in html
    with translation.override(lang):
        assert gettext("Page not found") in html
    assert "Traceback" not in html and "urlpatterns" not in html
    assert 'id="language-switcher"' in html  # the UI's frame, with its language switch


def test_it_shows_a_friendly_404_for_another_stores_customer(prod, client, specialist, other_store_rows):
    client.force_login(specialist)
    response = client.get(f"/customers/{other_store_rows['customer'].pk}/", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_it_offers_the_log_in_link_on_an_error_page_only_to_a_visitor(prod, client, specialist):
    """errors/page.html and errors/standalone.html share one card (errors/_card.html); its log-in link shows only
    in the UI's frame, to a visitor not logged in."""
    link = 'href="/login/"'
    assert link in client.get("/no-such-page/").content.decode()
    client.force_login(specialist)
    assert link not in client.get("/no-such-page/").content.decode()


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_it_shows_a_friendly_403_in_the_users_language(prod, client, users, lang):
    client.force_login(users[Role.CS_SPECIALIST])
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = lang
    response = client.get("/followups/manage/")
    assert response.status_code == 403
    html = response.content.decode()
    assert 'data-status="403"' in html and f'<html lang="{lang}">' in html
    with translation.override(lang):
        assert gettext("No permission") in html
    assert "403 Forbidden" not in html and "followup.manage" not in html


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
@pytest.mark.urls(__name__)
def test_it_shows_a_friendly_500_without_the_database(prod, client, lang):
    """No database fixture: a query on the way to the 500 page would raise."""
    client.raise_request_exception = False
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = lang
    response = client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert 'data-status="500"' in html and f'<html lang="{lang}">' in html
    with translation.override(lang):
        assert gettext("Something went wrong") in html
    assert "exploded" not in html and "/srv/" not in html and "Traceback" not in html
    assert 'href="/login/"' not in html  # no request context: no user, no log-in link


@pytest.mark.urls(__name__)
def test_it_answers_api_errors_in_json(prod, client):
    client.raise_request_exception = False
    response = client.get("/api/boom/")
    assert response.status_code == 500 and response.json() == {"detail": "Server error."}
    assert "exploded" not in response.content.decode()


def test_it_answers_an_unknown_api_route_in_json(prod, client):
    response = client.get("/api/no-such-route/")
    assert response.status_code == 404 and response.json() == {"detail": "Not found."}


def test_it_shows_a_friendly_400(prod, client):
    response = client.get("/login/", headers={"Host": "evil.example.net"})  # DisallowedHost
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-status="400"' in html and gettext("Bad request") in html and "evil" not in html


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_it_shows_a_friendly_csrf_failure(prod, specialist, lang):
    client = Client(enforce_csrf_checks=True)
    client.force_login(specialist)
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = lang
    response = client.post("/store/", {"store": ""})
    assert response.status_code == 403
    html = response.content.decode()
    assert 'data-status="403"' in html and f'<html lang="{lang}">' in html
    with translation.override(lang):
        assert gettext("The form has expired") in html
    assert "CSRF verification failed" not in html


def test_it_answers_an_api_csrf_failure_in_json(prod, specialist):
    client = Client(enforce_csrf_checks=True)
    client.force_login(specialist)
    response = client.post("/api/customers/1/reveal-phone")
    assert response.status_code in (401, 403)
    assert response["Content-Type"].startswith("application/json")


# --- static files with debug off ----------------------------------------------------------------------------------


UNUSED_BY_THE_LOGIN_PAGE = [
    *("admin", "ninja", "ext", "htmx-4*", "htmax*"),
    *("*rtl*", "bootstrap-*", "bootstrap.css*", "bootstrap.js*", "bootstrap.bundle.js*", "bootstrap.esm*"),
    "bootstrap.min.js*",
]


@pytest.mark.slow
def test_it_serves_collected_static_files_with_debug_off(prod, tmp_path, client):
    """What `make run` does: collectstatic into STATIC_ROOT, then WhiteNoise serves the hashed, compressed files
    (the big vendor bundles the login page does not use are left out to keep the test short)."""
    prod.STATIC_ROOT = tmp_path
    prod.STORAGES = {**prod.STORAGES, "staticfiles": {"BACKEND": "aftercare.core.storage.StaticFilesStorage"}}
    prod.WHITENOISE_AUTOREFRESH = False
    call_command(
        "collectstatic", "--noinput", verbosity=0,
        ignore_patterns=UNUSED_BY_THE_LOGIN_PAGE,
    )
    html = client.get("/login/").content.decode()
    urls = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    assert urls and all(re.search(r"\.[0-9a-f]{12}\.(css|js)$", u) for u in urls), urls
    for url in urls:
        response = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200, url
        assert "immutable" in response["Cache-Control"]
        assert response["Content-Encoding"] == "gzip"
    # a second collectstatic compresses nothing again (each content once)
    compressed = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.gz")}
    call_command(
        "collectstatic", "--noinput", verbosity=0,
        ignore_patterns=UNUSED_BY_THE_LOGIN_PAGE,
    )
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.gz")} == compressed


# --- boolean environment values ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["maybe", "ture", "2"])
def test_it_refuses_to_start_with_a_boolean_variable_that_is_not_a_boolean(value):
    result = _run_python("import django; django.setup()", DEBUG=value)
    assert result.returncode != 0
    assert f"DEBUG={value!r} is not a boolean" in result.stderr


@pytest.mark.parametrize(("value", "expected"), [("TRUE", "True"), ("on", "True"), ("0", "False"), ("", "False")])
def test_it_reads_the_usual_spellings_of_a_boolean_variable(value, expected):
    result = _run_python(
        "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)", DEBUG=value
    )
    assert result.stdout.strip() == expected, result.stderr


def test_it_declares_every_import_setting_it_reads():
    from django.conf import settings

    for name in ("IMPORT_CHUNK_SIZE", "IMPORT_MAX_STORED_ERRORS", "IMPORT_SYNC_MAX_ROWS", "IMPORT_KNOWN_VEHICLES_MAX"):
        assert isinstance(getattr(settings, name), int), name
    source = (ROOT / "aftercare" / "dms" / "services.py").read_text()
    assert "getattr(settings" not in source
