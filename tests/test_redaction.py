import logging

from portal.redaction import REDACTED, RedactSecrets, redact


def test_query_parameters_that_carry_secrets_are_redacted():
    line = (
        'https://graph.facebook.com:443 "GET /v27.0/debug_token?input_token=EAAB123&appsecret_proof=abc'
        '&access_token=1|secret HTTP/1.1" 200'
    )
    cleaned = redact(line)
    for secret in ("EAAB123", "abc&", "1|secret"):
        assert secret not in cleaned
    assert cleaned.count(REDACTED) == 3 and "/v27.0/debug_token" in cleaned


def test_callback_codes_states_bearer_headers_and_link_tokens_are_redacted():
    assert redact("GET /link/facebook/callback?code=AQD42&state=xyz") == (
        f"GET /link/facebook/callback?code={REDACTED}&state={REDACTED}"
    )
    assert redact("Authorization: Bearer EAAS.abc-def") == f"Authorization: Bearer {REDACTED}"
    token = "y0bheXamZbYudnY21mnprZU7Q1iQOa2c2EF6TTOtgCg"
    assert redact(f"GET /link/{token} 200") == f"GET /link/{REDACTED} 200"
    assert redact("GET /link/facebook/callback 400") == "GET /link/facebook/callback 400"


def test_filter_rewrites_records_with_arguments(caplog):
    logger = logging.getLogger("test.redaction")
    logger.addFilter(RedactSecrets())
    with caplog.at_level(logging.DEBUG, logger="test.redaction"):
        logger.debug("%s %s", "POST", "/oauth?client_secret=shh")
    assert "shh" not in caplog.text and f"client_secret={REDACTED}" in caplog.text
