"""One settings module, driven by environment variables (see README)."""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def env_bool(name: str, default: bool = False) -> bool:
    """A boolean environment variable; unset or empty is `default`, anything but a boolean stops the start-up."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value not in _TRUE | _FALSE:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"{name}={os.environ[name]!r} is not a boolean: use true or false.")
    return value in _TRUE


SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret-change-me")
# Off unless asked for: `make dev` and the test settings turn it on where wanted (a forgotten variable must not
# serve tracebacks).
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "ninja",  # Swagger UI from our own static files (no CDN, no inline script): CSP-clean /api/docs
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "axes",  # failed-login throttling (after the auth app; see "Login throttling" below)
    "aftercare.core",
    "aftercare.org",
    "aftercare.customers",
    "aftercare.dms",
    "aftercare.followups",
    "aftercare.complaints",
    "aftercare.renewals",
    "aftercare.appointments",
    "aftercare.care",
    "aftercare.quality",
    "aftercare.reports",
    "aftercare.demo",  # keep last: the demo may import every app above, and no app imports it
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out login into the 429 login page
]

ROOT_URLCONF = "aftercare.urls"
WSGI_APPLICATION = "aftercare.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "aftercare" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "aftercare.core.context_processors.inbox",
                "aftercare.org.context_processors.scope",
            ],
        },
    },
]

# Each web worker keeps its connection for CONN_MAX_AGE seconds (checked before reuse) instead of opening one per
# request: a new PostgreSQL connection costs a backend process (5-25 ms, more than a whole page), a new SQLite one
# its PRAGMAs (~1 ms). docs/benchmarks.md "Load".
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'var' / 'aftercare.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            # WAL: readers never wait for the writer; pages read through a memory map (256 MB) and kept in a 64 MB
            # cache per connection, which a kept connection carries from request to request.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA mmap_size=268435456; "
            "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;",
        }
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT compilation costs more than it saves on our short OLTP/KPI queries.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Login throttling (django-axes; docs/security.md) ------------------------------------------------------------
# Failed logins (and failed API bearer tokens) are counted per account and per client address, separately, over a
# sliding window of LOGIN_LOCKOUT_MINUTES; at the limit that account / address is locked for that long (every
# further failure restarts the window). While locked even the right password (or a valid token) is refused: the
# login page answers 429 with a message, the API 429. A group admin unlocks at /security/lockouts/.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked account / address before any password check
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_FAILURES_PER_ACCOUNT = int(os.environ.get("LOGIN_FAILURES_PER_ACCOUNT", "5"))
# A store's staff often share one public address (NAT): a higher limit, so one person's typos don't lock the shop.
LOGIN_FAILURES_PER_ADDRESS = int(os.environ.get("LOGIN_FAILURES_PER_ADDRESS", "20"))
LOGIN_LOCKOUT_MINUTES = int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15"))
AXES_HANDLER = "aftercare.core.throttle.LoginThrottleHandler"  # the two limits above (axes itself has one)
AXES_LOCKOUT_PARAMETERS = "aftercare.core.throttle.lockout_parameters"
AXES_FAILURE_LIMIT = "aftercare.core.throttle.failure_limit"
AXES_COOLOFF_TIME = "aftercare.core.throttle.cool_off"
AXES_LOCKOUT_CALLABLE = "aftercare.core.views.login_locked_out"  # the login page again, 429, with the reason
AXES_RESET_ON_SUCCESS = False  # a login to one's own account must not wipe the failures counted for an address
# The client address is REMOTE_ADDR. Behind a reverse proxy, set AXES_IPWARE_* / AXES_CLIENT_IP_CALLABLE so it is
# the client's, not the proxy's (the production server comes with the next issue).

# Time: stored in UTC, reasoned about (and shown) in Asia/Shanghai.
USE_TZ = True
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
BUSINESS_TIME_ZONE = os.environ.get("BUSINESS_TIME_ZONE", "Asia/Shanghai")

USE_I18N = True
LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "aftercare" / "locale"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
# WhiteNoise serves what `collectstatic` wrote, with DEBUG off too: content-hashed names (cached for a year), Brotli
# and gzip copies (aftercare.core.storage: WhiteNoise's CompressedManifestStaticFilesStorage, compressing each
# content once). The tests render pages without collecting (conftest.py: plain storage, WhiteNoise autorefresh).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "aftercare.core.storage.StaticFilesStorage"},
}
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = ["jpg", "jpeg", "png", "gif", "webp", "zip", "gz", "br", "woff", "woff2", "map"]
import xstatic.pkg.bootstrap  # noqa: E402

STATICFILES_DIRS = [
    ("bootstrap", xstatic.pkg.bootstrap.BASE_DIR),
]
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
MEDIA_URL = "media/"
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Parallel writers (PostgreSQL connections) of a big DMS import; 1 writes chunk after chunk.
IMPORT_WRITERS = int(os.environ.get("IMPORT_WRITERS", "2"))
IMPORT_CHUNK_SIZE = int(os.environ.get("IMPORT_CHUNK_SIZE", "20000"))  # rows validated and written at a time
IMPORT_MAX_STORED_ERRORS = int(os.environ.get("IMPORT_MAX_STORED_ERRORS", "50000"))  # rejected rows kept per import
# (VIN, customer key) pairs an import remembers to copy later orders of known vehicles directly (~130 bytes each)
IMPORT_KNOWN_VEHICLES_MAX = int(os.environ.get("IMPORT_KNOWN_VEHICLES_MAX", "250000"))
IMPORT_MAX_UPLOAD_BYTES = int(os.environ.get("IMPORT_MAX_UPLOAD_BYTES", str(200 * 1024 * 1024)))
# DMS import bounds (docs/import.md "Limits"). An upload of at most IMPORT_SYNC_MAX_ROWS rows is imported in the
# request, a bigger one by the task worker. XLSX: the archive's declared sizes are checked first, then the inflated
# bytes are counted while reading; rows, columns and cell length are enforced while the sheet is parsed.
IMPORT_SYNC_MAX_ROWS = int(os.environ.get("IMPORT_SYNC_MAX_ROWS", "5000"))
IMPORT_XLSX_MAX_ROWS = int(os.environ.get("IMPORT_XLSX_MAX_ROWS", "1048576"))  # Excel's own limit
IMPORT_XLSX_MAX_COLUMNS = int(os.environ.get("IMPORT_XLSX_MAX_COLUMNS", "200"))
IMPORT_XLSX_MAX_CELL_CHARS = int(os.environ.get("IMPORT_XLSX_MAX_CELL_CHARS", "32767"))  # Excel's own limit
IMPORT_XLSX_MAX_MEMBER_BYTES = int(os.environ.get("IMPORT_XLSX_MAX_MEMBER_BYTES", str(1024**3)))  # inflated, per part
IMPORT_XLSX_MAX_TOTAL_BYTES = int(os.environ.get("IMPORT_XLSX_MAX_TOTAL_BYTES", str(2 * 1024**3)))  # inflated, all
IMPORT_XLSX_MAX_RATIO = int(os.environ.get("IMPORT_XLSX_MAX_RATIO", "100"))  # inflated / compressed, parts > 1 MB
# the shared strings are held in memory while the sheet is read (compact: about their inflated size)
IMPORT_XLSX_MAX_SHARED_STRINGS_BYTES = int(os.environ.get("IMPORT_XLSX_MAX_SHARED_STRINGS_BYTES", str(128 * 1024**2)))
# a batch `running` with no progress for this long is failed by the next import run or `manage.py import_fail_stale`
IMPORT_STALE_AFTER_SECONDS = int(os.environ.get("IMPORT_STALE_AFTER_SECONDS", "900"))
COMPLAINT_UPLOAD_MAX_BYTES = int(os.environ.get("COMPLAINT_UPLOAD_MAX_BYTES", str(10 * 1024 * 1024)))
# Appointments: the customer's self-booking link (appointments/links.py). PUBLIC_BASE_URL is the address customers
# reach the site at (e.g. https://fw.example.cn); empty: SMS carry no link. A link works SELF_BOOKING_LINK_HOURS after
# it was sent and never past the appointment's start; each link and each client address may open the page
# SELF_BOOKING_HITS_PER_LINK / _PER_ADDRESS times in SELF_BOOKING_WINDOW_MINUTES (beyond: 429).
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "").rstrip("/")
SELF_BOOKING_LINK_HOURS = int(os.environ.get("SELF_BOOKING_LINK_HOURS", "72"))
SELF_BOOKING_HITS_PER_LINK = int(os.environ.get("SELF_BOOKING_HITS_PER_LINK", "30"))
SELF_BOOKING_HITS_PER_ADDRESS = int(os.environ.get("SELF_BOOKING_HITS_PER_ADDRESS", "60"))
SELF_BOOKING_WINDOW_MINUTES = int(os.environ.get("SELF_BOOKING_WINDOW_MINUTES", "60"))
# A waitlist offer (a freed start offered by SMS) lapses after this many hours, at the latest at the start offered;
# the next customer waiting is then offered (docs/appointments.md, "Waitlist offers").
APPOINTMENT_WAITLIST_OFFER_HOURS = int(os.environ.get("APPOINTMENT_WAITLIST_OFFER_HOURS", "4"))

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "aftercare@localhost")
SMS_BACKEND = os.environ.get("SMS_BACKEND", "aftercare.core.sms.ConsoleBackend")
SMS_FILE_PATH = os.environ.get("SMS_FILE_PATH", str(BASE_DIR / "var" / "sms"))
# ---- channels: the outbound interface (docs/care.md, "Channels and consent") ----
# WeChat service-account template messages (core/wechat.py): HttpBackend in production, Console/File for development
WECHAT_BACKEND = os.environ.get("WECHAT_BACKEND", "aftercare.core.wechat.ConsoleBackend")
WECHAT_API_BASE = os.environ.get("WECHAT_API_BASE", "https://api.weixin.qq.com")
WECHAT_APP_ID = os.environ.get("WECHAT_APP_ID", "")
WECHAT_APP_SECRET = os.environ.get("WECHAT_APP_SECRET", "")
WECHAT_TIMEOUT_SECONDS = int(os.environ.get("WECHAT_TIMEOUT_SECONDS", "10"))
WECHAT_FILE_PATH = os.environ.get("WECHAT_FILE_PATH", str(BASE_DIR / "var" / "wechat"))
# marketing is held in quiet hours (Asia/Shanghai, a store may set its own) and capped per customer a week
MESSAGE_QUIET_HOURS_START = os.environ.get("MESSAGE_QUIET_HOURS_START", "21:00")
MESSAGE_QUIET_HOURS_END = os.environ.get("MESSAGE_QUIET_HOURS_END", "08:00")
MESSAGE_MARKETING_WEEKLY_CAP = int(os.environ.get("MESSAGE_MARKETING_WEEKLY_CAP", "3"))
# outbound calls per customer a week across every kind of task; calls due by a deadline are never postponed
CALLS_WEEKLY_CAP = int(os.environ.get("CALLS_WEEKLY_CAP", "2"))
# the SMS gateway's inbound replies (TD / 退订 withdraw marketing consent) must carry this secret; empty: refused
SMS_INBOUND_SECRET = os.environ.get("SMS_INBOUND_SECRET", "")
# a marketing message's opt-out link works this many days
OPT_OUT_LINK_DAYS = int(os.environ.get("OPT_OUT_LINK_DAYS", "90"))
# ---- end channels ----

TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

NINJA_PAGINATION_PER_PAGE = 50

# --- Security headers and HTTPS (README "Production"; docs/security.md) -----------------------------------------
from csp.constants import NONE, SELF  # noqa: E402

# Content-Security-Policy (django-csp 4): scripts and styles only from our own static files — no inline script, no
# inline style, no eval (htmx runs with allowEval off, see base.html). `data:` images are Bootstrap's SVG icons.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Browser features the application never uses are switched off for every page.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer", "autoplay", "camera", "display-capture", "geolocation", "gyroscope", "hid",
        "magnetometer", "microphone", "midi", "payment", "screen-wake-lock", "serial", "usb",
        "xr-spatial-tracking",
    )
}
SECURE_REFERRER_POLICY = "same-origin"
CSRF_FAILURE_VIEW = "aftercare.core.errors.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# HTTPS=true: the site is served over HTTPS (TLS ends at the reverse proxy, which must set X-Forwarded-Proto and
# overwrite any value the client sent). Cookies are then sent over HTTPS only, plain HTTP is redirected, and
# browsers are told to use HTTPS only (HSTS) for HSTS_SECONDS.
HTTPS = env_bool("HTTPS", False)
if HTTPS:
    if SECRET_KEY == "dev-only-not-secret-change-me":
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("HTTPS=true needs a SECRET_KEY of its own (50+ random characters).")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", True)
    if proxy_header := os.environ.get("HTTPS_PROXY_HEADER", "X-Forwarded-Proto"):
        SECURE_PROXY_SSL_HEADER = ("HTTP_" + proxy_header.upper().replace("-", "_"), "https")
