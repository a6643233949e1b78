"""Faults and latency on request, for tests and benchmarks, and the rate-limit usage headers.

SANDBOX_LATENCY_MS (default 0): every Graph API or batch answer waits this long first.
SANDBOX_FAULTS (a dict, default None): {"ig:<ig-user-id or username>": fault} makes every Graph
call about that Instagram account (its node, edges, media and stories) fail:
  "190"       error 190/463, the session has expired
  "500"       HTTP 500, error 2 with is_transient
  "throttle"  error 80002 (Instagram business use case limit) with X-Business-Use-Case-Usage at 100%
              for this account only: the others answer as usual
  "timeout"   the answer takes TIMEOUT_SECONDS, longer than the portal's read timeout
and {"app": "throttle"} limits the whole app: every call answers error 4 with X-App-Usage at 100%.
"""

import json
import logging
import time

from flask import current_app

from portal.sandbox import seeds, tokens
from portal.sandbox.errors import Refusal

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 30
BUSINESS_USAGE = "X-Business-Use-Case-Usage"
APP_USAGE = json.dumps({"call_count": 1, "total_time": 1, "total_cputime": 1})
APP_LIMITED = json.dumps({"call_count": 100, "total_time": 25, "total_cputime": 25})
APP_THROTTLED = "(#4) Application request limit reached"
THROTTLED = (
    "(#80002) There have been too many calls to this Instagram account. Wait a bit and try again. For more "
    "info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting."
)


def sleep(seconds):
    """Wait; tests replace this to count the waits instead."""
    time.sleep(seconds)


def add_latency():
    """Wait SANDBOX_LATENCY_MS before answering."""
    delay = current_app.config.get("SANDBOX_LATENCY_MS") or 0
    if delay > 0:
        sleep(delay / 1000)


def usage_headers(account, throttled=False):
    """Return the X-Business-Use-Case-Usage header Meta sends with calls about an Instagram account."""
    usage = 100 if throttled else 1
    entry = {
        "type": "instagram",
        "call_count": usage,
        "total_cputime": 20 if throttled else 1,
        "total_time": 20 if throttled else 1,
        "estimated_time_to_regain_access": 15 if throttled else 0,
    }
    return {BUSINESS_USAGE: json.dumps({account.id: [entry]}, separators=(",", ":"))}


def _app_fault():
    return (current_app.config.get("SANDBOX_FAULTS") or {}).get("app")


def app_usage():
    """Return the X-App-Usage header of every Graph answer: 1% used, or 100% while the app is limited."""
    return APP_LIMITED if _app_fault() == "throttle" else APP_USAGE


def apply_to_app():
    """Raise Meta's app-level rate limit error (code 4) while SANDBOX_FAULTS limits the whole app."""
    if _app_fault() == "throttle":
        raise Refusal(tokens.graph_error(APP_THROTTLED, 4), headers={"X-App-Usage": APP_LIMITED})


def fault_for(account):
    """Return the fault configured for this Instagram account, or None."""
    faults = current_app.config.get("SANDBOX_FAULTS") or {}
    fault = faults.get(f"ig:{account.id}") or faults.get(f"ig:{account.username}")
    return str(fault) if fault is not None else None


def apply(account):
    """Raise the configured fault for a call about this account (or wait, for "timeout")."""
    fault = fault_for(account)
    if fault is None:
        return
    if fault == "190":
        raise Refusal(tokens.expired_token_error({"exp": seeds.now() - 3600}))
    if fault == "500":
        message = "An unexpected error has occurred. Please retry your request later."
        raise Refusal(tokens.graph_error(message, 2, transient=True, status=500))
    if fault == "throttle":
        raise Refusal(tokens.graph_error(THROTTLED, 80002), headers=usage_headers(account, throttled=True))
    if fault == "timeout":
        sleep(TIMEOUT_SECONDS)
        return
    log.warning("Unknown SANDBOX_FAULTS value %r for %s ignored", fault, account.username)
