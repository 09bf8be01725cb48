"""Settings of the study site.

Everything that differs between a laptop and a deployment comes from the environment:

- ``SECRET_KEY``        required when ``DEBUG`` is off
- ``DEBUG``             "1"/"true" for development (the default when SECRET_KEY is unset)
- ``ALLOWED_HOSTS``     comma-separated host names
- ``DATABASE_URL``      e.g. ``postgres://postgres@127.0.0.1:5432/test``; embedded SQLite otherwise
- ``COLORSTUDY_DATA``   folder for the SQLite file, media (stimuli) and backups (default ``./var``)
- ``SECURE_SSL``        "1" behind HTTPS: secure cookies, HSTS, SSL redirect
- ``RATE_LIMIT_START``, ``RATE_LIMIT_VOTE``  requests per minute per client (0 disables)
- ``LOGIN_FAILURE_LIMIT``  failed staff logins before a lockout (default 5), ``LOGIN_COOLOFF_MINUTES`` (15)
- ``TRUSTED_PROXY_COUNT``  reverse proxies in front (the client address is then read from X-Forwarded-For)
- ``X_ACCEL_REDIRECT``  "1" behind nginx in ``accel`` mode: stimuli are checked here, sent by nginx
- ``REDIS_URL``         the shared cache (rate-limit counters) for several workers or hosts
- ``POSTGRES_PREPARED``  0 turns off server-prepared hot-path queries (for a pooler that cannot keep them)
- ``LOG_DIR``           where the logs go (default: standard error, for the process manager)
"""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF

from colorstudy import languages

BASE_DIR = Path(__file__).resolve().parent.parent


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


_DEV_KEY = "django-insecure-development-only-key-do-not-use-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY", _DEV_KEY)
# Without a real secret the site can only be a development server.
DEBUG = _flag("DEBUG", default=SECRET_KEY == _DEV_KEY)
if not DEBUG and SECRET_KEY == _DEV_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SECRET_KEY must be set in the environment when DEBUG is off.")

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

DATA_DIR = Path(os.environ.get("COLORSTUDY_DATA", BASE_DIR / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)  # SQLite cannot create the folder of its file
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"  # never served directly: stimuli go through the blinded image view
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "csp",
    "colorstudy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "colorstudy.middleware.CachedCSPMiddleware",  # django-csp's, its plain policy built once
    "colorstudy.middleware.DatabaseUnavailableMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

# Staff logins (the accounts that see participants' panel ids): django-axes locks an address, and
# separately a user name, out after LOGIN_FAILURE_LIMIT failures for LOGIN_COOLOFF_MINUTES; the
# answer is 429. A successful login resets the count.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_COOLOFF_MINUTES", 15)))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_RESET_ON_SUCCESS = True
AXES_IPWARE_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", 0)) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else ["REMOTE_ADDR"]

# Content-Security-Policy (django-csp) on every page: only this site's own scripts, styles and
# images (the trial page's inline consent script carries a nonce), no inline style, no framing,
# forms post here; violations are reported to /csp-report/ and logged.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],  # no inline style at all: the bars are <progress> elements
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
        "report-uri": "/csp-report/",  # browsers post what the policy blocked; the site logs it
    },
}

ROOT_URLCONF = "colorstudy.urls"
WSGI_APPLICATION = "colorstudy.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_database_url = os.environ.get("DATABASE_URL", "").strip()
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend, with a health check that polls the socket instead of a SELECT 1 per request.
        DATABASES["default"]["ENGINE"] = "colorstudy.postgresql"
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "colorstudy.sqlite3",
            # Keep each worker's connection: opening one (and running the PRAGMAs) per request
            # cost more than the queries themselves.
            "CONN_MAX_AGE": 600,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {
                # Concurrent writers (several gunicorn workers): WAL lets readers go on during a
                # write, IMMEDIATE takes the write lock at BEGIN so two writers never deadlock
                # on a lock upgrade, and the timeout makes a writer wait instead of failing.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Participants' pages speak the browser's language (Accept-Language) where the site has it, or the
# language a study fixes (colorstudy.languages; the catalogues are in colorstudy/locale).
LANGUAGE_CODE = "en"
LANGUAGES = languages.LANGUAGES
LOCALE_PATHS = [BASE_DIR / "colorstudy" / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 30

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if _flag("SECURE_SSL"):
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Requests per minute per client address; 0 turns a limit off.
RATE_LIMIT_START = int(os.environ.get("RATE_LIMIT_START", 30))
RATE_LIMIT_VOTE = int(os.environ.get("RATE_LIMIT_VOTE", 600))

# The participant's hot-path queries prepared on the PostgreSQL server (colorstudy.hotpath).
# Django turns psycopg's prepared statements off (prepare_threshold None); a number turns them
# on for server-binding cursors only, which only the hot path uses: the ORM's cursors bind on
# the client and are never prepared.
POSTGRES_PREPARED = _flag("POSTGRES_PREPARED", default=True)
if POSTGRES_PREPARED and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

LOGIN_URL = "/admin/login/"

# Logs go to standard error (the process manager's journal), or to LOG_DIR/colorstudy.log; the
# watched handler reopens the file after logrotate moves it.
_log_handler = {"class": "logging.StreamHandler", "formatter": "plain"}
if os.environ.get("LOG_DIR"):
    Path(os.environ["LOG_DIR"]).mkdir(parents=True, exist_ok=True)
    _log_handler = {"class": "logging.handlers.WatchedFileHandler", "formatter": "plain",
                    "filename": str(Path(os.environ["LOG_DIR"]) / "colorstudy.log")}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"main": _log_handler},
    "root": {"handlers": ["main"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
TRUST_X_FORWARDED_FOR = _flag("TRUST_X_FORWARDED_FOR", default=bool(AXES_IPWARE_PROXY_COUNT))
X_ACCEL_REDIRECT = _flag("X_ACCEL_REDIRECT")
