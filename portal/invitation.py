"""The invitation ("Authentication Notification Draft") staff send to a creator."""

import re
from urllib.parse import quote

# The fixed set of placeholders a template may use, with what each becomes.
PLACEHOLDERS = {
    "Name": "the creator's name",
    "Company": "the company name (PORTAL_COMPANY_NAME)",
    "Link": "the creator's Link Accounts Page address",
}

# Anything in square brackets that starts with a letter reads as a placeholder,
# so a misspelt one ("[Nmae]") is reported instead of reaching a creator.
_PLACEHOLDER = re.compile(r"\[([A-Za-z][A-Za-z0-9 _-]{0,39})\]")

DEFAULT_SUBJECT = "Link your Instagram account with [Company]"

DEFAULT_BODY = """Welcome, [Name]!

You're invited to link your social accounts with [Company]. This helps us learn more about your \
social media metrics and is shared only with [Company] and, read-only, with its clients. \
Information will never be published externally without your written permission. This does not \
grant permission to log into your account. This simple step is designed to provide greater \
transparency and a simpler experience working with us, saving you from taking screenshots of \
metrics screens in your apps.

Link your accounts here: [Link]

Permissions you are granting:
- Read-only access to your Instagram Insights data
- [Company] may show these figures to its clients, read-only
- [Company] will never post on your behalf, follow pages, or like content

Benefits:
- Fewer screenshots to send us
- No need to take a screenshot within a 24-hour window
- No need to send original photo and video files from stories

Will not do:
- It will not post on behalf of your profile
- You can always remove the link to your account, from the same page, whenever you want

Have questions? Don't hesitate to contact us!
"""


def unknown_placeholders(*texts):
    """Return the bracketed names in texts that are not known placeholders, in order."""
    found = []
    for text in texts:
        for name in _PLACEHOLDER.findall(text or ""):
            if name not in PLACEHOLDERS and name not in found:
                found.append(name)
    return found


def render_text(template, *, name, company, link):
    """Return template as plain text with the known placeholders filled in."""
    values = {"Name": name, "Company": company, "Link": link}

    def fill(match):
        return values.get(match.group(1), match.group(0))

    return _PLACEHOLDER.sub(fill, template or "")


def mailto_url(to, subject, body):
    """Return a mailto: address that opens a mail client with subject and body filled in."""
    query = f"subject={quote(subject, safe='')}&body={quote(body, safe='')}"
    return f"mailto:{quote(to or '', safe='@')}?{query}"
