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


# The reminders that follow the invitation (portal/mail/reminders.py says when each goes out). Each
# is a template with the invitation's placeholders; admins edit them under Settings. The kind names
# the message (OutgoingMessage.kind), its HTML part (templates/email/<kind>.html) and the ledger's
# "<kind>_sent".
INVITATION_REMINDER = "invitation_reminder"
ACCESS_REMINDER = "access_reminder"
BROKEN_LINK_REMINDER = "broken_link_reminder"

_THE_SAME_ACCESS = """It is the same read-only access as before: [Company] never posts, follows or likes \
anything on your behalf, and you can remove the link from the same page whenever you want.

Have questions? Don't hesitate to contact us!
"""

REMINDERS = {
    INVITATION_REMINDER: {
        "label": "Invitation reminder",
        "when": "to creators invited some days ago who have not linked an account yet",
        "subject": "A reminder: link your Instagram account with [Company]",
        "body": """Hi [Name],

A little while ago we invited you to link your Instagram account with [Company], and we haven't \
seen it linked yet. It takes a couple of minutes, and it saves you sending us screenshots of your \
Insights.

Link your accounts here: [Link]

It gives [Company] read-only access to your Instagram Insights: we never post, follow or like \
anything on your behalf, and you can remove the link from the same page whenever you want.

Have questions? Don't hesitate to contact us!
""",
    },
    ACCESS_REMINDER: {
        "label": "Data access ending",
        "when": "14 days and again 3 days before Facebook ends a linked account's data access",
        "subject": "Please connect your Instagram account to [Company] again",
        "body": """Hi [Name],

Facebook lets [Company] read your Instagram Insights for a limited time after each connection, \
and that time ends soon. To keep it going, please open your Link Accounts Page and press \
"Connect Business" again. It takes a minute, and nothing else changes.

Connect again here: [Link]

"""
        + _THE_SAME_ACCESS,
    },
    BROKEN_LINK_REMINDER: {
        "label": "Link broken",
        "when": "when a linked account's link stops working",
        "subject": "Your Instagram link with [Company] has stopped working",
        "body": """Hi [Name],

The link between your Instagram account and [Company] has stopped working: Facebook no longer \
lets us read your Insights. This happens when the access runs out, when a password or a role on \
the Facebook Page changes, or when a permission is removed.

Please connect again here: [Link]

Press "Connect Business" under the account. The figures we already have are kept.

"""
        + _THE_SAME_ACCESS,
    },
}
