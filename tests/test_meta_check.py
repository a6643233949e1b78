"""`flask --app wsgi meta-check`: against the live sandbox, and against Meta's documented answers."""

import datetime
from urllib.parse import parse_qs

import pytest
import requests
from support.meta import META_APP_SETTINGS

from portal.graph import setup_check
from portal.sandbox import SANDBOX_APPS

GRAPH = "https://graph.facebook.com"
SECRETS = {
    META_APP_SETTINGS["FACEBOOK_CLIENT_ID"]: META_APP_SETTINGS["FACEBOOK_CLIENT_SECRET"],
    META_APP_SETTINGS["INSTAGRAM_CLIENT_ID"]: META_APP_SETTINGS["INSTAGRAM_CLIENT_SECRET"],
}
# Everything set as a real deployment would; each test changes one thing.
READY = {**META_APP_SETTINGS, "META_WEBHOOK_VERIFY_TOKEN": "verify-me-7f3a"}


def _meta_error(message, code):
    return {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbC123xYz"}}


def app_token_endpoint(mocker, version="v27.0"):
    """Facebook's token endpoint answering grant_type=client_credentials as Meta documents it."""

    def answer(request, context):
        form = {name: values[0] for name, values in parse_qs(request.text or "").items()}
        app_id = form.get("client_id")
        if form.get("grant_type") != "client_credentials":
            context.status_code = 400
            return _meta_error("Unsupported grant_type", 100)
        if app_id not in SECRETS:
            context.status_code = 400
            return _meta_error("Error validating application. Invalid application ID.", 101)
        if form.get("client_secret") != SECRETS[app_id]:
            context.status_code = 400
            return _meta_error("Error validating client secret.", 1)
        return {"access_token": f"{app_id}|AppTokenHash0001xyz", "token_type": "bearer"}

    return mocker.post(f"{GRAPH}/{version}/oauth/access_token", json=answer)


def run_check(make_app, **settings):
    """Run meta-check on an app with READY's settings changed by these; return the result."""
    application = make_app(**{**READY, **settings})
    return application.test_cli_runner().invoke(args=["meta-check"])


def lines_of(result, level):
    """Return the report's lines of one level (ok, note, paste, asks, WARNING, FATAL), without the label."""
    prefix = f"  {level:<8} "
    return [line[len(prefix) :] for line in result.output.splitlines() if line.startswith(prefix)]


def last_line(result):
    return result.output.strip().splitlines()[-1]


# Against the sandbox, over real HTTP


@pytest.mark.live_http
def test_sandbox_apps_work_and_the_addresses_to_paste_are_printed(sandbox_server):
    result = sandbox_server.app.test_cli_runner().invoke(args=["meta-check"])
    base = sandbox_server.base_url

    assert result.exit_code == 0, result.output
    ok = lines_of(result, "ok")
    assert ok.count("id and secret work: Facebook issued an app access token.") == 2
    assert "v27.0 is current (released 2026-11-04)." in ok
    assert f"Facebook Login app (id {SANDBOX_APPS['FACEBOOK_CLIENT_ID']})" in result.output
    assert f"Instagram Login app (id {SANDBOX_APPS['INSTAGRAM_CLIENT_ID']})" in result.output
    paste = lines_of(result, "paste")
    assert f"Facebook Login > Settings > Valid OAuth Redirect URIs: {base}/link/facebook/callback" in paste
    assert (
        "Instagram > API setup with Instagram login > Business login settings > OAuth redirect URIs: "
        f"{base}/link/instagram/callback"
    ) in paste
    assert f"Webhooks > Instagram > Callback URL: {base}/meta/webhook" in paste
    assert any("a real Meta app needs an https PORTAL_BASE_URL" in line for line in lines_of(result, "note"))
    # The sandbox sets no webhook verify token: a warning, not a failure.
    assert lines_of(result, "WARNING") == [
        "META_WEBHOOK_VERIFY_TOKEN is unset: Meta cannot verify the webhook; set a long random value."
    ]
    assert last_line(result) == "0 fatal problems, 1 warning"


@pytest.mark.live_http
def test_a_wrong_secret_fails_its_app_and_is_never_printed(sandbox_server, make_app):
    # A second portal in front of the same simulated Meta, holding a secret Meta does not know.
    wrong = "wrong-secret-5e9d1c"
    portal = make_app(SANDBOX=True, BASE_URL=sandbox_server.base_url, FACEBOOK_CLIENT_SECRET=wrong)

    result = portal.test_cli_runner().invoke(args=["meta-check"])

    assert result.exit_code == 1
    assert lines_of(result, "FATAL") == [
        "id and secret do not work (code 1: Error validating client secret): copy the app secret from "
        "App Settings > Basic into FACEBOOK_CLIENT_SECRET."
    ]
    # The Instagram Login app's own id and secret still work.
    assert lines_of(result, "ok").count("id and secret work: Facebook issued an app access token.") == 1
    assert wrong not in result.output
    assert SANDBOX_APPS["FACEBOOK_CLIENT_SECRET"] not in result.output
    assert last_line(result).startswith("1 fatal problem,")


@pytest.mark.live_http
def test_an_instagram_app_id_unknown_to_meta_is_fatal(sandbox_server, make_app):
    portal = make_app(SANDBOX=True, BASE_URL=sandbox_server.base_url, INSTAGRAM_CLIENT_ID="123456789")

    result = portal.test_cli_runner().invoke(args=["meta-check"])

    assert result.exit_code == 1
    assert lines_of(result, "FATAL") == [
        "id and secret do not work (code 101: Error validating application. Invalid application ID): "
        "copy the app id from Instagram > API setup with Instagram login into INSTAGRAM_CLIENT_ID."
    ]


# Against Meta's documented answers (requests-mock)


def test_a_ready_deployment_passes_and_asks_for_every_permission_with_its_review(make_app, no_network):
    endpoint = app_token_endpoint(no_network)

    result = run_check(make_app)

    assert result.exit_code == 0, result.output
    assert last_line(result) == "0 fatal problems, 0 warnings"
    assert "https://portal.example (HTTPS)" in lines_of(result, "ok")
    paste = lines_of(result, "paste")
    assert (
        "Facebook Login > Settings > Deauthorize callback URL: https://portal.example/meta/deauthorize"
        in paste
    )
    assert (
        "App Settings > Basic > Data deletion request URL: https://portal.example/meta/data-deletion" in paste
    )
    assert "Webhooks > Instagram > Verify token: verify-me-7f3a" in paste
    assert "Webhooks > Instagram > subscribe to the field: story_insights" in paste
    asked = [line.split(":")[0] for line in lines_of(result, "asks")]
    assert asked == [
        "instagram_basic",
        "instagram_manage_insights",
        "pages_show_list",
        "pages_read_engagement",
        "business_management",
        "ads_read",
        "instagram_business_basic",
    ]
    assert all("needs App Review (Advanced Access)" in line for line in lines_of(result, "asks"))
    # Both apps asked Facebook's token endpoint, the secret in the form and never in the URL.
    assert [parse_qs(r.text)["client_id"] for r in endpoint.request_history] == [["fb-app"], ["ig-app"]]
    assert all("secret" not in r.url for r in endpoint.request_history)
    assert "fb-secret" not in result.output and "ig-secret" not in result.output


def test_story_webhooks_add_pages_manage_metadata(make_app, no_network):
    app_token_endpoint(no_network)

    result = run_check(make_app, STORY_WEBHOOKS=True)

    asks = lines_of(result, "asks")
    assert any(line.startswith("pages_manage_metadata: needs App Review (Advanced Access);") for line in asks)
    assert not any("PORTAL_STORY_WEBHOOKS is off" in line for line in lines_of(result, "note"))


def test_without_story_webhooks_pages_manage_metadata_is_not_asked(make_app, no_network):
    app_token_endpoint(no_network)

    result = run_check(make_app)

    assert not any(line.startswith("pages_manage_metadata") for line in lines_of(result, "asks"))


def test_an_expired_graph_version_is_fatal(make_app, no_network):
    app_token_endpoint(no_network, version="v20.0")

    result = run_check(make_app, GRAPH_API_VERSION="v20.0")

    assert result.exit_code == 1
    assert lines_of(result, "FATAL") == [
        "v20.0 was available until 2026-09-24; Meta no longer serves it: set GRAPH_API_VERSION=v27.0."
    ]
    assert last_line(result) == "1 fatal problem, 0 warnings"


def test_an_unknown_graph_version_is_fatal(make_app, no_network):
    app_token_endpoint(no_network, version="v99.0")

    result = run_check(make_app, GRAPH_API_VERSION="v99.0")

    assert result.exit_code == 1
    assert lines_of(result, "FATAL") == [
        "v99.0 is not a Graph API version this check knows: set GRAPH_API_VERSION=v27.0."
    ]


def test_an_older_graph_version_still_served_is_a_warning(make_app, no_network):
    app_token_endpoint(no_network, version="v26.0")

    result = run_check(make_app, GRAPH_API_VERSION="v26.0")

    assert result.exit_code == 0, result.output
    assert lines_of(result, "WARNING") == [
        "v26.0 is older than v27.0 (no end date announced yet), which the portal is written for: "
        "set GRAPH_API_VERSION=v27.0."
    ]
    assert last_line(result) == "0 fatal problems, 1 warning"


def test_an_older_version_warns_with_its_end_date_until_that_day():
    before = setup_check.version_finding("v25.0", datetime.date(2027, 3, 1))
    on_the_day = setup_check.version_finding("v25.0", datetime.date(2028, 7, 29))

    assert before.level == setup_check.WARNING and "available until 2028-07-29" in before.text
    assert on_the_day.level == setup_check.FATAL


def test_an_http_base_url_outside_the_sandbox_is_fatal(make_app, no_network):
    app_token_endpoint(no_network)

    result = run_check(make_app, BASE_URL="http://portal.example")

    assert result.exit_code == 1
    assert lines_of(result, "FATAL") == [
        "PORTAL_BASE_URL=http://portal.example is not https: Meta accepts only HTTPS redirect URIs. "
        "Serve the portal over HTTPS and set PORTAL_BASE_URL=https://..."
    ]


def test_a_missing_base_url_is_fatal(make_app, no_network):
    app_token_endpoint(no_network)

    result = run_check(make_app, BASE_URL=None)

    assert result.exit_code == 1
    assert lines_of(result, "FATAL") == [
        "PORTAL_BASE_URL is not set: set it to the https address people reach the portal at."
    ]
    assert (
        "Facebook Login > Settings > Valid OAuth Redirect URIs: <PORTAL_BASE_URL>/link/facebook/callback"
        in lines_of(result, "paste")
    )


def test_no_facebook_app_is_fatal_and_no_instagram_app_a_warning(make_app, no_network):
    endpoint = app_token_endpoint(no_network)

    result = run_check(
        make_app, FACEBOOK_CLIENT_SECRET=None, INSTAGRAM_CLIENT_ID=None, INSTAGRAM_CLIENT_SECRET=None
    )

    assert result.exit_code == 1
    assert lines_of(result, "FATAL") == [
        "FACEBOOK_CLIENT_SECRET not set: creators cannot link accounts. Copy them from App Settings > Basic."
    ]
    assert lines_of(result, "WARNING") == [
        'INSTAGRAM_CLIENT_ID and INSTAGRAM_CLIENT_SECRET not set: only "Verify Instagram account" needs it, '
        "and it stays unavailable. Copy them from Instagram > API setup with Instagram login."
    ]
    assert "Instagram Login app (not set)" in result.output
    assert endpoint.call_count == 0


def test_an_unset_verify_token_is_a_warning(make_app, no_network):
    app_token_endpoint(no_network)

    result = run_check(make_app, META_WEBHOOK_VERIFY_TOKEN=None)

    assert result.exit_code == 0
    assert lines_of(result, "WARNING") == [
        "META_WEBHOOK_VERIFY_TOKEN is unset: Meta cannot verify the webhook; set a long random value."
    ]


def test_meta_out_of_reach_is_fatal_for_each_app(make_app, no_network):
    no_network.post(f"{GRAPH}/v27.0/oauth/access_token", exc=requests.ConnectTimeout)

    result = run_check(make_app)

    assert result.exit_code == 1
    assert lines_of(result, "FATAL") == 2 * [
        "id and secret do not work (Could not reach Facebook (ConnectTimeout)): check that this host "
        "reaches https://graph.facebook.com, then run the check again."
    ]
