"""Settings, read from the environment (see README "Configuration").

Embedded defaults (``make run``): SQLite under ``var/`` and Celery on the
``filesystem://`` transport. ``DATABASE_URL`` / ``REDIS_URL`` switch to
PostgreSQL / Redis. ``DJANGO_ENV=production`` turns on the hardened settings.
"""

import ipaddress
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from releasemgr.env import env_bool, env_int, env_list, env_str
from releasemgr.rates import env_rate

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("RELEASEMGR_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

PRODUCTION = env_str("DJANGO_ENV", "development") == "production"
DEBUG = env_bool("DJANGO_DEBUG", default=not PRODUCTION)

_DEV_SECRET = "dev-insecure-secret-key-change-me-0123456789-abcdefghijklmnopqrstuvwxyz"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", None if PRODUCTION else _DEV_SECRET)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_htmx",
    "releasemgr",
    "releases",
    "scheduling",
    "governance",
    "metrics",
]

MIDDLEWARE = [
    # First: request id, timing, Prometheus counts and the request log line.
    "releasemgr.middleware.RequestObservabilityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "releasemgr.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "releasemgr.middleware.RejectNulBytesMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "releasemgr.security.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "releasemgr.urls"
WSGI_APPLICATION = "releasemgr.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "releasemgr.context_processors.navigation",
                "releasemgr.context_processors.notifications",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'releasemgr.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file, not memory, so a real Celery worker process can share the test database.
    # Named per process so parallel test runs never share one file.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "releasemgr.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["releasemgr.api.permissions.RoleModelPermissions"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "releasemgr.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "releasemgr.api.exceptions.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["releasemgr.security.ApiRateThrottle"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Release manager API",
    "DESCRIPTION": (
        "Plan, approve, gate and record releases. Authenticate with "
        "`Authorization: Token <key>` (`Bearer <key>` is taken too). Issue a key on the "
        "API tokens page (user menu → API tokens) or with `manage.py issue_token <user>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "releasemgr.api.schema.document_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ReleaseKindEnum": "releases.choices.ReleaseKind",
        "PolicySuggestionStatusEnum": "metrics.models.adaptive.SuggestionStatus",
        "PolicySuggestionDirectionEnum": "metrics.models.adaptive.SuggestionDirection",
        "DriftKindEnum": "metrics.models.drift.DriftKind",
        "DriftStatusEnum": "metrics.models.drift.DriftStatus",
        "FrequencyIncidentsConclusionEnum": "metrics.frequency_incidents.Conclusion",
        "ScopeKindEnum": "releases.choices.ScopeKind",
        "DependencyKindEnum": "releases.choices.DependencyKind",
        "DeploymentStatusEnum": "releases.choices.DeploymentStatus",
        "EventStatusEnum": "releases.choices.EventStatus",
        "GateStatusEnum": "releases.choices.GateStatus",
        "ReleaseStateEnum": "releases.choices.ReleaseState",
        "ChangeTypeEnum": "releases.choices.ChangeType",
        "DeploymentStrategyEnum": "releases.choices.DeploymentStrategy",
        # RiskProfile (services) and RiskLevel (exceptions) share low/medium/high.
        "RiskLevelEnum": "releases.choices.RiskProfile",
        "WindowKindEnum": "scheduling.choices.WindowKind",
        "IncidentStatusEnum": "metrics.models.incidents.IncidentStatus",
        "IncidentAttributionEnum": "metrics.models.incidents.Attribution",
        "RecoveryChoiceEnum": "metrics.models.incidents.RecoveryChoice",
        "IntegrityKindEnum": "metrics.models.integrity.IntegrityKind",
        "IntegrityRelationEnum": "metrics.models.integrity.IntegrityRelation",
        "KpiKindEnum": "metrics.models.kpis.KpiKind",
        "KpiDirectionEnum": "metrics.models.kpis.KpiDirection",
        "StabilisationStateEnum": "metrics.models.stabilisation.WindowState",
        "StabilisationVerdictEnum": "metrics.models.stabilisation.Verdict",
        "BlockingWindowKindEnum": "scheduling.choices.BLOCKING_KIND_CHOICES",
        "WindowHardnessEnum": "scheduling.choices.Hardness",
        "ReservationPurposeEnum": "scheduling.choices.ReservationPurpose",
        "SeverityEnum": "scheduling.choices.Severity",
        "RegisterKindEnum": "governance.choices.RegisterKind",
        "RegisterStatusEnum": "governance.choices.RegisterStatus",
        "EvidenceStatusEnum": "governance.choices.EvidenceStatus",
        "DefectStatusEnum": "governance.choices.DefectStatus",
        "DecisionKindEnum": "governance.choices.DecisionKind",
        "MeetingKindEnum": "governance.choices.MeetingKind",
        "MeetingStatusEnum": "governance.choices.MeetingStatus",
        "AgendaOutcomeEnum": "governance.choices.AgendaOutcome",
        "VoteChoiceEnum": "governance.choices.VoteChoice",
        "TouchesEnum": "governance.choices.Touches",
        "DrResultEnum": "releases.models.resilience.DrResult",
        "ApiVersionStatusEnum": "releases.models.interfaces.ApiVersionStatus",
        "ApiChangeKindEnum": "releases.models.interfaces.ApiChangeKind",
        "SignOffStatusEnum": "releases.models.interfaces.SignOffStatus",
        "ScopeChangeKindEnum": "releases.models.scope_changes.ScopeChangeKind",
        "ScopeChangeStatusEnum": "releases.models.scope_changes.ScopeChangeStatus",
        "TestResultStatusEnum": "releases.models.validation.TestResultStatus",
        "TargetStatusEnum": "releases.models.targets.TargetStatus",
        "TargetKindEnum": "releases.models.targets.TargetKind",
        "RolloutDecisionKindEnum": "releases.models.targets.RolloutDecisionKind",
        "TicketClassificationEnum": "metrics.models.tickets.TicketClassification",
        "TicketSentimentEnum": "metrics.models.tickets.TicketSentiment",
        "PostMortemStatusEnum": "metrics.models.postmortems.PostMortemStatus",
        "PostMortemActionStatusEnum": "metrics.models.postmortems.ActionStatus",
        "ContributingFactorCategoryEnum": "metrics.models.postmortems.FactorCategory",
        "ChecklistRunItemStatusEnum": "metrics.models.checklists.RunItemStatus",
    },
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "tokenAuth": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": 'Token-based authentication with required prefix "Token"',
            }
        }
    },
}

# Celery: Redis when REDIS_URL is set, otherwise a filesystem broker under var/.
REDIS_URL = env_str("REDIS_URL", "")
_BROKER_DIR = Path(env_str("CELERY_BROKER_DIR", str(VAR_DIR / "broker")))
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
else:
    for sub in ("in", "processed", "control"):
        (_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "in"),
        "data_folder_out": str(_BROKER_DIR / "in"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
# Why a record changed is kept in full: a reason may quote a user's comment, and PostgreSQL
# refuses a value longer than simple-history's default varchar(100).
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# The freeze check looks back twice this interval (scheduling.freeze_watch).
FREEZE_CHECK_SECONDS = env_int("FREEZE_CHECK_SECONDS", 300)
CELERY_BEAT_SCHEDULE = {
    "flag-stalled-deployments": {
        "task": "releases.tasks.flag_stalled_deployments_task",
        "schedule": env_int("STALL_CHECK_SECONDS", 300),
    },
    "freeze-check": {
        "task": "scheduling.tasks.freeze_check_task",
        "schedule": FREEZE_CHECK_SECONDS,
        # A check that waited longer than one interval is superseded by the next one.
        "options": {"expires": FREEZE_CHECK_SECONDS},
    },
}
DEPLOYMENT_STALL_HOURS = env_int("DEPLOYMENT_STALL_HOURS", 6)
# Late defects (governance.defects): escalate blocking defects this many days before the
# planned start; a residual-risk acceptance lasts at most RISK_ACCEPTANCE_MAX_DAYS.
DEFECT_ESCALATION_DAYS = env_int("DEFECT_ESCALATION_DAYS", 3)
DEFECT_ESCALATION_CHECK_SECONDS = env_int("DEFECT_ESCALATION_CHECK_SECONDS", 900)
RISK_ACCEPTANCE_MAX_DAYS = env_int("RISK_ACCEPTANCE_MAX_DAYS", 30)
# A high-availability service needs a passed DR test this recent before a production release.
DR_VALIDITY_DAYS = env_int("DR_VALIDITY_DAYS", 90)
CELERY_BEAT_SCHEDULE["escalate-late-defects"] = {
    "task": "governance.tasks.escalate_defects_task",
    "schedule": DEFECT_ESCALATION_CHECK_SECONDS,
    "options": {"expires": DEFECT_ESCALATION_CHECK_SECONDS},
}
# Where evidence pack archives are written (governance.evidence).
EVIDENCE_DIR = Path(env_str("EVIDENCE_DIR", str(VAR_DIR / "evidence")))
# An emergency change must be reviewed within this many days of its approval.
EMERGENCY_RETROSPECTIVE_DAYS = env_int("EMERGENCY_RETROSPECTIVE_DAYS", 5)
# How often owners and authors of emergency changes with overdue reviews are reminded.
RETROSPECTIVE_CHECK_SECONDS = env_int("RETROSPECTIVE_CHECK_SECONDS", 3600)
CELERY_BEAT_SCHEDULE["notify-overdue-retrospectives"] = {
    "task": "governance.tasks.notify_overdue_retrospectives_task",
    "schedule": RETROSPECTIVE_CHECK_SECONDS,
    "options": {"expires": RETROSPECTIVE_CHECK_SECONDS},
}
# The KPI watch after a production deployment (metrics.stabilisation): how long it lasts, how
# far before the deployment the baseline looks, and how often new samples are compared.
STABILISATION_HOURS = env_int("STABILISATION_HOURS", 72)
STABILISATION_BASELINE_HOURS = env_int("STABILISATION_BASELINE_HOURS", 24)
KPI_WATCH_SECONDS = env_int("KPI_WATCH_SECONDS", 300)
CELERY_BEAT_SCHEDULE["kpi-watch"] = {
    "task": "metrics.jobs_kpis.kpi_watch_task",
    "schedule": KPI_WATCH_SECONDS,
    "options": {"expires": KPI_WATCH_SECONDS},
}
# Overdue post-mortem actions: owners are reminded once a day (deduplicated per day).
CELERY_BEAT_SCHEDULE["postmortem-overdue-actions"] = {
    "task": "metrics.jobs_postmortems.overdue_actions_task",
    "schedule": 3600,
    "options": {"expires": 3600},
}
# Daily metrics rollups (metrics.jobs_rollups): how often recent/dirty days are rebuilt.
ROLLUP_REFRESH_SECONDS = env_int("ROLLUP_REFRESH_SECONDS", 600)
ROLLUP_RECENT_DAYS = env_int("ROLLUP_RECENT_DAYS", 3)
# The job looks for history changed since its previous run started minus this margin, so a
# change written by a transaction (an import) still open when that run started is not lost.
ROLLUP_CHANGE_OVERLAP_SECONDS = env_int("ROLLUP_CHANGE_OVERLAP_SECONDS", 3600)
CELERY_BEAT_SCHEDULE["metrics-rollups"] = {
    "task": "metrics.jobs_rollups.refresh_rollups_task",
    "schedule": ROLLUP_REFRESH_SECONDS,
    "options": {"expires": ROLLUP_REFRESH_SECONDS},
}

# Release quality scores (metrics.quality_score): releases deployed to production in the last
# this many days are recomputed by the nightly job.
QUALITY_SCORE_DAYS = env_int("QUALITY_SCORE_DAYS", 30)
QUALITY_SCORE_SECONDS = env_int("QUALITY_SCORE_SECONDS", 24 * 3600)
CELERY_BEAT_SCHEDULE["quality-scores"] = {
    "task": "metrics.jobs_quality.quality_scores_task",
    "schedule": QUALITY_SCORE_SECONDS,
    "options": {"expires": QUALITY_SCORE_SECONDS},
}
# An incident without an explicit cause is attributed to the latest production deployment of
# its service that finished at most this many hours before it started (metrics.attribution).
INCIDENT_ATTRIBUTION_HOURS = env_int("INCIDENT_ATTRIBUTION_HOURS", 24)
# A support ticket opened this soon after a production deployment of its service may be
# release-related (metrics.triage).
TRIAGE_WINDOW_HOURS = env_int("TRIAGE_WINDOW_HOURS", 72)

# --- Job reliability (issue 8) ---
# Late acknowledgement: a message is acknowledged after its task finished, so a worker that dies
# (SIGKILL, OOM, a lost machine) leaves it to be delivered again; a pool child killed under a
# live worker is rejected back to the queue too. One message reserved at a time per process, so
# a crash re-delivers at most one in-flight job and nothing sits hidden in a dead prefetch.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis re-delivers an unacknowledged message this many seconds after it was taken. Longer than
# the longest job (evidence packs, full rollup rebuilds) or a slow job would run twice; a
# crashed worker's job waits this long before another worker picks it up. (See
# docs/operations.md.) Tasks sent with a countdown/eta longer than this are also re-delivered.
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
if REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = CELERY_VISIBILITY_TIMEOUT
# The queue tasks go to when sent without one (a test routes beat and worker to its own).
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
# Backups written by `make backup` (releasemgr.management.commands.backup_db).
BACKUP_DIR = Path(env_str("BACKUP_DIR", str(VAR_DIR / "backups")))

# Release-manager specific knobs.
RELEASE_KEY_PREFIX = env_str("RELEASE_KEY_PREFIX", "REL")
TOKEN_LAST_USED_RESOLUTION_SECONDS = env_int("TOKEN_LAST_USED_RESOLUTION_SECONDS", 60)

# --- Notifications and outbound webhooks (issue 8) ---
# Email: the console backend by default (make run prints mails); SMTP in production, e.g.
# EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend EMAIL_HOST=smtp.example.com.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "releasemgr@localhost")
# Links in mails and chat posts are made absolute with this.
NOTIFY_BASE_URL = env_str("NOTIFY_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Email, chat and webhook deliveries: attempts before a delivery is marked failed, and the
# exponential backoff between them (base * 2**(attempt-1), capped).
DELIVERY_MAX_ATTEMPTS = env_int("DELIVERY_MAX_ATTEMPTS", 6)
DELIVERY_BACKOFF_SECONDS = env_int("DELIVERY_BACKOFF_SECONDS", 30)
DELIVERY_BACKOFF_MAX_SECONDS = env_int("DELIVERY_BACKOFF_MAX_SECONDS", 3600)
# A delivery claimed by a worker that died is handed back after this long.
DELIVERY_CLAIM_TIMEOUT_SECONDS = env_int("DELIVERY_CLAIM_TIMEOUT_SECONDS", 600)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
# Optional SSRF guard: when set, webhook and chat URLs must point at one of these hosts
# (exact names, or ".example.com" for a domain and its subdomains).
WEBHOOK_ALLOWED_HOSTS = env_list("WEBHOOK_ALLOWED_HOSTS", [])
DELIVERY_SWEEP_SECONDS = env_int("DELIVERY_SWEEP_SECONDS", 60)
CELERY_BEAT_SCHEDULE["notify-delivery-sweep"] = {
    "task": "releasemgr.tasks_notify.sweep_deliveries_task",
    "schedule": DELIVERY_SWEEP_SECONDS,
    "options": {"expires": DELIVERY_SWEEP_SECONDS},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Secrets never reach the logs (releasemgr.logging): request lines and messages redacted.
    "filters": {"redact": {"()": "releasemgr.logging.RedactingFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Django's own handlers (runserver's request lines) would bypass the filter.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# --- Limits and hardening (issue 8) ---
# API rate limit per token (or per signed-in user on session calls), "<count>/<s|min|hour|day>"
# or "off"; a token's own ApiToken.rate_limit overrides it. Counted in the shared cache below.
API_RATE_LIMIT = env_rate("API_RATE_LIMIT", "600/min")
API_RATE_LIMIT_CACHE = "default"
# Every process must see the same counters: Redis when REDIS_URL is set, else the database
# cache (its table is made by `manage.py createcachetable`, run by `make migrate`; the test
# runner makes it in the test database). Never the per-process LocMemCache.
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "releasemgr_cache",
        }
    }
# Web sign-in lock-out (releasemgr.security.login_lockout): this many failures for one username
# within the window lock it for LOGIN_LOCKOUT_SECONDS. Per-IP counting is off by default: behind
# a proxy REMOTE_ADDR is the proxy, and one noisy client would lock everybody out.
LOGIN_LOCKOUT_FAILURES = env_int("LOGIN_LOCKOUT_FAILURES", 5)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 900)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900)
LOGIN_LOCKOUT_IP_FAILURES = env_int("LOGIN_LOCKOUT_IP_FAILURES", 0)
# The sign-in log (Sign-ins page) is kept this many days; the daily housekeeping job deletes
# older rows and expired sessions (releasemgr.signins.prune).
LOGIN_ATTEMPT_RETENTION_DAYS = env_int("LOGIN_ATTEMPT_RETENTION_DAYS", 90)
HOUSEKEEPING_SECONDS = env_int("HOUSEKEEPING_SECONDS", 24 * 3600)
CELERY_BEAT_SCHEDULE["security-housekeeping"] = {
    "task": "releasemgr.tasks_notify.security_housekeeping_task",
    "schedule": HOUSEKEEPING_SECONDS,
    "options": {"expires": HOUSEKEEPING_SECONDS},
}
# Sessions: ended after this long without a request, and this long after sign-in whatever
# happens; filed under their user so deactivating a user ends them all (releasemgr.security).
SESSION_ENGINE = "releasemgr.security"
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_TIMEOUT", 30 * 60)
SESSION_ABSOLUTE_TIMEOUT = env_int("SESSION_ABSOLUTE_TIMEOUT", 12 * 3600)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Security headers in every mode, not only production.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
PERMISSIONS_POLICY = env_str(
    "PERMISSIONS_POLICY",
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()",
)
# Content-Security-Policy (releasemgr.security.SecurityHeadersMiddleware); {nonce} is the
# request's nonce (templates: nonce="{{ request.csp_nonce }}"). Style attributes stay allowed:
# they cannot run script, and the templates use them for widths and colours.
CSP_DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self' {nonce}",
    "style-src": "'self' {nonce}",
    "style-src-attr": "'unsafe-inline'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
}
CSP_REPORT_ONLY = env_bool("CSP_REPORT_ONLY", False)

if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"
    SESSION_COOKIE_HTTPONLY = True

# --- Health, metrics and structured logs (issue 8) ---
# LOG_FORMAT=plain (make run) or json (production: one JSON object per line with time, level,
# logger, message, request_id, user, route, method, status, duration_ms; releasemgr.logging).
# Both formats carry the request id and the Celery task, and both are redacted.
LOG_FORMAT = env_str("LOG_FORMAT", "plain").strip().lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r} is not a log format (use plain or json)")
LOGGING["formatters"] = {
    "plain": {"()": "releasemgr.logging.PlainFormatter"},
    "json": {"()": "releasemgr.logging.JsonFormatter"},
}
LOGGING["filters"]["context"] = {"()": "releasemgr.logging.RequestContextFilter"}
LOGGING["filters"]["quiet_probes"] = {"()": "releasemgr.logging.QuietProbesFilter"}
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT
LOGGING["handlers"]["console"]["filters"] = ["context", "redact"]
LOGGING["loggers"]["django.server"]["filters"] = ["quiet_probes"]
# /metrics (Prometheus): a bearer token, or a client address (REMOTE_ADDR; addresses or CIDR
# networks) in the allow-list. Behind a proxy every client has the proxy's address: use the token.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", ["127.0.0.1", "::1"])
for _entry in METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_entry, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {_entry!r} is not an address") from _exc
# /readyz gives up on the broker after this long (Redis connect and PING).
READYZ_TIMEOUT_SECONDS = env_int("READYZ_TIMEOUT_SECONDS", 2)
# Load balancers and Prometheus may probe over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# --- Single sign-on (issue 8) ---
# OpenID Connect through mozilla-django-oidc, on when OIDC_RP_CLIENT_ID is set (see README
# "Single sign-on (OIDC)"); releasemgr.sso_config reads and checks every OIDC_* variable.
# Without it nothing changes: local accounts and the sign-in form only (make run).
from releasemgr.sso_config import oidc_settings  # noqa: E402

_OIDC = oidc_settings(os.environ)
globals().update(_OIDC)  # OIDC_ENABLED, OIDC_RP_CLIENT_ID, OIDC_GROUP_ROLE_MAP, ...
INSTALLED_APPS.append("mozilla_django_oidc")
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
if _OIDC["OIDC_ENABLED"]:
    AUTHENTICATION_BACKENDS.insert(0, "releasemgr.sso.OIDCBackend")
    if not _OIDC["OIDC_ALLOW_LOCAL_LOGIN"]:
        # Passwords no longer sign anybody in; the provider is the only way in.
        AUTHENTICATION_BACKENDS.remove("django.contrib.auth.backends.ModelBackend")
