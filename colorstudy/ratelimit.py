"""A per-client fixed-window rate limit on the cache (local memory, or Redis with REDIS_URL)."""
from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse


def client_address(request: HttpRequest) -> str:
    # Behind a reverse proxy the client is the first X-Forwarded-For hop; only trust it when told to.
    if getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "unknown")


def rate_limited(request: HttpRequest, scope: str, per_minute: int) -> HttpResponse | None:
    """A 429 response when this client made more than ``per_minute`` ``scope`` requests this minute."""
    if per_minute <= 0:
        return None
    window = int(time.time() // 60)
    key = f"rl:{scope}:{client_address(request)}:{window}"
    if cache.add(key, 1, timeout=70):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=70)
            count = 1
    if count > per_minute:
        response = HttpResponse("Too many requests; please wait a minute.", status=429, content_type="text/plain")
        response["Retry-After"] = str(60 - int(time.time()) % 60)
        return response
    return None
