"""Staff and reminders: templates and timing under Settings, a creator's switch, the /reminders page."""

import datetime

import pytest
from test_staff_mail import post, text_of, words_of

from portal.db import utcnow
from portal.invitation import ACCESS_REMINDER, INVITATION_REMINDER, REMINDERS
from portal.models import (
    AccountStatus,
    Creator,
    LedgerEntry,
    MetaGrant,
    ReminderSchedule,
    ReminderTemplate,
    SocialAccount,
)
from portal.scheduler import jobs

HX = {"HX-Request": "true"}


def invite(creator, days_ago):
    moment = utcnow() - datetime.timedelta(days=days_ago)
    Creator.update(invited_at=moment).where(Creator.id == creator.id).execute()


def test_the_reminders_settings_list_each_template_and_the_days(admin_client):
    page = words_of(admin_client.get("/settings/reminders"))
    for reminder in REMINDERS.values():
        assert reminder["label"] in page and "(the default)" in page
    assert "A reminder: link your Instagram account with [Company]" in page
    assert 'value="7"' in text_of(admin_client.get("/settings/reminders"))


@pytest.mark.parametrize("kind", list(REMINDERS))
def test_each_reminder_template_is_edited_with_a_preview_and_saved(admin_client, kind):
    page = text_of(admin_client.get(f"/settings/reminders/{kind}"))
    assert REMINDERS[kind]["label"] in page and "Hi Jamie Rivera," in page  # the preview fills it in
    response = post(
        admin_client, f"/settings/reminders/{kind}", {"subject": "For [Name]", "body": "Dear [Name], [Link]"}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/settings/reminders"
    assert ReminderTemplate.current(kind).body == "Dear [Name], [Link]"
    assert [t.kind for t in ReminderTemplate.select()] == [kind]  # the other kinds keep their words
    entry = LedgerEntry.get(LedgerEntry.action == "reminder_edited")
    assert entry.detail_items["label"] == REMINDERS[kind]["label"]


@pytest.mark.parametrize("kind", list(REMINDERS))
def test_a_reminder_template_with_an_unknown_placeholder_is_refused_and_nothing_is_saved(admin_client, kind):
    response = post(
        admin_client, f"/settings/reminders/{kind}", {"subject": "Hi [Name]", "body": "Go to [Lnk]"}
    )
    assert response.status_code == 422
    assert "Unknown placeholder: [Lnk]" in text_of(response) and "Go to [Lnk]" in text_of(response)
    assert ReminderTemplate.select().count() == 0
    assert LedgerEntry.select().where(LedgerEntry.action == "reminder_edited").count() == 0


def test_the_reminder_preview_fragment_reports_unknown_placeholders(admin_client):
    response = post(
        admin_client,
        f"/settings/reminders/{ACCESS_REMINDER}/preview",
        {"subject": "Hi [Name]", "body": "[Company]: [Link] [Nmae]"},
        htmx=True,
    )
    body = text_of(response)
    assert response.status_code == 200 and "<html" not in body
    assert "Hi Jamie Rivera" in body and "Acme Talent: https://" in body and "[Nmae]" in body


def test_an_unknown_reminder_kind_is_a_404(admin_client):
    assert admin_client.get("/settings/reminders/invitation").status_code == 404
    assert post(admin_client, "/settings/reminders/nope", {"subject": "S", "body": "B"}).status_code == 404
    assert post(admin_client, "/settings/reminders/nope/preview", {}).status_code == 404


def test_reminder_settings_are_for_administrators_only(staff_client):
    assert staff_client.get("/settings/reminders").status_code == 403
    assert staff_client.get(f"/settings/reminders/{INVITATION_REMINDER}").status_code == 403
    assert post(staff_client, "/settings/reminders", {"invited_after_days": "3"}).status_code == 403
    assert ReminderSchedule.select().count() == 0


def test_the_days_after_the_invitation_are_saved_and_bad_ones_refused(admin_client):
    response = post(admin_client, "/settings/reminders", {"invited_after_days": " 10 "})
    assert response.status_code == 302 and ReminderSchedule.current().invited_after_days == 10
    assert LedgerEntry.get(LedgerEntry.action == "reminder_schedule_edited").detail_items["days"] == 10
    for bad in ("0", "91", "-3", "7.5", "seven", "", "١٢", "9" * 500):
        refused = post(admin_client, "/settings/reminders", {"invited_after_days": bad})
        assert refused.status_code == 422, bad
        assert "Enter a whole number of days from 1 to 90." in text_of(refused)
    assert ReminderSchedule.select().count() == 1 and ReminderSchedule.current().invited_after_days == 10


def test_the_days_setting_decides_who_is_due(app, admin_client, creator):
    invite(creator, 4)
    assert "Due on the next run (0)" in words_of(admin_client.get("/reminders"))
    post(admin_client, "/settings/reminders", {"invited_after_days": "3"})
    page = words_of(admin_client.get("/reminders"))
    assert "Due on the next run (1)" in page and "invited 4 days ago and not linked yet" in page


def test_the_reminders_switch_turns_a_creators_reminders_off_and_on_in_place(admin_client, creator):
    tab = text_of(admin_client.get(f"/creators/{creator.id}/link-accounts"))
    assert "Reminders: on" in tab and 'aria-checked="true"' in tab

    response = post(admin_client, f"/creators/{creator.id}/reminders", {"enabled": "0"}, htmx=True)
    fragment = text_of(response)
    assert response.status_code == 200 and "<html" not in fragment and 'id="reminder-switch"' in fragment
    assert "Reminders: off" in fragment and "Ava Chen gets no reminder from the portal." in fragment
    assert not Creator.get_by_id(creator.id).reminders_enabled
    post(admin_client, f"/creators/{creator.id}/reminders", {"enabled": "0"}, htmx=True)  # again: no change
    plain = post(admin_client, f"/creators/{creator.id}/reminders", {"enabled": "1"})
    assert plain.status_code == 302 and plain.headers["Location"] == f"/creators/{creator.id}/link-accounts"
    assert "Reminders for Ava Chen are on" in words_of(admin_client.get(plain.headers["Location"]))
    assert Creator.get_by_id(creator.id).reminders_enabled
    actions = [e.action for e in LedgerEntry.select().where(LedgerEntry.action.startswith("reminders_"))]
    assert sorted(actions) == ["reminders_off", "reminders_on"]


def test_the_reminders_switch_needs_the_csrf_token_a_sign_in_and_a_known_creator(
    app, admin_client, creator, csrf
):
    refused = admin_client.post(f"/creators/{creator.id}/reminders", data={"enabled": "0"})
    assert refused.status_code == 400 and Creator.get_by_id(creator.id).reminders_enabled
    assert post(admin_client, "/creators/999/reminders", {"enabled": "0"}).status_code == 404
    outsider = app.test_client()
    outsider.csrf_token = csrf(outsider)  # a valid token of a session that is not signed in
    anonymous = post(outsider, f"/creators/{creator.id}/reminders", {"enabled": "0"})
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")
    assert Creator.get_by_id(creator.id).reminders_enabled


def test_the_reminders_page_lists_what_is_due_what_is_skipped_and_what_was_sent(app, staff_client, creator):
    app.config.update(BASE_URL="https://portal.acme.test")
    invite(creator, 8)
    sam = Creator.create(name="Sam Okafor", reminders_enabled=False, email="sam@creators.test")
    sam.issue_link_token()
    invite(sam, 9)
    broken = Creator.create(name="Bea Broken", email="bea@creators.test")
    broken.issue_link_token()
    SocialAccount.create(creator=broken, username="bea", status=AccountStatus.LINK_BROKEN, linked_at=utcnow())
    ending = Creator.create(name="Eve Ending", email="eve@creators.test")
    ending.issue_link_token()
    grant = MetaGrant.create(
        creator=ending,
        provider="facebook",
        meta_user_id="1",
        data_access_expires_at=utcnow() + datetime.timedelta(days=2),
    )
    SocialAccount.create(creator=ending, username="eve", status=AccountStatus.LINKED, grant=grant)

    page = words_of(staff_client.get("/reminders"))
    assert "Due on the next run (3)" in page and "Due but skipped (1)" in page
    assert "Ava Chen Invitation reminder invited 8 days ago and not linked yet ava@creators.test" in page
    assert "Bea Broken Link broken a linked account's link broke" in page
    assert "Eve Ending Data access ending data access ends on" in page and "(the 3-day notice)" in page
    assert "Sam Okafor Invitation reminder invited 9 days ago and not linked yet reminders are off" in page
    assert "No reminder sent yet." in page and "PORTAL_BASE_URL is not set" not in page

    jobs.send_reminders(app)
    jobs.send_mail(app)
    page = words_of(staff_client.get("/reminders"))
    assert "Due on the next run (0)" in page and "Due but skipped (1)" in page
    for name, label in (
        ("Ava Chen", "Invitation reminder"),
        ("Bea Broken", "Link broken"),
        ("Eve Ending", "Data access ending"),
    ):
        assert f"{name} {label}" in page
    assert page.count("into the outbox") == 3
    swap = staff_client.get("/reminders", headers=HX)
    assert "<html" not in text_of(swap) and 'id="reminder-lists"' in text_of(swap)


def test_the_reminders_page_warns_when_the_scheduler_cannot_write_links(staff_client):
    assert "PORTAL_BASE_URL is not set" in words_of(staff_client.get("/reminders"))


def test_the_sent_list_runs_as_many_queries_with_many_reminders_as_with_one(
    app, staff_client, creator, count_queries
):
    app.config.update(BASE_URL="https://portal.acme.test")

    def remind(person):
        invite(person, 8)
        jobs.send_reminders(app)

    def statements():
        with count_queries() as executed:
            page = words_of(staff_client.get("/reminders"))
        return len(executed), page

    remind(creator)
    few, page = statements()
    assert "Ava Chen Invitation reminder" in page
    for n in range(12):
        other = Creator.create(name=f"Creator {n:02d}", email=f"c{n}@creators.test")
        other.issue_link_token()
        remind(other)
    many, page = statements()
    assert "Creator 11 Invitation reminder" in page and few == many
