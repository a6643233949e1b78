"""The staff area's forms; each validates and explains what it refuses."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from portal.connections.handles import InvalidHandle, normalise_handle
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
