import pytest

from portal import ConfigurationError, crypto
from portal.models import Creator

KEY_OLD = crypto.generate_key()
KEY_NEW = crypto.generate_key()


@pytest.fixture
def restore_cipher(app):
    yield
    crypto.cipher.configure(app.config["TOKEN_KEYS"])


@pytest.mark.parametrize("keys", ["", " , ", "not-a-key", f"{KEY_NEW},short"])
def test_missing_or_bad_token_keys_stop_the_app_from_starting(make_app, keys):
    with pytest.raises(ConfigurationError, match="PORTAL_TOKEN_KEYS"):
        make_app(TOKEN_KEYS=keys)


def test_first_key_encrypts_and_any_key_decrypts(app, restore_cipher):
    crypto.cipher.configure(KEY_OLD)
    sealed = crypto.cipher.encrypt("secret value")
    assert "secret value" not in sealed
    crypto.cipher.configure(f"{KEY_NEW},{KEY_OLD}")
    assert crypto.cipher.decrypt(sealed) == "secret value"
    rotated = crypto.cipher.rotate(sealed)
    crypto.cipher.configure(KEY_NEW)
    assert crypto.cipher.decrypt(rotated) == "secret value"
    assert crypto.cipher.decrypt(sealed) is None  # the retired key's ciphertext no longer opens


def test_a_stored_link_token_opened_by_no_key_reads_as_missing(app, restore_cipher):
    creator = Creator.create(name="Ava")
    token = creator.issue_link_token()
    crypto.cipher.configure(KEY_NEW)
    again = Creator.get_by_id(creator.id)
    assert again.link_token is None
    assert Creator.by_link_token(token).id == creator.id  # the link itself still works
