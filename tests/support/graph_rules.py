"""What every request the portal sends to Meta must respect: no Graph feature new apps may not use."""

import json
from urllib.parse import parse_qs, urlsplit

LEGACY_PARAMETERS = ("ids", "date_format", "method", "callback")


def legacy_features(url, body=""):
    """Return the legacy Graph features a request to Meta uses (reference §0.2 rule 1), [] for none.

    New apps (since 2026-11-04, any version) may not use multi-ID reads (ids), date_format, HTTP
    method override, field aliases (.as()), JSONP callbacks or asynchronous batches. A batch's
    items are read too.
    """
    parts = urlsplit(url)
    if not parts.netloc.startswith("graph."):
        return []
    form = parse_qs(body or "")
    requests = [(parts.path, parse_qs(parts.query)), ("", form)]
    for item in json.loads(form["batch"][0]) if "batch" in form else []:
        relative = urlsplit(str(item.get("relative_url", "")))
        requests.append((relative.path, parse_qs(relative.query)))
    found = []
    for path, query in requests:
        found += [name for name in LEGACY_PARAMETERS if name in query]
        if any(".as(" in fields for fields in query.get("fields", [])):
            found.append("field alias")
        if path.rstrip("/").endswith("async_batch_requests"):
            found.append("asynchronous batch")
    found += ["asynchronous batch" for name in ("asynchronous", "is_async") if name in form]
    return found
