"""What a message says and how it is put together: text, a simple HTML part, and the MIME message."""

import email.utils
import pathlib
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

TEMPLATES = pathlib.Path(__file__).resolve().parents[2] / "templates" / "email"
_environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
_ADDRESS = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True)
class Letter:
    """One message's words: a subject, the plain text, and the Link Accounts Page address it carries."""

    subject: str
    text: str
    link: str


def _linked(line, link):
    """Return a line of text as HTML, its web addresses (the creator's link among them) as links."""
    parts, last = [], 0
    for match in _ADDRESS.finditer(line):
        address = match.group(0).rstrip(".,;:!?)")
        parts.append(escape(line[last : match.start()]))
        parts.append(Markup('<a href="{0}">{0}</a>').format(address))
        last = match.start() + len(address)
    parts.append(escape(line[last:]))
    return Markup("").join(parts)


def html_part(kind, letter, company):
    """Return the HTML part of a message of this kind (templates/email/<kind>.html) for a letter."""
    paragraphs = [
        Markup("<br>\n").join(_linked(line, letter.link) for line in block.splitlines())
        for block in re.split(r"\n\s*\n", letter.text.strip())
        if block.strip()
    ]
    template = _environment.get_template(f"{kind}.html")
    return template.render(subject=letter.subject, paragraphs=paragraphs, link=letter.link, company=company)


def new_message_id(sender):
    """Return a Message-ID on the sender's domain, kept for every attempt at sending one message."""
    domain = email.utils.parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return email.utils.make_msgid(domain=domain)


def mime_message(message):
    """Return the EmailMessage an OutgoingMessage row stands for: text first, then the HTML alternative."""
    mime = EmailMessage(policy=SMTP)
    mime["From"] = message.sender
    mime["To"] = message.recipient
    if message.reply_to:
        mime["Reply-To"] = message.reply_to
    mime["Subject"] = message.subject
    mime["Date"] = email.utils.format_datetime(message.queued_at)
    mime["Message-ID"] = message.message_id
    mime.set_content(message.text_body)
    mime.add_alternative(message.html_body, subtype="html")
    return mime
