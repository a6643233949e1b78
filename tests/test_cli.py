from portal import cli, migrations
from portal.models import Creator, SocialAccount, Staff


def test_create_staff_makes_an_account_that_can_sign_in(app, sign_in):
    result = app.test_cli_runner().invoke(
        args=["create-staff", "Boss@Example.com", "--password", "twelve chars!", "--admin"]
    )
    assert result.exit_code == 0, result.output
    assert "Created admin account boss@example.com" in result.output
    assert Staff.by_email("boss@example.com").is_admin
    sign_in(app.test_client(), "boss@example.com", "twelve chars!")


def test_create_staff_refuses_short_passwords_and_duplicates(app):
    runner = app.test_cli_runner()
    short = runner.invoke(args=["create-staff", "a@example.com", "--password", "short"])
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    runner.invoke(args=["create-staff", "a@example.com", "--password", "long enough pw"])
    again = runner.invoke(args=["create-staff", "a@example.com", "--password", "long enough pw"])
    assert again.exit_code != 0 and "already exists" in again.output
    assert Staff.select().count() == 1


def test_seed_demo_prints_the_login_and_runs_once(app, sign_in):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0 and f"{cli.DEMO_EMAIL} / {cli.DEMO_PASSWORD}" in first.output
    runner.invoke(args=["seed-demo"])
    assert Creator.select().count() == len(cli.DEMO_CREATORS)
    assert SocialAccount.select().count() == sum(len(handles) for _, _, handles in cli.DEMO_CREATORS)
    assert all(creator.link_token for creator in Creator.select())
    sign_in(app.test_client(), cli.DEMO_EMAIL, cli.DEMO_PASSWORD)


def test_init_db_reports_the_schema_version(app):
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0
    assert f"schema version {migrations.LATEST}" in result.output
