"""Creators from a CSV file: upload, the preview with a verdict per row, the import and its summary."""

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from portal.creator_import import judging, reading, saving
from portal.db import utcnow
from portal.htmx import render_page_or_fragment
from portal.models import CreatorImport
from portal.staff import bp
from portal.staff.auth import staff_actor
from portal.staff.forms import CreatorImportForm

# The preview lists every row that will be skipped and the first new ones: a file of 10,000
# creators would otherwise be a page of 10,000 rows to scroll past to the button.
SHOWN_SKIPPED = 1000
SHOWN_NEW = 200


def _upload_page(form, status=200):
    limits = {"max_mb": reading.MAX_FILE_BYTES // 1024 // 1024, "max_rows": reading.MAX_ROWS}
    return render_template("staff/creator_import.html", form=form, **limits), status


@bp.route("/creators/import", methods=["GET", "POST"])
@login_required
def creator_import():
    form = CreatorImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            text = reading.file_text(upload.read(reading.MAX_FILE_BYTES + 1))
            reading.read_text(text)  # refuse a file that cannot be imported at all now, not later
        except reading.BadFile as exc:
            form.file.errors.append(str(exc))
        else:
            now = utcnow()
            CreatorImport.forget_expired(now)
            name = (upload.filename or "creators.csv")[-200:]
            pending = CreatorImport.create(
                staff=current_user.id, file_name=name, csv_text=text, created_at=now
            )
            return redirect(url_for("staff.creator_import_preview", import_id=pending.id))
    return _upload_page(form, 422 if form.errors else 200)


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(error):
    """Answer a file over the limit on the upload page itself, saying the limit; elsewhere the plain page."""
    if request.endpoint != "staff.creator_import":
        return render_template("errors/error.html", error=error), 413
    form = CreatorImportForm(formdata=None)
    form.file.errors = [reading.too_large_message(request.content_length or 0)]
    return _upload_page(form, 413)


@bp.get("/creators/import/sample.csv")
@login_required
def creator_import_sample():
    return Response(
        reading.sample_csv(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="creators-sample.csv"'},
    )


def _pending(import_id):
    return CreatorImport.pending(import_id, current_user.id, utcnow())


@bp.get("/creators/import/<int:import_id>")
@login_required
def creator_import_preview(import_id):
    pending = _pending(import_id)
    if pending is None:
        flash(
            "That upload was imported already or has expired (uploads wait an hour). Upload it again.", "info"
        )
        return redirect(url_for("staff.creator_import"))
    verdicts = judging.judge(reading.read_text(pending.csv_text))
    new = [verdict for verdict in verdicts if verdict.is_new]
    skipped = [verdict for verdict in verdicts if not verdict.is_new]
    return render_template(
        "staff/creator_import_preview.html",
        pending=pending,
        new=new,
        skipped=skipped,
        shown_new=SHOWN_NEW,
        shown_skipped=SHOWN_SKIPPED,
    )


@bp.post("/creators/import/<int:import_id>")
@login_required
def creator_import_confirm(import_id):
    pending = _pending(import_id) or abort(404)
    result = saving.import_pending(pending, staff_actor()) or abort(404)
    return render_page_or_fragment(
        "staff/creator_import_confirm.html",
        "staff/partials/import_summary.html",
        result=result,
        file_name=pending.file_name,
        shown_skipped=SHOWN_SKIPPED,
    )
