"""Staff send invitations: one from the Link Accounts Page, many from the creators list; the outbox."""

import html
import re

from support import ADMIN_EMAIL

from portal.models import Creator, LedgerEntry, MailJob, OutgoingMessage
from portal.scheduler import jobs

HX = {"HX-Request": "true"}
SENDER = "Acme Talent <invitations@acme.test>"


def post(client, url, data=None, htmx=False):
    headers = {"X-CSRFToken": client.csrf_token, **(HX if htmx else {})}
    return client.post(url, data=data or {}, headers=headers)


def text_of(response):
    """Return the response's HTML, its whitespace collapsed."""
    return html.unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


def words_of(response):
    """Return what a reader sees of the response: its text without tags, whitespace collapsed."""
    text = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html.unescape(text))


def test_send_invitation_from_the_link_accounts_page_queues_it_and_shows_it_sent(app, admin_client, creator):
    tab = text_of(admin_client.get(f"/creators/{creator.id}/link-accounts"))
    assert "Send invitation" in tab and "No invitation e-mailed yet." in tab

    response = post(admin_client, f"/creators/{creator.id}/invitation", htmx=True)
    fragment = text_of(response)
    assert response.status_code == 200 and "<html" not in fragment
    assert "Invitation to ava@creators.test queued." in fragment
    assert "Sending the invitation to ava@creators.test" in fragment and 'hx-trigger="every 1s"' in fragment

    assert jobs.send_mail(app).sent == 1
    status = admin_client.get(f"/creators/{creator.id}/invitation", headers=HX)
    assert "Invitation sent to ava@creators.test on" in words_of(status)
    assert "into the outbox (no mail server is set up)" in words_of(status)
    assert "every 1s" not in text_of(status)  # done: the status stops asking
    assert Creator.get_by_id(creator.id).invited_at is not None
    assert LedgerEntry.select().where(LedgerEntry.action == "invitation_sent").count() == 1
    ledger = text_of(admin_client.get("/audit"))
    assert "Invitation sent" in ledger and "to ava@creators.test" in ledger
    assert "kept in the outbox" in ledger


def test_a_double_click_sends_one_invitation(app, admin_client, creator):
    post(admin_client, f"/creators/{creator.id}/invitation", htmx=True)
    again = text_of(post(admin_client, f"/creators/{creator.id}/invitation", htmx=True))
    assert "already invited today; the invitation is not sent twice" in again
    jobs.send_mail(app)
    assert OutgoingMessage.select().count() == 1


def test_a_creator_without_an_email_address_gets_a_clear_refusal(app, admin_client):
    creator = Creator.create(name="Sam Okafor")
    creator.issue_link_token()
    response = post(admin_client, f"/creators/{creator.id}/invitation", htmx=True)
    assert response.status_code == 422
    assert "Sam Okafor has no e-mail address. Add one with “Edit creator”" in text_of(response)
    assert OutgoingMessage.select().count() == 0
    # Without htmx: back to the tab, with the reason flashed.
    plain = post(admin_client, f"/creators/{creator.id}/invitation")
    assert plain.status_code == 302 and plain.headers["Location"] == f"/creators/{creator.id}/link-accounts"
    assert "Sam Okafor has no e-mail address" in text_of(admin_client.get(plain.headers["Location"]))


def test_an_expired_link_is_not_e_mailed(app, admin_client):
    import datetime

    from portal.db import utcnow

    creator = Creator.create(name="Sam Okafor", email="sam@creators.test")
    creator.issue_link_token(valid_for=datetime.timedelta(days=1))
    Creator.update(link_expires_at=utcnow() - datetime.timedelta(minutes=1)).where(
        Creator.id == creator.id
    ).execute()
    response = post(admin_client, f"/creators/{creator.id}/invitation", htmx=True)
    assert response.status_code == 422
    assert "no link to send: issue one on the Link Accounts Page" in text_of(response)
    assert OutgoingMessage.select().count() == 0


def test_an_unknown_creator_is_a_404(admin_client):
    assert post(admin_client, "/creators/999/invitation").status_code == 404
    assert admin_client.get("/creators/999/invitation").status_code == 404


def choose(*creators):
    return {"creator": [str(c.id) for c in creators]}


def test_bulk_invitations_preview_one_message_and_the_count_then_send_in_the_background(
    app, admin_client, creator, smtp_server
):
    app.config.update(SMTP_URL=smtp_server.url, MAIL_FROM=SENDER)
    ben = Creator.create(name="Ben Ortiz", email="ben@creators.test")
    ben.issue_link_token()
    sam = Creator.create(name="Sam Okafor")
    sam.issue_link_token()
    smtp_server.data_answers = ["550 5.1.1 Mailbox unavailable"]  # Ava's (first by name) is refused

    chosen = ["999", *choose(creator, ben, sam)["creator"]]  # an unknown id is left out
    response = post(admin_client, "/invitations/preview", {"creator": chosen})
    preview = words_of(response)
    assert "2 invitations to send" in preview and "Sam Okafor: no e-mail address" in preview
    assert "The message Ava Chen will get" in preview and "Welcome, Ava Chen!" in preview
    assert f"Reply-To {ADMIN_EMAIL}" in preview and f"From {SENDER}" in preview
    assert "Send 2 invitations" in preview
    batch = re.search(r'name="batch" value="([^"]+)"', response.get_data(as_text=True)).group(1)

    form = {**choose(creator, ben), "batch": batch}
    response = post(admin_client, "/invitations", form)
    assert response.status_code == 302
    job = MailJob.get()
    assert response.headers["Location"] == f"/invitations/{job.id}"
    assert post(admin_client, "/invitations", form).headers["Location"] == f"/invitations/{job.id}"  # twice
    assert MailJob.select().count() == 1 and OutgoingMessage.select().count() == 2
    assert smtp_server.received == []  # nothing was sent inside the request

    page = text_of(admin_client.get(response.headers["Location"]))
    assert "<html" in page and "Sending…" in page and "every 1s" in page
    jobs.send_mail(app)
    swap = admin_client.get(response.headers["Location"], headers=HX)
    assert "<html" not in text_of(swap) and "every 1s" not in text_of(swap)
    progress = words_of(swap)
    assert "Done Sent 1 Waiting to be sent 0 Failed 1 Skipped 0" in progress
    assert "Ava Chen (ava@creators.test): 550 5.1.1 Mailbox unavailable" in progress
    assert [m["To"] for m in smtp_server.received] == ["ben@creators.test"]


def test_bulk_invitations_skip_those_invited_today(app, admin_client, creator):
    post(admin_client, f"/creators/{creator.id}/invitation")
    preview = words_of(post(admin_client, "/invitations/preview", choose(creator)))
    assert "0 invitations to send" in preview and "Ava Chen: already invited today" in preview
    assert "Send 0" not in preview


def test_bulk_invitations_with_nothing_chosen_or_a_bad_form_change_nothing(
    app, admin_client, creator, db_rows
):
    before = db_rows()
    for url, data in (
        ("/invitations/preview", {"creator": ["999", "x"]}),
        ("/invitations", {"creator": [str(creator.id)], "batch": "short"}),
        ("/invitations", {"batch": "b" * 32}),
    ):
        response = post(admin_client, url, data)
        assert response.status_code == 302 and response.headers["Location"] == "/creators"
    assert db_rows() == before
    assert "choose the creators to invite again" in text_of(admin_client.get("/creators"))


def test_the_creators_list_offers_send_invitations_for_the_ticked_creators(admin_client, creator):
    listing = admin_client.get("/creators").get_data(as_text=True)
    assert 'form="chosen-creators"' in listing and "Send invitations" in listing


def test_the_outbox_shows_each_message_as_it_would_be_sent(app, admin_client, creator):
    post(admin_client, f"/creators/{creator.id}/invitation")
    jobs.send_mail(app)
    response = admin_client.get("/outbox")
    page = words_of(response)
    assert "No mail server is set up" in page
    assert "Link your Instagram account with Acme Talent" in page and "To ava@creators.test" in page
    assert f"Reply-To {ADMIN_EMAIL}" in page and "From portal@localhost" in page
    assert "Message-ID" in page and "multipart/alternative" in page
    assert "Welcome, Ava Chen!" in page and "/link/" in page
    # The HTML part, shown as its source.
    assert "&lt;a href=&#34;http://localhost/link/" in response.get_data(as_text=True)


def test_the_outbox_is_for_staff_only(client):
    response = client.get("/outbox")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
