"""One social account: its row's actions (refresh, switch, unlink), metrics page, CSV and story files."""

import re
from dataclasses import dataclass

from flask import Response, abort, current_app, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from playhouse.flask_utils import get_object_or_404

from portal.connections.link_health import link_health
from portal.connections.linking import unlink
from portal.connections.ownership import also_listed
from portal.db import utcnow
from portal.extensions import limiter
from portal.graph import facebook_graph
from portal.graph.days import meta_day
from portal.htmx import fragment_or_redirect
from portal.insights import export, figures, refresh
from portal.models import AccountStatus, Creator, LedgerEntry, SocialAccount
from portal.prepared import by_id
from portal.staff import bp
from portal.staff.auth import staff_actor

ACCOUNT = "/creators/<int:creator_id>/accounts/<int:account_id>"


@dataclass
class Notice:
    """What a row action did, said in the row (htmx) or flashed (a plain form post)."""

    text: str
    ok: bool = True
    outcome: str = "refreshed"  # for the ledger: refreshed, failed, throttled or nothing
    reason: str | None = None


def _account_or_404(creator_id, account_id):
    creator = by_id(Creator, creator_id) or abort(404)
    return creator, get_object_or_404(SocialAccount.of_creator(creator.id, account_id))


def _row(creator, account_id, notice=None, status=200):
    """Answer a row action: the fresh row for htmx, else the Social Accounts tab with the notice flashed."""
    account = SocialAccount.get_by_id(account_id)  # re-read: the action changed it
    return fragment_or_redirect(
        "staff/partials/account_row.html",
        url_for("staff.creator_accounts", creator_id=creator.id),
        status=status,
        message=notice and notice.text,
        ok=not notice or notice.ok,
        creator=creator,
        account=account,
        latest_views=figures.latest_views([account]),
        also_listed=also_listed(creator, [account]),
        notice=notice,
    )


def _refresh_notice(account, summary):
    if account.username in summary.refreshed:
        return Notice("Stats refreshed.")
    reason = summary.broken.get(account.username) or summary.failed.get(account.username)
    if reason:
        return Notice(f"Refresh failed. {reason}", ok=False, outcome="failed", reason=reason)
    if summary.throttled_until:
        until = f"{summary.throttled_until:%H:%M} UTC"
        text = f"Facebook asked us to slow down: try again after {until}."
        return Notice(text, ok=False, outcome="throttled", reason=f"until {until}")
    return Notice("Nothing was refreshed.", ok=False, outcome="nothing")


def _refresh_key():
    return f"account-refresh:{request.view_args.get('account_id')}"


def _refresh_refused(_limit):
    """Answer a refresh over the rate limit with the row saying so (or the tab, for a plain post)."""
    pair = request.view_args or {}
    creator = Creator.get_or_none(Creator.id == pair.get("creator_id"))
    account = creator and SocialAccount.of_creator(creator.id, pair.get("account_id")).first()
    if account is None:
        return None
    notice = Notice("Refreshed several times just now: wait a minute.", ok=False)
    return _row(creator, account.id, notice, 429)


@bp.post(f"{ACCOUNT}/refresh")
@limiter.limit(
    lambda: current_app.config["REFRESH_RATE_LIMIT"],
    key_func=_refresh_key,
    exempt_when=lambda: not current_user.is_authenticated,
    on_breach=_refresh_refused,
)
@login_required
def account_refresh(creator_id, account_id):
    creator, account = _account_or_404(creator_id, account_id)
    if account.status != AccountStatus.LINKED:
        why = f"Only linked accounts can be refreshed; @{account.username} is {account.status_label.lower()}."
        return _row(creator, account.id, Notice(why, ok=False), 409)
    client = facebook_graph(current_app.config)
    summary = refresh.refresh_account(client, account, archive=current_app.config["STORY_ARCHIVE"])
    notice = _refresh_notice(account, summary)
    outcome = {"outcome": notice.outcome, "reason": notice.reason}
    LedgerEntry.record("refreshed", staff_actor(), creator=creator, account=account, **outcome)
    return _row(creator, account.id, notice)


@bp.post(f"{ACCOUNT}/toggle")
@login_required
def account_toggle(creator_id, account_id):
    creator, account = _account_or_404(creator_id, account_id)
    wanted = request.form.get("enabled")
    enabled = wanted == "1" if wanted in ("0", "1") else not account.refresh_enabled
    account.set_refresh_enabled(enabled)
    action = "refresh_enabled" if enabled else "refresh_disabled"
    LedgerEntry.record(action, staff_actor(), creator=creator, account=account)
    state = "on" if enabled else "off"
    return _row(creator, account.id, Notice(f"Scheduled refresh is {state} for @{account.username}."))


@bp.post(f"{ACCOUNT}/unlink")
@login_required
def account_unlink(creator_id, account_id):
    creator, account = _account_or_404(creator_id, account_id)
    if account.removable:
        why = f"@{account.username} is {account.status_label.lower()}: there is no link to remove."
        return _row(creator, account.id, Notice(why, ok=False), 409)
    unlink(account, actor=staff_actor(), client=facebook_graph(current_app.config))
    text = f"@{account.username} is unlinked: its access was deleted; the figures read so far are kept."
    return _row(creator, account.id, Notice(text))


@bp.get(f"{ACCOUNT}/metrics")
@login_required
def account_metrics(creator_id, account_id):
    creator, account = _account_or_404(creator_id, account_id)
    now = utcnow()
    return render_template(
        "staff/account_metrics.html",
        creator=creator,
        account=account,
        figures=figures.account_figures(account, meta_day(now)),
        health=link_health(account, now, current_app.config["STORY_WEBHOOKS"]),
        story_src=lambda story: url_for(
            "staff.story_file", creator_id=creator.id, account_id=account.id, story_id=story.id
        ),
    )


@bp.get(f"{ACCOUNT}/metrics.csv")
@login_required
def account_metrics_csv(creator_id, account_id):
    _, account = _account_or_404(creator_id, account_id)
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", account.username) + "-figures.csv"
    return Response(
        export.csv_text(account),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get(f"{ACCOUNT}/stories/<int:story_id>/file")
@login_required
def story_file(creator_id, account_id, story_id):
    _, account = _account_or_404(creator_id, account_id)
    story = figures.story_of(account, story_id) or abort(404)
    path = figures.archived_path(story, current_app.config["STORY_ARCHIVE"]) or abort(404)
    return send_file(path)
