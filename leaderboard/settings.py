"""Pairwise settings, read from the environment.

Every variable is listed in the README. Development defaults (SQLite in var/,
DEBUG on) need no configuration; with DEBUG off, a missing SECRET_KEY or
ALLOWED_HOSTS stops start-up with a clear message.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PAIRWISE_VAR_DIR", BASE_DIR / "var"))

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use 1/0, true/false, yes/no.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With DEBUG off Pairwise refuses to start without one; "
            "set SECRET_KEY to a long random string (e.g. python -c "
            "'import secrets; print(secrets.token_urlsafe(50))')."
        )
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production-8f2c1e7a9b"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS is empty. With DEBUG off, set ALLOWED_HOSTS to the site's host names, "
        "comma-separated (e.g. ALLOWED_HOSTS=pairwise.example.org)."
    )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "leaderboard",
]

MIDDLEWARE = [
    # Outermost, so every error answer passes through it (leaderboard/errors.py).
    "leaderboard.errors.JsonErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, which answers static files itself: they carry the CSP too.
    "csp.middleware.CSPMiddleware",
    "leaderboard.static_files.StaticFilesMiddleware",  # WhiteNoise, async-capable
    "leaderboard.pages.http_cache.PrivateByDefaultMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "leaderboard.urls"
WSGI_APPLICATION = "leaderboard.wsgi.application"
ASGI_APPLICATION = "leaderboard.asgi.application"  # production (gunicorn.conf.py)

TEMPLATES = [
    {
        # Site pages: Jinja2 from templates/.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "leaderboard.jinja2.environment"},
    },
    {
        # The admin keeps Django's own templates.
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    },
]

DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'pairwise.sqlite3'}"
DATABASE_URL = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
try:
    _database = dj_database_url.parse(DATABASE_URL)
except ValueError as error:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {error}") from None
# Under the ASGI server each request's sync code runs in a thread of its own, so a
# connection kept past its request is never used again: it stays open until the
# garbage collector finds it. On PostgreSQL that is a server process each, and within
# seconds of arena traffic max_connections is full (every request a 503); so there each
# request closes its connection (0), or a pool keeps them (DB_POOL_MAX_SIZE).
_database["CONN_MAX_AGE"] = env_int(
    "DB_CONN_MAX_AGE", 60 if _database["ENGINE"] == "django.db.backends.sqlite3" else 0
)
if _database["ENGINE"] == "django.db.backends.sqlite3":
    _database["OPTIONS"] = {
        # Concurrent writers wait for the lock (busy timeout, seconds) instead of
        # failing; IMMEDIATE takes the write lock at BEGIN so a reader never has
        # to upgrade to a writer mid-transaction (the source of "database is locked").
        "timeout": env_int("SQLITE_BUSY_TIMEOUT_S", 30),
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    if _database["NAME"] not in ("", ":memory:"):
        Path(_database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Tests use a file, not :memory:, so the bench runner (SQLAlchemy, another
    # connection) and gunicorn workers can see the same test database.
    _database["TEST"] = {"NAME": str(VAR_DIR / "test-pairwise.sqlite3")}
elif _database["ENGINE"] not in (
    "django.db.backends.postgresql",
    "django.db.backends.postgresql_psycopg2",
):
    raise ImproperlyConfigured(
        f"DATABASE_URL uses {_database['ENGINE']}; Pairwise supports SQLite and PostgreSQL."
    )
elif env_int("DB_POOL_MAX_SIZE", 0) > 0:
    # A pool per worker process saves opening a connection for every request (arena
    # votes/s +45%, tests/benchmarks/arena_load.py). Off by default: after a restart
    # psycopg_pool reconnects with doubling delays (1, 2, 4, 8, 16 s), so requests can
    # wait up to DB_POOL_TIMEOUT_S and fail where a new connection would have worked.
    _database["CONN_MAX_AGE"] = 0
    _database["CONN_HEALTH_CHECKS"] = True
    _database.setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env_int("DB_POOL_MAX_SIZE", 0),
        "timeout": env_int("DB_POOL_TIMEOUT_S", 30),
    }
if os.environ.get("TEST_DATABASE_NAME"):
    # Two test runs at once on one machine need two test databases.
    _database["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every request otherwise
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "pairwise",
    }
}

# Security headers. In production (DEBUG off) everything is strict by default;
# SECURE_SSL_REDIRECT=0 is for deployments whose proxy already redirects.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
# PROXY_REDIRECTS_HTTPS=1: the TLS proxy in front already redirects http:// to https://,
# so Django need not (SECURE_SSL_REDIRECT then defaults off) and the deploy check's
# W008 ("SECURE_SSL_REDIRECT is not True") is a false alarm; without it W008 stays.
PROXY_REDIRECTS_HTTPS = env_bool("PROXY_REDIRECTS_HTTPS", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG and not PROXY_REDIRECTS_HTTPS)
if PROXY_REDIRECTS_HTTPS:
    SILENCED_SYSTEM_CHECKS = ["security.W008"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# No external origin anywhere: the site works offline and leaks nothing to CDNs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# Serve MEDIA_ROOT from Django itself when DEBUG is off (small single-host installs);
# large deployments point the web server at MEDIA_ROOT instead.
SERVE_MEDIA = env_bool("SERVE_MEDIA", False)
FIXTURE_DIRS = [BASE_DIR / "fixtures"]

import ipaddress as _ipaddress  # noqa: E402
from hashlib import sha256 as _arena_sha256  # noqa: E402

# The arena (leaderboard/arena). Rate limits are hits per ARENA_RATE_WINDOW_S per
# voter session or per client IP; 0 turns a limit off.
ARENA_MATCHUP_EXPIRY_S = env_int("ARENA_MATCHUP_EXPIRY_S", 30 * 60)
ARENA_RATE_WINDOW_S = env_int("ARENA_RATE_WINDOW_S", 60)
ARENA_SERVE_LIMIT_PER_VOTER = env_int("ARENA_SERVE_LIMIT_PER_VOTER", 60)
ARENA_SERVE_LIMIT_PER_IP = env_int("ARENA_SERVE_LIMIT_PER_IP", 600)
ARENA_VOTE_LIMIT_PER_VOTER = env_int("ARENA_VOTE_LIMIT_PER_VOTER", 30)
ARENA_VOTE_LIMIT_PER_IP = env_int("ARENA_VOTE_LIMIT_PER_IP", 300)
# A vote cast sooner than this after the matchup was served is kept but flagged.
ARENA_MIN_VOTE_MS = env_int("ARENA_MIN_VOTE_MS", 1500)
# A voter with at least ARENA_FLAG_MIN_VOTES votes, more than ARENA_FLAGGED_SHARE_PERCENT
# of them flagged, has all votes excluded from the ratings (kept, with the reason).
ARENA_FLAGGED_SHARE_PERCENT = env_int("ARENA_FLAGGED_SHARE_PERCENT", 30)
ARENA_FLAG_MIN_VOTES = env_int("ARENA_FLAG_MIN_VOTES", 5)
# X-Forwarded-For is read only when the direct peer is one of these IPs or networks.
ARENA_TRUSTED_PROXIES = env_list("ARENA_TRUSTED_PROXIES", [])
for _proxy in ARENA_TRUSTED_PROXIES:
    try:
        _ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"ARENA_TRUSTED_PROXIES has {_proxy!r}, which is not an IP address or network."
        ) from None
# IPs and voter tokens are stored only as salted hashes.
# The default is derived from SECRET_KEY, so rotating the key also unlinks old hashes.
ARENA_IP_HASH_SALT = (
    os.environ.get("ARENA_IP_HASH_SALT")
    or _arena_sha256(f"pairwise-arena-ip-salt:{SECRET_KEY}".encode()).hexdigest()
)
# Re-encoded, metadata-free arena images (a cache: safe to delete).
ARENA_IMAGE_DIR = Path(os.environ.get("ARENA_IMAGE_DIR", VAR_DIR / "arena-images"))
ARENA_IMAGE_MAX_SIDE = env_int("ARENA_IMAGE_MAX_SIDE", 1024)
# How long each web worker reuses the arena's candidate pool and standings.
ARENA_POOL_CACHE_S = env_int("ARENA_POOL_CACHE_S", 30)
# Exposure: an arena image is retired after this many matchups (then the pages may show
# it); the admin's pool page counts the live images each model needs per challenge.
ARENA_MAX_IMPRESSIONS = env_int("ARENA_MAX_IMPRESSIONS", 200)
ARENA_LIVE_IMAGES_TARGET = env_int("ARENA_LIVE_IMAGES_TARGET", 4)
if ARENA_MAX_IMPRESSIONS < 1 or ARENA_LIVE_IMAGES_TARGET < 0:
    raise ImproperlyConfigured(
        "ARENA_MAX_IMPRESSIONS must be at least 1 and ARENA_LIVE_IMAGES_TARGET at least 0."
    )

# Voter identities (leaderboard/arena/proof.py). A new identity costs a proof of work
# (ALTCHA format, SHA-256): the browser tries up to ARENA_POW_MAX_NUMBER hashes, half
# that on average (30,000: 0.3-0.5 s on average in Chromium at 4x CPU throttling, the
# usual phone emulation; python -m tests.benchmarks.proof_of_work); challenges expire after
# ARENA_POW_EXPIRY_S. At most ARENA_NEW_VOTER_LIMIT_PER_NETWORK new identities per
# ARENA_RATE_WINDOW_S come from one network: one IP address, or the /PREFIX_V4 (IPv4)
# or /PREFIX_V6 (IPv6) it belongs to; 24 and 48 group a household or office.
ARENA_POW_MAX_NUMBER = env_int("ARENA_POW_MAX_NUMBER", 30_000)
ARENA_POW_EXPIRY_S = env_int("ARENA_POW_EXPIRY_S", 600)
ARENA_NEW_VOTER_LIMIT_PER_NETWORK = env_int("ARENA_NEW_VOTER_LIMIT_PER_NETWORK", 6)
ARENA_NETWORK_PREFIX_V4 = env_int("ARENA_NETWORK_PREFIX_V4", 32)
ARENA_NETWORK_PREFIX_V6 = env_int("ARENA_NETWORK_PREFIX_V6", 64)
if not (1 <= ARENA_POW_MAX_NUMBER <= 10_000_000):
    raise ImproperlyConfigured("ARENA_POW_MAX_NUMBER must be between 1 and 10,000,000.")
if not (8 <= ARENA_NETWORK_PREFIX_V4 <= 32 and 16 <= ARENA_NETWORK_PREFIX_V6 <= 128):
    raise ImproperlyConfigured(
        "ARENA_NETWORK_PREFIX_V4 must be 8-32 and ARENA_NETWORK_PREFIX_V6 16-128."
    )
# Detection (leaderboard/arena/detection.py, run by `manage.py ratings`): a voter or
# network is tested once it has this many decisive votes involving one model.
ARENA_DETECT_MIN_VOTES = env_int("ARENA_DETECT_MIN_VOTES", 10)
# Hours between full detection passes; the passes between test only new voters' votes.
ARENA_DETECT_FULL_EVERY_H = env_int("ARENA_DETECT_FULL_EVERY_H", 24)
# PostgreSQL: memory per sort or hash of the ratings job's session. The day counts and
# detection's per-voter counts group millions of votes; with the server's default
# (4 MB) they sort on disk, several times slower.
RATINGS_WORK_MEM_MB = env_int("RATINGS_WORK_MEM_MB", 256)

# The public pages (leaderboard/pages). Pages, API answers and charts are cached in each
# worker per ratings/stats snapshot, so a new `ratings` or `stats` run replaces them; a
# worker re-reads which snapshot is current at most every PAGES_SNAPSHOT_CHECK_S seconds,
# and no entry outlives PAGES_CACHE_S (so catalog edits in the admin show within that time).
PAGES_CACHE_S = env_int("PAGES_CACHE_S", 300)
PAGES_SNAPSHOT_CHECK_S = env_int("PAGES_SNAPSHOT_CHECK_S", 5)
# Threads per production worker for everything but the API (leaderboard/asgi.py): each
# runs one request at a time, so a slow one (an export download) holds one.
WEB_THREADS = env_int("WEB_THREADS", 16)
if WEB_THREADS < 1:
    raise ImproperlyConfigured("WEB_THREADS must be at least 1.")
# How long a proxy or CDN may serve a public page or data answer before revalidating it
# (Cache-Control s-maxage; revalidation is a cheap 304 while the snapshot is unchanged).
PAGES_SHARED_MAX_AGE_S = env_int("PAGES_SHARED_MAX_AGE_S", 60)
# Vote exports are written here once per snapshot, then streamed from the file.
PAGES_EXPORT_DIR = Path(os.environ.get("PAGES_EXPORT_DIR", VAR_DIR / "exports"))

# The OpenAI-compatible image API (leaderboard/gateway). Requests go to the model's
# offerings in GATEWAY_ROUTING_ORDER (current OfferingStats; unmeasured offerings last,
# cheapest first), failing over on connection errors, timeouts, 429s and 5xx.
GATEWAY_ROUTING_KEYS = (
    "success_rate", "success_ci_low", "generation_p50_ms", "generation_p95_ms",
    "ttfb_p50_ms", "price_usd",
)  # fmt: skip
GATEWAY_ROUTING_ORDER = env_list(
    "GATEWAY_ROUTING_ORDER", ["success_rate", "generation_p50_ms", "price_usd"]
)
for _key in GATEWAY_ROUTING_ORDER:
    if _key not in GATEWAY_ROUTING_KEYS:
        raise ImproperlyConfigured(
            f"GATEWAY_ROUTING_ORDER has {_key!r}; use a comma-separated list of "
            f"{', '.join(GATEWAY_ROUTING_KEYS)}."
        )
# Seconds one upstream attempt may take (submit, queue, polls and download).
GATEWAY_UPSTREAM_TIMEOUT_S = env_int("GATEWAY_UPSTREAM_TIMEOUT_S", 120)
# Seconds one API call may take in all, failovers included: the server, and the proxy in
# front, must hold a connection at least this long (gunicorn.conf.py reads it).
GATEWAY_REQUEST_TIMEOUT_S = env_int("GATEWAY_REQUEST_TIMEOUT_S", 150)
# Database work of API calls running at once per worker process (each holds a
# connection while it runs): a burst of calls must not open more than PostgreSQL allows.
GATEWAY_DB_CONCURRENCY = env_int("GATEWAY_DB_CONCURRENCY", 8)
# Connections per provider per worker process. A Replicate call holds its connection
# while the model runs (Prefer: wait), so calls past this many wait for one, and that
# wait is timed as the provider's: size it above the calls a worker holds at once.
GATEWAY_UPSTREAM_CONNECTIONS = env_int("GATEWAY_UPSTREAM_CONNECTIONS", 256)
# Offerings tried per image before giving up (the first one included).
GATEWAY_MAX_ATTEMPTS = env_int("GATEWAY_MAX_ATTEMPTS", 3)
# Largest `n` a request may ask for (each image is one upstream request).
GATEWAY_MAX_IMAGES = env_int("GATEWAY_MAX_IMAGES", 10)
# Upload limits of /images/edits: the whole request body, and each image.
GATEWAY_MAX_UPLOAD_BYTES = env_int("GATEWAY_MAX_UPLOAD_BYTES", 50 * 1024 * 1024)
GATEWAY_MAX_IMAGE_BYTES = env_int("GATEWAY_MAX_IMAGE_BYTES", 20 * 1024 * 1024)
# Largest reference image in megapixels (1024x1024 px each): the price sheets' cap.
GATEWAY_MAX_REFERENCE_MP = env_int("GATEWAY_MAX_REFERENCE_MP", 4)
# Requests per minute per key, unless the key sets its own; 0 turns the limit off.
GATEWAY_RATE_LIMIT_PER_MINUTE = env_int("GATEWAY_RATE_LIMIT_PER_MINUTE", 60)
for _name in (
    "GATEWAY_UPSTREAM_TIMEOUT_S", "GATEWAY_MAX_ATTEMPTS", "GATEWAY_MAX_IMAGES",
    "GATEWAY_MAX_UPLOAD_BYTES", "GATEWAY_MAX_IMAGE_BYTES", "GATEWAY_MAX_REFERENCE_MP",
    "GATEWAY_UPSTREAM_CONNECTIONS",
):  # fmt: skip
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1, got {globals()[_name]}.")
if GATEWAY_RATE_LIMIT_PER_MINUTE < 0:
    raise ImproperlyConfigured("GATEWAY_RATE_LIMIT_PER_MINUTE must be 0 (off) or more.")
if GATEWAY_DB_CONCURRENCY < 1:
    raise ImproperlyConfigured("GATEWAY_DB_CONCURRENCY must be at least 1.")
if GATEWAY_REQUEST_TIMEOUT_S < GATEWAY_UPSTREAM_TIMEOUT_S:
    raise ImproperlyConfigured(
        f"GATEWAY_REQUEST_TIMEOUT_S ({GATEWAY_REQUEST_TIMEOUT_S}) is shorter than one attempt "
        f"(GATEWAY_UPSTREAM_TIMEOUT_S={GATEWAY_UPSTREAM_TIMEOUT_S}); raise it or lower the other."
    )

# The playground (/playground/) spends real money on real providers: each visitor, and
# the whole site, may spend at most this much per UTC day (US cents; 0 = playground off).
PLAYGROUND_DAILY_CENTS_PER_VISITOR = env_int("PLAYGROUND_DAILY_CENTS_PER_VISITOR", 50)
PLAYGROUND_DAILY_CENTS_SITE = env_int("PLAYGROUND_DAILY_CENTS_SITE", 2000)
