"""A fixed-window request count per token, kept in Django's default cache."""

import math
import time

from django.conf import settings
from django.core.cache import cache


def retry_after(token_pk: int) -> int | None:
    """Count one request; the seconds to wait when the token is over its limit, else None."""
    limit, window = settings.API_RATE_LIMIT, settings.API_RATE_LIMIT_WINDOW
    if not limit:
        return None
    now = time.time()
    start = int(now // window) * window
    key = f"api-rate:{token_pk}:{start}"
    cache.add(key, 0, timeout=window + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add() and incr()
        cache.set(key, 1, timeout=window + 1)
        count = 1
    if count <= limit:
        return None
    return max(1, math.ceil(start + window - now))
