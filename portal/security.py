"""Response headers and redirect checks that every page relies on."""

from urllib.parse import urlsplit

from flask import request

HTMX_VERSION = "2.0.11"
HTMX_URL = f"https://cdn.jsdelivr.net/npm/htmx.org@{HTMX_VERSION}/dist/htmx.min.js"
# The SRI hash of that exact file, as published on npm (dist/htmx.min.js).
HTMX_INTEGRITY = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"


def content_security_policy(https):
    """Return the CSP: only our own files, plus the one pinned htmx file."""
    policy = [
        "default-src 'self'",
        f"script-src 'self' {HTMX_URL}",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
    if https:
        policy.append("upgrade-insecure-requests")
    return "; ".join(policy)


def add_security_headers(response, https=False):
    """Set the headers every response carries, pages, fragments and errors alike."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(https))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    # A client's report (/r/<token>) sends no address at all: its own is the capability.
    headers.setdefault("Referrer-Policy", "no-referrer" if request.path.startswith("/r/") else "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if https:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.path.startswith(("/link/", "/r/", "/meta/deletion-status/")):
        # Capability links: keep them, and any 404 for them, out of search engines.
        headers.setdefault("X-Robots-Tag", "noindex, nofollow")
    if not request.path.startswith("/static/"):
        # Staff pages and Link Accounts Pages hold personal data and capability links.
        headers.setdefault("Cache-Control", "no-store")
    return response


def safe_next_url(target, default):
    """Return target if it is a path on this site, else default (no open redirects)."""
    if not target or not isinstance(target, str):
        return default
    cleaned = "".join(ch for ch in target if ch >= " " and ch != "\x7f").replace("\\", "/")
    if cleaned != target.replace("\\", "/") or not cleaned.startswith("/"):
        return default
    if cleaned.startswith("//"):
        return default
    parts = urlsplit(cleaned)
    if parts.scheme or parts.netloc:
        return default
    return cleaned
