"""A real SMTP server in the test process (aiosmtpd) that keeps what it received and answers as told."""

import email
import email.policy
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from support import free_port

SMTP_USER = "portal"
SMTP_PASSWORD = "s3cret mail password"


@dataclass
class Mailbox:
    """What the server received (parsed messages, with their envelopes), and the answers it gives."""

    received: list = field(default_factory=list)  # email.message.EmailMessage, newest last
    envelopes: list = field(default_factory=list)  # (mail_from, rcpt_tos)
    # Answers to the next DATA commands, in order ("451 4.3.0 Try again later"); then 250.
    data_answers: list = field(default_factory=list)
    logins: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        if self.data_answers:
            return self.data_answers.pop(0)
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.received.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 OK: queued"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            SMTP_USER.encode(),
            SMTP_PASSWORD.encode(),
        )
        if ok:
            self.logins.append(auth_data.login.decode())
        # handled=False: aiosmtpd answers a failure with 535 itself (handled=True would say nothing).
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server():
    """Start an SMTP server on a free port that requires AUTH (over plain text: a test, on loopback).

    Yields the Mailbox; .url is the PORTAL_SMTP_URL that reaches it with the right password.
    """
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=mailbox.authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    mailbox.url = f"smtp://{SMTP_USER}:{SMTP_PASSWORD.replace(' ', '%20')}@127.0.0.1:{port}"
    mailbox.port = port
    try:
        yield mailbox
    finally:
        controller.stop()
