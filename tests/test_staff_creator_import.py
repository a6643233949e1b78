"""Staff import creators from a CSV: the upload, the preview's verdicts, the import and its summary."""

import html
import io
import re

import pytest

from portal.creator_import import reading
from portal.db import utcnow
from portal.models import Creator, CreatorImport, LedgerEntry, SocialAccount

HX = {"HX-Request": "true"}
GOOD = "name,email,instagram\r\nBo Lindqvist,bo@example.com,bo.draws;@bo.paints\r\nCleo Park,,cleo.cooks\r\n"


def upload(client, text, name="creators.csv", **extra):
    """Upload a file on the import page as a browser does; return the response (not followed)."""
    data = text.encode() if isinstance(text, str) else text
    form = {"file": (io.BytesIO(data), name), "csrf_token": client.csrf_token, **extra}
    return client.post("/creators/import", data=form, content_type="multipart/form-data")


def preview_path(response):
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    location = response.headers["Location"]
    assert re.fullmatch(r"/creators/import/\d+", location), location
    return location


def test_the_creators_list_offers_the_import_and_the_page_offers_a_sample(admin_client):
    assert 'href="/creators/import"' in admin_client.get("/creators").get_data(as_text=True)
    page = admin_client.get("/creators/import").get_data(as_text=True)
    assert "Download a sample CSV" in page and "Up to 2 MB and 10,000 creators" in page
    sample = admin_client.get("/creators/import/sample.csv")
    assert sample.mimetype == "text/csv" and "attachment" in sample.headers["Content-Disposition"]
    assert sample.get_data(as_text=True).startswith("name,email,instagram\r\n")
    assert [row.name for row in reading.read_file(sample.get_data())] == [
        "Ava Chen",
        "Marco Rossi",
        "Nina Brooks",
    ]


def test_upload_preview_and_import_with_verdicts_and_a_summary(admin_client, creator):
    Creator.update(email="ava@example.com").execute()
    text = GOOD + (
        "Ava Again,AVA@example.com,\r\n"  # Ava Chen's e-mail, in other letters
        "Ava Twin,,https://www.instagram.com/ava.creates/\r\n"
        ",nobody@example.com,\r\n"
        "Dot Dot,,dot..dot\r\n"
        "Cleo Again,,cleo.cooks\r\n"
    )
    path = preview_path(upload(admin_client, text))
    assert Creator.select().count() == 1  # a preview adds nothing

    page = admin_client.get(path).get_data(as_text=True)
    assert "2 new creators will be added; 5 rows will be skipped." in page
    assert "AVA@example.com is already the e-mail of Ava Chen." in page
    assert "@ava.creates is already listed under Ava Chen." in page
    assert "The name is missing." in page
    assert "Instagram handle “dot..dot”: Instagram usernames cannot have two periods in a row." in page
    assert "@cleo.cooks is also on line 3 of this file." in page
    assert "Import 2 creators" in page

    done = admin_client.post(path, data={"csrf_token": admin_client.csrf_token})
    body = done.get_data(as_text=True)
    assert done.status_code == 200 and "<html" in body
    assert "Imported 2 creators from creators.csv; skipped 5 rows." in body
    assert "The name is missing." in body and 'href="/creators"' in body
    bo = Creator.get(Creator.name == "Bo Lindqvist")
    assert [a.username for a in bo.accounts()] == ["bo.draws", "bo.paints"]
    assert bo.email == "bo@example.com" and Creator.by_link_token(bo.link_token).id == bo.id
    listing = admin_client.get("/creators").get_data(as_text=True)
    assert "Bo Lindqvist" in listing and "@cleo.cooks" in listing
    assert CreatorImport.select().count() == 0  # the file is not kept once imported
    ledger = admin_client.get("/audit").get_data(as_text=True)
    assert "Creators imported from a CSV file" in ledger and "2 from “creators.csv”; 5 rows skipped" in ledger
    assert LedgerEntry.select().where(LedgerEntry.action == "account_added").count() == 3


def test_the_import_answers_htmx_with_the_summary_fragment(admin_client):
    path = preview_path(upload(admin_client, GOOD))
    done = admin_client.post(path, data={"csrf_token": admin_client.csrf_token}, headers=HX)
    body = done.get_data(as_text=True)
    assert "<html" not in body and body.lstrip().startswith('<section id="creator-import"')
    assert "Imported 2 creators" in body


def test_a_duplicate_added_after_the_preview_is_skipped_and_said_so(admin_client):
    path = preview_path(upload(admin_client, GOOD))
    assert "2 new creators will be added" in admin_client.get(path).get_data(as_text=True)
    SocialAccount.add_handle(Creator.create(name="Cleo Elsewhere"), "cleo.cooks")  # meanwhile

    body = admin_client.post(path, data={"csrf_token": admin_client.csrf_token}).get_data(as_text=True)
    assert "Imported 1 creator from creators.csv; skipped 1 row." in body
    assert "@cleo.cooks is already listed under Cleo Elsewhere." in body
    assert Creator.select().where(Creator.name == "Cleo Park").count() == 0


def test_a_second_confirmation_imports_nothing_twice(admin_client):
    path = preview_path(upload(admin_client, GOOD))
    assert admin_client.post(path, data={"csrf_token": admin_client.csrf_token}).status_code == 200
    assert admin_client.post(path, data={"csrf_token": admin_client.csrf_token}).status_code == 404
    assert Creator.select().count() == 2
    again = admin_client.get(path, follow_redirects=True).get_data(as_text=True)
    assert "That upload was imported already or has expired" in again


def test_confirming_without_the_csrf_token_imports_nothing(admin_client, db_rows):
    path = preview_path(upload(admin_client, GOOD))
    before = db_rows()
    response = admin_client.post(path, data={})
    assert response.status_code == 400 and "This form has expired" in response.get_data(as_text=True)
    assert db_rows() == before


def test_uploading_without_the_csrf_token_keeps_nothing(admin_client):
    form = {"file": (io.BytesIO(GOOD.encode()), "creators.csv")}
    response = admin_client.post("/creators/import", data=form, content_type="multipart/form-data")
    assert response.status_code == 400 and CreatorImport.select().count() == 0


def test_another_staff_members_upload_is_not_theirs_to_see_or_import(
    app, admin_client, staff_member, sign_in
):
    path = preview_path(upload(admin_client, GOOD))
    other = app.test_client()
    token = sign_in(other, staff_member.email)
    assert other.post(path, data={"csrf_token": token}).status_code == 404
    assert other.get(path).status_code == 302  # back to the upload page, with a word
    assert Creator.select().count() == 0


def test_an_upload_older_than_an_hour_is_gone(admin_client):
    path = preview_path(upload(admin_client, GOOD))
    CreatorImport.update(created_at=utcnow() - CreatorImport.KEPT).execute()
    assert admin_client.post(path, data={"csrf_token": admin_client.csrf_token}).status_code == 404
    assert Creator.select().count() == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "nom,courriel,instagram\r\nAva,,ava\r\n",
            "must name the columns name, email, instagram (in any order); "
            "this file's first line has: nom, courriel, instagram.",
        ),
        ("", "The file is empty."),
        ("name,email,instagram\r\n", "The file has the header line but no creators under it."),
        (b"name,email,instagram\r\nAva,,ava\r\nJos\xe9,,jose\r\n", "Line 3 is not UTF-8 text (byte 0xE9)."),
        ("name;email;instagram\r\nAva;;ava\r\n", "It looks separated by semicolons"),
    ],
    ids=["wrong header", "empty", "header only", "not UTF-8", "semicolons"],
)
def test_a_file_that_cannot_be_imported_is_refused_with_why_and_keeps_nothing(admin_client, content, message):
    response = upload(admin_client, content)
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422 and message in body, body[:3000]
    assert CreatorImport.select().count() == 0 and Creator.select().count() == 0


def test_a_20_mb_file_gets_the_upload_page_saying_the_limit(admin_client):
    response = upload(admin_client, b"name,email,instagram\r\n" + b"a" * (20 * 1024 * 1024))
    body = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "The file is 20.0 MB; files of up to 2 MB (10,000 creators) are accepted." in body
    assert "Import creators from a CSV file" in body
    assert CreatorImport.select().count() == 0


def test_a_file_over_the_row_limit_is_refused(admin_client):
    text = "name,email,instagram\n" + "".join(f"C{n},,\n" for n in range(reading.MAX_ROWS + 1))
    body = upload(admin_client, text).get_data(as_text=True)
    assert "The file has more than 10,000 creators; import at most 10,000 at a time" in body


def test_a_file_is_refused_on_every_other_form(admin_client, creator):
    form = {"handle": (io.BytesIO(b"ava"), "a.csv"), "csrf_token": admin_client.csrf_token}
    response = admin_client.post(
        f"/creators/{creator.id}/accounts", data=form, content_type="multipart/form-data"
    )
    assert response.status_code == 400 and "Files can" in response.get_data(as_text=True)


def test_the_upload_needs_a_file(admin_client):
    response = admin_client.post("/creators/import", data={"csrf_token": admin_client.csrf_token})
    assert response.status_code == 422 and "Choose a CSV file to upload." in response.get_data(as_text=True)


def test_the_import_pages_need_a_signed_in_staff_member(client):
    for path in ("/creators/import", "/creators/import/sample.csv", "/creators/import/1"):
        assert client.get(path).status_code == 302
