from portal.models import InvitationTemplate, Staff


def post(client, path, data, htmx=False):
    headers = {"X-CSRFToken": client.csrf_token}
    if htmx:
        headers["HX-Request"] = "true"
    return client.post(path, data=data, headers=headers)


def test_admin_creates_a_staff_account_that_can_sign_in(admin_client, app, sign_in):
    response = post(
        admin_client, "/settings/staff", {"email": "New@Example.com", "password": "a long password"}
    )
    assert response.status_code == 302
    assert "new@example.com" in admin_client.get("/settings/staff").get_data(as_text=True)
    created = Staff.by_email("new@example.com")
    assert not created.is_admin
    other = app.test_client()
    sign_in(other, "new@example.com", "a long password")
    assert other.get("/creators").status_code == 200


def test_staff_form_refuses_short_passwords_and_taken_emails(admin_client, admin):
    short = post(admin_client, "/settings/staff", {"email": "x@example.com", "password": "short"})
    assert short.status_code == 422 and "at least 12 characters" in short.get_data(as_text=True)
    taken = post(
        admin_client, "/settings/staff", {"email": admin.email.upper(), "password": "a long password"}
    )
    assert taken.status_code == 422 and "already exists" in taken.get_data(as_text=True)
    assert Staff.select().count() == 1


def test_invitation_editor_shows_the_current_template_with_a_preview(admin_client):
    page = admin_client.get("/settings/invitation").get_data(as_text=True)
    assert "[Name]" in page and "[Company]" in page and "[Link]" in page
    assert "Welcome, Jamie Rivera!" in page  # the preview fills the placeholders


def test_preview_fragment_fills_placeholders_and_reports_unknown_ones(admin_client):
    response = post(
        admin_client,
        "/settings/invitation/preview",
        {"subject": "Hi [Name]", "body": "From [Company]: [Link] [Nmae]"},
        htmx=True,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert "Hi Jamie Rivera" in body and "From Acme Talent: https://" in body
    assert "Unknown placeholder" in body and "[Nmae]" in body


def test_saving_a_template_with_an_unknown_placeholder_is_refused(admin_client):
    response = post(admin_client, "/settings/invitation", {"subject": "Hi [Name]", "body": "Go to [Lnk]"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Unknown placeholder: [Lnk]" in body and "Go to [Lnk]" in body
    assert InvitationTemplate.select().count() == 0


def test_saved_template_is_what_staff_copy(admin_client, creator):
    response = post(
        admin_client, "/settings/invitation", {"subject": "For [Name]", "body": "Dear [Name], [Link]"}
    )
    assert response.status_code == 302
    panel = admin_client.get(f"/creators/{creator.id}/link-accounts").get_data(as_text=True)
    assert "Dear Ava Chen, http://localhost/link/" in panel
    assert "mailto:ava@creators.test?subject=For%20Ava%20Chen" in panel
