"""A client's report: the page, its CSV and its archived stories, each checked against the link."""

from flask import abort, current_app, render_template, request, send_file, url_for
from markupsafe import Markup

from portal import reports
from portal.campaigns.roster import COLUMNS, roster_csv
from portal.clients import bp
from portal.db import database, utcnow
from portal.extensions import limiter
from portal.graph.days import meta_day
from portal.insights import figures
from portal.models import LedgerEntry, ReportLink, ReportVersion
from portal.paging import page_number
from portal.reports.rendered import RenderedPage, page_key


def _report_limit():
    return current_app.config["LINK_PAGE_RATE_LIMIT"]  # a capability link, guessed no faster than one


def _link(token):
    """Return the working report link for the token; unknown, revoked and expired links all get the
    same plain 404."""
    return ReportLink.find(token, utcnow()) or abort(404)


def _open(token, what):
    """Return the report link, its opening counted and written in the ledger."""
    link = _link(token)
    with database.atomic():  # one commit
        link.count_opening(utcnow())
        LedgerEntry.record(
            "report_opened",
            f"report link {link.id}",
            creator=link.creator_id,
            label=link.label,
            campaign=link.campaign.name if link.campaign_id else None,
            what=what,
        )
    return link


def _rendered(link, report_token, number):
    """Return the RenderedPage of this page of the report: the one kept, or one drawn now and kept."""
    now = utcnow()
    # The version first: a page drawn from rows newer than it is kept at worst too briefly.
    key = page_key(link, meta_day(now), number, ReportVersion.current())
    kept = current_app.extensions["rendered_reports"]
    page = kept.get(key)
    if page is None:
        report = reports.build(link, now, number)
        body = render_template(
            "clients/report_body.html",
            report=report,
            report_token=report_token,
            columns=COLUMNS,
            story_metrics=figures.AccountFigures.story_metrics,
            story_src=lambda story: url_for(
                "clients.report_story_file", report_token=report_token, story_id=story.id
            ),
        )
        page = kept.keep(key, RenderedPage(report.title, report.client, Markup(body)))
    return page


@bp.get("/r/<report_token>")
@limiter.limit(_report_limit)
def report(report_token):
    link = _open(report_token, "page")
    page = _rendered(link, report_token, page_number(request.args.get("page")))
    return render_template("clients/report.html", page=page)


@bp.get("/r/<report_token>/figures.csv")
@limiter.limit(_report_limit)
def report_csv(report_token):
    link = _open(report_token, "CSV")
    now = utcnow()
    span = reports.span_of(link, now)
    filename = f"report-{span.first.isoformat()}-{span.last.isoformat()}.csv"
    body = roster_csv(span, reports.every_row(link, now))
    return (
        body,
        200,
        {
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )


@bp.get("/r/<report_token>/stories/<int:story_id>")
@limiter.limit(_report_limit)
def report_story_file(report_token, story_id):
    link = _link(report_token)  # a picture of the page: not another opening
    story = reports.shown_story(link, story_id, utcnow()) or abort(404)
    path = figures.archived_path(story, current_app.config["STORY_ARCHIVE"]) or abort(404)
    return send_file(path, max_age=0)
