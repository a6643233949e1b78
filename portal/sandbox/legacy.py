"""Graph API features apps created after 2026-11-04 may not use, on any version (reference §0.1, §0.2).

Graph API v27's changelog: new apps cannot use multi-ID requests (?ids=), date/time formatting
(date_format), HTTP method override, field aliases (.as()), JSONP callbacks or asynchronous
batch requests. The sandbox is such an app, so it refuses each with error 100 naming it.
"""

import re

from portal.sandbox.errors import refuse

NOT_FOR_NEW_APPS = "is not available to apps created after November 4, 2026 (Graph API v27.0)"
ALIAS = re.compile(r"\.as\(")


def _refusal(feature):
    return refuse(f"(#100) {feature} {NOT_FOR_NEW_APPS}", 100)


def check_call(path, params):
    """Raise Meta's refusal when one call uses a legacy feature."""
    if "ids" in params:
        raise _refusal("Multi-ID lookup (the ids parameter)")
    if "date_format" in params:
        raise _refusal("Date formatting (the date_format parameter)")
    if "method" in params:
        raise _refusal("HTTP method override (the method parameter)")
    if "callback" in params or "jsonp" in params:
        raise _refusal("JSONP (the callback parameter)")
    if ALIAS.search(params.get("fields") or ""):
        raise _refusal("Field aliasing (.as())")
    if path.rstrip("/").endswith("async_batch_requests"):
        raise _refusal("Asynchronous batch requests")


def check_batch(params):
    """Raise Meta's refusal when a batch request asks to be run asynchronously."""
    if any(name in params for name in ("asynchronous", "is_async", "async")):
        raise _refusal("Asynchronous batch requests")
