import pytest

from portal import ConfigurationError, create_app


def test_healthz_answers_when_the_database_does(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_unknown_config_name_is_refused():
    with pytest.raises(ConfigurationError, match="PORTAL_CONFIG"):
        create_app("staging")


def test_overrides_replace_single_settings(make_app):
    app = make_app(COMPANY_NAME="Northwind Creators")
    assert app.config["COMPANY_NAME"] == "Northwind Creators"
    assert "Northwind Creators" in app.test_client().get("/login").get_data(as_text=True)


def test_missing_secret_key_is_refused_in_any_config(make_app):
    with pytest.raises(ConfigurationError, match="PORTAL_SECRET_KEY"):
        make_app(SECRET_KEY=None)


def test_an_unexpected_error_shows_our_page_not_a_trace(make_app):
    app = make_app()

    @app.get("/boom")
    def boom():
        raise RuntimeError("internal detail")

    response = app.test_client().get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in body and "internal detail" not in body and "Traceback" not in body


def test_a_nul_character_in_any_field_is_a_clear_400(admin_client, creator):
    response = admin_client.get("/creators?q=a%00b")
    assert response.status_code == 400
    response = admin_client.post(
        f"/creators/{creator.id}/edit",
        data={"name": "Ava\x00", "email": "", "csrf_token": admin_client.csrf_token},
    )
    assert response.status_code == 400
    assert creator.__class__.get_by_id(creator.id).name == "Ava Chen"
