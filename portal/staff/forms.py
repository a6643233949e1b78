"""The staff area's forms; each validates and explains what it refuses."""

import datetime

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    PasswordField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, ValidationError

from portal.connections.handles import InvalidHandle, normalise_handle, split_handles
from portal.invitation import unknown_placeholders


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class CreatorForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter the creator's name."), Length(max=120)])
    email = EmailField(
        "Email",
        validators=[Optional(), Email("Enter an email address like name@example.com."), Length(max=254)],
    )


class NewCreatorForm(CreatorForm):
    """The creator form with the Instagram handles to list at once (the edit form has none)."""

    handles = TextAreaField("Instagram handles", validators=[Length(max=3000)])

    def validate_handles(self, field):
        # Every refused line is reported, one message each; a form with any of them saves nothing.
        self.usernames = []
        for line_number, typed in split_handles(field.data):
            try:
                username = normalise_handle(typed)
            except InvalidHandle as exc:
                shown = typed if len(typed) <= 40 else typed[:39] + "…"
                field.errors.append(f"Line {line_number} (“{shown}”): {exc}")
                continue
            if username not in self.usernames:
                self.usernames.append(username)


class CreatorImportForm(FlaskForm):
    """The creators CSV upload; the file itself is judged by creator_import, not by validators."""

    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file to upload.")])


class HandleForm(FlaskForm):
    handle = StringField("Instagram username or profile address", validators=[Length(max=200)])

    def validate_handle(self, field):
        try:
            self.username = normalise_handle(field.data)
        except InvalidHandle as exc:
            raise ValidationError(str(exc)) from exc


class StaffForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(min=12, max=1024, message="Use at least 12 characters.")],
    )
    is_admin = BooleanField("Administrator (manages staff and settings)")


class InvitationForm(FlaskForm):
    subject = StringField("Subject", validators=[DataRequired(), Length(max=200)])
    body = TextAreaField("Message", validators=[DataRequired(), Length(max=10000)])

    def validate_body(self, field):
        unknown = unknown_placeholders(self.subject.data, field.data)
        if unknown:
            names = ", ".join(f"[{name}]" for name in unknown)
            raise ValidationError(f"Unknown placeholder: {names}. Use [Name], [Company] or [Link].")


class ReminderForm(InvitationForm):
    """A reminder's words: the invitation's fields and placeholder rules."""


class ReminderScheduleForm(FlaskForm):
    """How many days after the invitation the invitation reminder goes."""

    invited_after_days = StringField("Days after the invitation", validators=[Length(max=10)])

    def validate_invited_after_days(self, field):
        # At most two ASCII digits: int() would also take "١٢", and choke on 5,000 digits.
        text = (field.data or "").strip()
        if not (text and len(text) <= 2 and text.isascii() and text.isdigit() and 1 <= int(text) <= 90):
            raise ValidationError("Enter a whole number of days from 1 to 90.")

    @property
    def days(self):
        return int(self.invited_after_days.data.strip())


class CampaignForm(FlaskForm):
    name = StringField("Campaign name", validators=[DataRequired("Name the campaign."), Length(max=120)])
    client = StringField("Client", validators=[DataRequired("Name the client."), Length(max=120)])
    starts_on = DateField("Starts on", validators=[Optional()])
    ends_on = DateField("Ends on", validators=[Optional()])

    def validate_starts_on(self, field):
        _plausible_year(field)

    def validate_ends_on(self, field):
        _plausible_year(field)
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError("The campaign cannot end before it starts.")


def _plausible_year(field):
    # Instagram's Insights begin well after 2000; a year like 0001 or 9999 is a typo.
    if field.data and not 2000 <= field.data.year <= 2100:
        raise ValidationError("Enter a date between the years 2000 and 2100.")


class ReportLinkForm(FlaskForm):
    label = StringField(
        "Who it is for", validators=[DataRequired("Say who the report is for."), Length(max=120)]
    )
    days = IntegerField(
        "Works for (days)",
        default=90,
        validators=[Optional(), NumberRange(1, 3650, "Between 1 and 3,650 days, or empty for no end.")],
    )


class LinkTokenForm(FlaskForm):
    """Issue a new link, optionally one that stops working after some days."""

    valid_for_days = StringField("Valid for (days)", validators=[Length(max=10)])

    def validate_valid_for_days(self, field):
        # At most three ASCII digits: int() would also take "١٢", and choke on 5,000 digits.
        text = (field.data or "").strip()
        if text and not (len(text) <= 3 and text.isascii() and text.isdigit() and 1 <= int(text) <= 365):
            raise ValidationError(
                "Enter a whole number of days from 1 to 365, or leave it empty for no expiry."
            )

    @property
    def valid_for(self):
        """Return how long the new link works (a timedelta), or None for no expiry."""
        text = (self.valid_for_days.data or "").strip()
        return datetime.timedelta(days=int(text)) if text else None
