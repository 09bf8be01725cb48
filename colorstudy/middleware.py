"""The site's own middleware: 503 while the database is unreachable, and the CSP header built once."""
from __future__ import annotations

import logging

from csp.constants import HEADER
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse

logger = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    """Answer 503 (retry later), not 500, while the database is unreachable (a restart, a failover)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, OperationalError | InterfaceError):
            logger.warning("database unavailable for %s: %s", request.path, exception)
            response = HttpResponse(
                "The study is briefly unavailable. Please try again in a few seconds; your answers so far are saved.",
                status=503, content_type="text/plain",
            )
            response["Retry-After"] = "5"
            return response
        return None


# What a view or decorator can set on a response to change django-csp's policy for it.
_CSP_OVERRIDES = ("_csp_config", "_csp_update", "_csp_replace", "_csp_exempt",
                  "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro", "_csp_exempt_ro")


class CachedCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, with the policy of a response that uses no nonce and no per-view
    override built once instead of on every response (a tenth of a vote's CPU under cProfile).
    Most answers of the site, every vote's JSON included, are such responses. Anything else, and
    every response while DEBUG is on or a report-only policy is set, goes through django-csp."""

    _cache: tuple[object, str] | None = None  # (the settings' policy object, its header)

    def _plain_policy(self) -> str:
        config = settings.CONTENT_SECURITY_POLICY
        if self._cache is None or self._cache[0] is not config:  # settings changed (tests do)
            type(self)._cache = (config, build_policy())
        return self._cache[1]

    def process_response(self, request, response):
        if (settings.DEBUG or getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
                or getattr(request, "_csp_nonce", None) is not None or HEADER in response
                or any(hasattr(response, name) for name in _CSP_OVERRIDES)
                or (settings.CONTENT_SECURITY_POLICY or {}).get("EXCLUDE_URL_PREFIXES")):
            return super().process_response(request, response)
        if policy := self._plain_policy():
            response[HEADER] = policy
        # As django-csp does: a nonce asked for after the header is written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
