"""Answer 503 (retry later), not 500, while the database is unreachable (a restart, a failover)."""
from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse

logger = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
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
