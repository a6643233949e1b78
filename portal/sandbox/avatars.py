"""Profile pictures for the fictional Instagram accounts: SVG initials, served by the sandbox."""

import hashlib

from flask import abort, current_app, request, url_for
from markupsafe import escape

from portal.sandbox import bp, people

COLOURS = ("#3b3f9e", "#17653a", "#7a4d00", "#a3202a", "#23606e", "#6a3d8f", "#8a4b2a", "#2f5d9e")
SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="150" height="150" viewBox="0 0 150 150">
<title>{title}</title><rect width="150" height="150" fill="{colour}"/>
<text x="75" y="75" dy="0.35em" text-anchor="middle" font-family="sans-serif" font-size="56"
 font-weight="700" fill="#ffffff">{initials}</text></svg>
"""


def avatar_url(username):
    """Return the absolute URL of an account's picture, at the address people reach the portal."""
    base = current_app.config.get("BASE_URL") or request.url_root
    return base.rstrip("/") + url_for("sandbox.avatar", username=username)


def _initials(name):
    words = [word for word in name.replace("·", " ").split() if word[0].isalnum()]
    return "".join(word[0] for word in words[:2]).upper() or "?"


@bp.get("/static/avatar/<username>.svg")
def avatar(username):
    """Serve an account's profile picture: its initials on a colour of its own."""
    account = people.instagram_account(username) or abort(404)
    colour = COLOURS[int(hashlib.sha256(username.encode()).hexdigest(), 16) % len(COLOURS)]
    body = SVG.format(title=escape(account.username), colour=colour, initials=escape(_initials(account.name)))
    response = current_app.response_class(body, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
