"""Creators: the list, the profile with its tabs, handles, and the Link Accounts Page panel."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from playhouse.flask_utils import get_object_or_404

from portal.addresses import link_page_address
from portal.connections import funnel
from portal.connections.funnel import Stage
from portal.connections.handles import add_creator, add_handle
from portal.connections.link_health import losing_data_access
from portal.connections.ownership import CannotMove, also_listed, move_handle
from portal.db import utcnow
from portal.htmx import fragment_or_redirect, is_htmx_swap, render_page_or_fragment
from portal.ids import parse_id
from portal.insights import figures
from portal.invitation import mailto_url, render_text
from portal.models import (
    Campaign,
    Creator,
    DuplicateHandle,
    InvitationTemplate,
    LedgerEntry,
    ReportLink,
    SocialAccount,
)
from portal.paging import page_number
from portal.prepared import by_id
from portal.staff import bp
from portal.staff.auth import staff_actor
from portal.staff.forms import CreatorForm, HandleForm, LinkTokenForm, NewCreatorForm
from portal.staff.mail import invitation_state


def _creator_or_404(creator_id):
    return by_id(Creator, creator_id) or abort(404)


@bp.get("/")
@login_required
def index():
    return redirect(url_for("staff.creator_list"))


@bp.get("/creators")
@login_required
def creator_list():
    query = request.args.get("q", "")[:100]
    stage = request.args.get("stage", "")
    stage = stage if stage in Stage.LABELS else None  # an unknown stage shows every creator
    number, now = page_number(request.args.get("page")), utcnow()
    per_page, kept = current_app.config["PER_PAGE"], current_app.extensions["kept"]
    page, counts = funnel.creator_page(query, stage, number, per_page, now, kept)
    return render_page_or_fragment(
        "staff/creator_list.html",
        "staff/partials/creator_results.html",
        page=page,
        query=query,
        stage=stage,
        stage_counts=counts,
        stage_labels=Stage.LABELS,
        losing=[] if is_htmx_swap() else losing_data_access(now),  # only the full page shows it
        campaigns=Campaign.choice_list(),  # the "add the ticked creators to a campaign" form
    )


@bp.route("/creators/new", methods=["GET", "POST"])
@login_required
def creator_new():
    form = NewCreatorForm()
    if form.validate_on_submit():
        count = len(form.usernames)
        creator = add_creator(form.name.data.strip(), form.email.data or None, form.usernames, staff_actor())
        handles = f" with {count} Instagram handle{'' if count == 1 else 's'}" if count else ""
        flash(f"{creator.name} was added{handles}.", "success")
        return redirect(url_for("staff.creator_accounts", creator_id=creator.id))
    return render_template("staff/creator_form.html", form=form, creator=None), 422 if form.errors else 200


@bp.route("/creators/<int:creator_id>/edit", methods=["GET", "POST"])
@login_required
def creator_edit(creator_id):
    creator = _creator_or_404(creator_id)
    form = CreatorForm(obj=creator)
    if form.validate_on_submit():
        creator.name = form.name.data.strip()
        creator.email = form.email.data or None
        creator.updated_at = utcnow()
        creator.save()
        flash("Changes saved.", "success")
        return redirect(url_for("staff.creator_detail", creator_id=creator.id))
    return render_template("staff/creator_form.html", form=form, creator=creator), 422 if form.errors else 200


def _render_profile(creator, panel, **context):
    """Render the profile with one panel, or only that panel for an htmx tab switch."""
    return render_page_or_fragment(
        "staff/creator.html",
        "staff/partials/creator_body.html",
        creator=creator,
        panel=panel,
        **context,
    )


@bp.get("/creators/<int:creator_id>")
@login_required
def creator_detail(creator_id):
    return profile_overview(_creator_or_404(creator_id))


def profile_overview(creator, status=200, **extra):
    """The profile's Overview: facts, campaigns, client report links (extra: the report form's state)."""
    joined = Campaign.of_creator(creator.id)
    response = _render_profile(
        creator,
        "creator_overview",
        accounts=creator.account_list(),
        creator_campaigns=list(joined),
        other_campaigns=list(Campaign.choices().where(Campaign.id.not_in(joined.select(Campaign.id)))),
        report_links=ReportLink.of_creator(creator),
        progress=funnel.progress(creator, utcnow()),
        report_form=extra.pop("report_form", None),  # the form, once asked for (staff/reports.py)
        **extra,
    )
    response.status_code = status
    return response


def _account_list(creator):
    """Return the creator's accounts, their latest views and who else lists them (one query each)."""
    accounts = creator.account_list()
    return {
        "accounts": accounts,
        "latest_views": figures.latest_views(accounts),
        "also_listed": also_listed(creator, accounts),
    }


@bp.get("/creators/<int:creator_id>/accounts")
@login_required
def creator_accounts(creator_id):
    creator = _creator_or_404(creator_id)
    return _render_profile(creator, "account_panel", form=HandleForm(), **_account_list(creator))


def _account_list_response(creator, form, status=200, problem=None, notice=None):
    """Answer a handle change: the account list for htmx, the tab page otherwise."""
    return fragment_or_redirect(
        "staff/partials/account_list.html",
        url_for("staff.creator_accounts", creator_id=creator.id),
        status=status,
        message=notice,
        page="staff/creator.html",
        panel="account_panel",
        creator=creator,
        form=form,
        problem=problem,
        done=notice,  # not "notice": each row has its own
        **_account_list(creator),
    )


@bp.post("/creators/<int:creator_id>/accounts")
@login_required
def account_add(creator_id):
    creator = _creator_or_404(creator_id)
    form = HandleForm()
    if form.validate_on_submit():
        try:
            add_handle(creator, form.username, staff_actor())
        except DuplicateHandle as exc:
            form.handle.errors.append(str(exc))
            return _account_list_response(creator, form, 422)
        return _account_list_response(creator, HandleForm(formdata=None))
    return _account_list_response(creator, form, 422)


@bp.post("/creators/<int:creator_id>/accounts/<int:account_id>/delete")
@login_required
def account_delete(creator_id, account_id):
    creator = _creator_or_404(creator_id)
    account = get_object_or_404(SocialAccount.of_creator(creator.id, account_id))
    form = HandleForm(formdata=None)
    if not account.removable:
        problem = f"@{account.username} is {account.status_label.lower()}; unlink it first."
        return _account_list_response(creator, form, 409, problem)
    LedgerEntry.record("account_removed", staff_actor(), creator=creator, username=account.username)
    account.delete_instance()
    return _account_list_response(creator, form)


@bp.post("/creators/<int:creator_id>/accounts/<int:account_id>/move")
@login_required
def account_move(creator_id, account_id):
    creator = _creator_or_404(creator_id)
    account = get_object_or_404(SocialAccount.of_creator(creator.id, account_id))
    form = HandleForm(formdata=None)
    target = Creator.get_or_none(Creator.id == parse_id(request.form.get("to_creator")))
    if target is None or target.id == creator.id:
        problem = f"Choose another creator to move @{account.username} to."
        return _account_list_response(creator, form, 422, problem)
    try:
        kept = move_handle(account, target, staff_actor())
    except CannotMove as exc:
        return _account_list_response(creator, form, 409, str(exc))
    if kept.id == account.id:
        notice = f"@{account.username} now belongs to {target.name}."
    else:
        notice = f"@{account.username} was taken off {creator.name}'s list: {target.name} already lists it."
    return _account_list_response(creator, form, notice=notice)


def _invitation_context(creator, form=None):
    """What the Link Accounts panel shows: the link (while it works), the invitation, the funnel's facts."""
    expired = creator.link_expired(utcnow())
    link = link_page_address(creator)  # None once expired: not offered for copying or mailing
    template = InvitationTemplate.current()
    fill = {"name": creator.name, "company": current_app.config["COMPANY_NAME"], "link": link or ""}
    subject = render_text(template.subject, **fill)
    body = render_text(template.body, **fill)
    return {
        "link": link,
        "link_expired": expired,
        "invitation_subject": subject,
        "invitation_body": body,
        "mailto": mailto_url(creator.email, subject, body),
        "link_form": form or LinkTokenForm(formdata=None),
        "invited_by": creator.invited_by.email if creator.invited_by_id else None,
        **invitation_state(creator),
    }


@bp.get("/creators/<int:creator_id>/link-accounts")
@login_required
def creator_link_accounts(creator_id):
    creator = _creator_or_404(creator_id)
    return _render_profile(creator, "link_accounts", **_invitation_context(creator))


def _link_accounts_response(creator, status=200, message=None, form=None):
    """Answer an action of the Link Accounts panel: the panel for htmx, the tab page otherwise."""
    return fragment_or_redirect(
        "staff/partials/link_accounts.html",
        url_for("staff.creator_link_accounts", creator_id=creator.id),
        status=status,
        message=message,
        ok=status < 400,
        page="staff/creator.html",
        panel="link_accounts",
        creator=creator,
        notice=message if status < 400 else None,
        problem=message if status >= 400 else None,
        **_invitation_context(creator, form),
    )


@bp.post("/creators/<int:creator_id>/link-token")
@login_required
def link_token_rotate(creator_id):
    creator = _creator_or_404(creator_id)
    form = LinkTokenForm()
    if not form.validate_on_submit():
        return _link_accounts_response(creator, 422, form=form)
    creator.issue_link_token(form.valid_for)
    until = creator.link_expires_at.strftime("%d %b %Y, %H:%M UTC") if creator.link_expires_at else None
    LedgerEntry.record(
        "link_rotated", staff_actor(), creator=creator, **({"expires": until} if until else {})
    )
    message = "A new link was issued. The old link no longer works."
    return _link_accounts_response(
        creator, message=message + (f" The new one works until {until}." if until else "")
    )


@bp.post("/creators/<int:creator_id>/invited")
@login_required
def creator_mark_invited(creator_id):
    creator = _creator_or_404(creator_id)
    if not creator.link_token or creator.link_expired(utcnow()):
        return _link_accounts_response(
            creator, 409, "Issue a new link first: the invitation would carry no working link."
        )
    funnel.mark_invited(creator, current_user._get_current_object(), utcnow(), how="by hand")
    return _link_accounts_response(creator, message=f"{creator.name} is marked as invited.")
