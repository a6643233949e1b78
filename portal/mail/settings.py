"""Where mail goes: PORTAL_SMTP_URL and PORTAL_MAIL_FROM read into plain settings, or the outbox."""

import email.utils
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

SCHEMES = {"smtp": 587, "smtps": 465}
# The From address of a portal with no PORTAL_MAIL_FROM, whose mail only reaches its outbox.
OUTBOX_SENDER = "portal@localhost"
TIMEOUT_SECONDS = 20


class MailSettingsError(ValueError):
    """PORTAL_SMTP_URL or PORTAL_MAIL_FROM cannot be used; the message says why and what to write."""


@dataclass(frozen=True)
class SmtpServer:
    """An SMTP server to hand messages to."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    implicit_tls: bool = False  # smtps://: TLS from the first byte
    starttls: bool = False  # smtp://...?starttls=1: upgrade the plain connection before AUTH
    timeout: float = TIMEOUT_SECONDS

    def __repr__(self):  # never show the password (tracebacks, logs)
        return f"SmtpServer({self.host}:{self.port}, user={self.username!r})"


@dataclass(frozen=True)
class MailSettings:
    """How this portal sends: server None means every message goes to the outbox."""

    sender: str
    server: SmtpServer | None = None

    @property
    def via(self):
        return "smtp" if self.server else "outbox"


def _flag(query, name):
    values = query.get(name, ["0"])
    if values[-1] not in ("0", "1", "true", "false"):
        raise MailSettingsError(f"PORTAL_SMTP_URL's {name} must be 1 or 0, not {values[-1]!r}.")
    return values[-1] in ("1", "true")


def parse_smtp_url(url):
    """Return the SmtpServer an smtp:// or smtps:// address names; raise MailSettingsError if none."""
    example = "e.g. smtp://user:password@mail.example:587?starttls=1 or smtps://user:password@mail.example"
    parts = urlsplit(url.strip())
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise MailSettingsError(f"PORTAL_SMTP_URL must be an smtp:// or smtps:// address ({example}).")
    try:
        port = parts.port or SCHEMES[parts.scheme]
    except ValueError as exc:
        raise MailSettingsError(f"PORTAL_SMTP_URL has a port that is not a number ({example}).") from exc
    query = parse_qs(parts.query)
    starttls = _flag(query, "starttls")
    if parts.scheme == "smtps" and starttls:
        raise MailSettingsError("PORTAL_SMTP_URL: smtps:// is TLS from the start; starttls=1 is for smtp://.")
    if parts.username is not None and parts.password is None:
        raise MailSettingsError(f"PORTAL_SMTP_URL names a user but no password ({example}).")
    return SmtpServer(
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        implicit_tls=parts.scheme == "smtps",
        starttls=starttls,
    )


def check_sender(address):
    """Return address if it is one mailbox ("Name <a@b.example>" or "a@b.example"), else raise."""
    _name, mailbox = email.utils.parseaddr(address or "")
    local, _, domain = mailbox.partition("@")
    if not local or not domain or "\n" in address or "\r" in address:
        raise MailSettingsError(
            "PORTAL_MAIL_FROM must be one address, e.g. "
            f'"Acme Talent <invitations@acme.example>", not {address!r}.'
        )
    return address


def mail_settings(config):
    """Return the MailSettings of an app's config; the sandbox always keeps mail in the outbox."""
    url, sender = config.get("SMTP_URL"), config.get("MAIL_FROM")
    if config.get("SANDBOX") or not url:
        return MailSettings(sender=check_sender(sender) if sender else OUTBOX_SENDER)
    server = parse_smtp_url(url)
    if not sender:
        raise MailSettingsError(
            "PORTAL_MAIL_FROM must be set with PORTAL_SMTP_URL: the address mail comes from."
        )
    return MailSettings(sender=check_sender(sender), server=server)
