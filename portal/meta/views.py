"""The Meta callbacks: signed by Meta, so exempt from the session's CSRF token, never unauthenticated."""

import json
import logging

from flask import Response, abort, current_app, jsonify, render_template, request

from portal.addresses import absolute_url
from portal.compliance import platform_data
from portal.extensions import csrf, limiter
from portal.graph.signatures import (
    InvalidSignedRequest,
    parse_signed_request,
    signature_matches,
    verify_token_matches,
)
from portal.insights.webhooks import record_story_insights
from portal.meta import bp
from portal.models import DeletionRequest

log = logging.getLogger(__name__)

# Meta's callbacks are signed with the secret of the app the person used: try each in turn.
APP_SECRETS = (("facebook", "FACEBOOK_CLIENT_SECRET"), ("instagram", "INSTAGRAM_CLIENT_SECRET"))
STATUS_RATE_LIMIT = "30 per minute"


def _verified_user():
    """Return (provider, app-scoped user id) of the request's signed_request, or answer 400."""
    reasons = []
    for provider, setting in APP_SECRETS:
        try:
            secret = current_app.config.get(setting)
            payload = parse_signed_request(request.form.get("signed_request"), secret)
        except InvalidSignedRequest as error:
            reasons.append(f"{provider}: {error}")
        else:
            return provider, payload["user_id"]
    # The reason only: the signed_request itself identifies a person.
    log.warning("Refused a Meta callback to %s (%s)", request.path, "; ".join(reasons))
    abort(400)


def _forbidden():
    return Response("Forbidden", 403, mimetype="text/plain")


def _status_url(code):
    # Meta shows this address to the person.
    return absolute_url("meta.deletion_status", code=code)


@bp.post("/meta/deauthorize")
@csrf.exempt
def deauthorize():
    provider, user_id = _verified_user()
    revoked = platform_data.deauthorize(provider, user_id)
    log.info("Meta deauthorized a %s user: %d account(s) revoked", provider, len(revoked))
    return jsonify(status="ok")


@bp.post("/meta/data-deletion")
@csrf.exempt
def data_deletion():
    provider, user_id = _verified_user()
    deletion = platform_data.delete_platform_data(provider, user_id)
    code = deletion.confirmation_code
    return jsonify(url=_status_url(code), confirmation_code=code)


@bp.get("/meta/deletion-status/<code>")
@limiter.limit(STATUS_RATE_LIMIT)
def deletion_status(code):
    deletion = DeletionRequest.by_code(code) or abort(404)
    return render_template("meta/deletion_status.html", deletion=deletion)


@bp.get("/meta/webhook")
def webhook_verify():
    args = request.args
    expected = current_app.config.get("META_WEBHOOK_VERIFY_TOKEN")
    if args.get("hub.mode") != "subscribe" or not verify_token_matches(
        args.get("hub.verify_token"), expected
    ):
        return _forbidden()
    return Response(args.get("hub.challenge", ""), mimetype="text/plain")


@bp.post("/meta/webhook")
@csrf.exempt
def webhook_receive():
    body = request.get_data()  # the raw bytes: the signature covers them, not a re-encoding
    secret = current_app.config.get("FACEBOOK_CLIENT_SECRET")
    if not signature_matches(body, request.headers.get("X-Hub-Signature-256"), secret):
        log.warning("Refused a webhook delivery: signature missing or wrong")
        return _forbidden()
    try:
        payload = json.loads(body)
    except ValueError:
        abort(400)
    # Unknown stories are skipped with a 200 too: Meta retries failures, and would retry these forever.
    record_story_insights(payload)
    return jsonify(status="ok")
