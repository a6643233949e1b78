"""Encryption at rest for secrets the portal must read back (link tokens, later Meta tokens)."""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from peewee import TextField


class TokenKeyError(ValueError):
    """PORTAL_TOKEN_KEYS is missing or holds something that is not a Fernet key."""


class _Cipher:
    """The MultiFernet built from PORTAL_TOKEN_KEYS, bound when an app starts."""

    def __init__(self):
        self._fernet = None

    def configure(self, keys_text):
        """Build the cipher from comma-separated Fernet keys; the first one encrypts."""
        keys = [k.strip() for k in (keys_text or "").split(",") if k.strip()]
        if not keys:
            raise TokenKeyError("PORTAL_TOKEN_KEYS is empty: set at least one Fernet key.")
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        except (ValueError, TypeError) as exc:
            raise TokenKeyError(
                "PORTAL_TOKEN_KEYS holds a value that is not a Fernet key (32 url-safe base64-encoded bytes)."
            ) from exc

    def _require(self):
        if self._fernet is None:
            raise TokenKeyError("Token keys are not configured; create_app() sets them.")
        return self._fernet

    def encrypt(self, plaintext):
        """Return plaintext encrypted under the first key."""
        return self._require().encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext):
        """Return the plaintext, or None when no configured key opens it."""
        try:
            return self._require().decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            return None

    def rotate(self, ciphertext):
        """Return ciphertext re-encrypted under the first key (InvalidToken if no key opens it)."""
        return self._require().rotate(ciphertext.encode()).decode()


cipher = _Cipher()


def generate_key():
    """Return a new Fernet key as text."""
    return Fernet.generate_key().decode()


class EncryptedTextField(TextField):
    """Text encrypted on the way into the database and decrypted on the way out.

    A value no configured key can open reads as None, so a retired key shows up
    as "missing" rather than as an exception in a page.
    """

    def db_value(self, value):
        return None if value is None else cipher.encrypt(value)

    def python_value(self, value):
        return None if value is None else cipher.decrypt(value)
