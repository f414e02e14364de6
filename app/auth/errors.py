"""Errors raised by the accounts service; `field` names the form field a page shows them on."""

from __future__ import annotations

from typing import ClassVar

from app.errors import Forbidden, Invalid, NotFound, RateLimited


class FieldInvalid(Invalid):
    """Bad input tied to one form field, so a form can show the message next to it."""

    code = "auth.invalid"
    field: ClassVar[str] = ""


class EmailTaken(FieldInvalid):
    code = "auth.email_taken"
    status = 409
    field = "email"

    @classmethod
    def default_message(cls) -> str:
        return "An account with this email address already exists. Log in instead."


class InvalidCredentials(FieldInvalid):
    code = "auth.invalid_credentials"
    field = "password"

    @classmethod
    def default_message(cls) -> str:
        # One message for "no such account" and "wrong password": emails stay private.
        return "The email or password is incorrect."


class WrongPassword(FieldInvalid):
    code = "auth.wrong_password"
    field = "current_password"

    @classmethod
    def default_message(cls) -> str:
        return "Your current password is not correct."


class LoginRateLimited(RateLimited):
    code = "auth.rate_limited"


class TokensForbidden(Forbidden):
    code = "auth.tokens_forbidden"

    @classmethod
    def default_message(cls) -> str:
        return "Only event organizers and administrators can create API tokens."


class TokenNotFound(NotFound):
    code = "auth.token_not_found"

    @classmethod
    def default_message(cls) -> str:
        return "There is no such API token on your account."
