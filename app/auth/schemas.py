"""Input and output shapes of accounts: sign-up, login, password change, API tokens."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import TypeVar

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

MIN_PASSWORD = 10
MAX_PASSWORD = 200
MAX_DISPLAY_NAME = 100
MAX_TOKEN_NAME = 100
# Bidirectional overrides let a name display as something else ("evil" shown as "live").
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def normalize_email(value: str) -> str:
    """The one spelling of an address we store and look up; ValueError when it is not one."""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(f"Enter a valid email address. {exc}") from None


def lookup_email(value: str) -> str:
    """Like normalize_email, but never fails: a login with a malformed address simply fails."""
    try:
        return normalize_email(value)
    except ValueError:
        return value.strip().lower()[:320]


def _check_password(value: str) -> str:
    if len(value) < MIN_PASSWORD:
        raise ValueError(f"Use at least {MIN_PASSWORD} characters.")
    if len(value) > MAX_PASSWORD:
        raise ValueError(f"Use at most {MAX_PASSWORD} characters.")
    return value


def _clean_text(value: str, *, what: str, max_length: int) -> str:
    value = unicodedata.normalize("NFC", value).strip()
    if not value:
        raise ValueError(f"Enter {what}.")
    if len(value) > max_length:
        raise ValueError(f"Use at most {max_length} characters.")
    if any(unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS for ch in value):
        raise ValueError("Remove the control characters (such as line breaks).")
    return value


class FormModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class AccountCreate(FormModel):
    email: str
    display_name: str
    password: str

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalize_email(value)

    @field_validator("display_name")
    @classmethod
    def _display_name(cls, value: str) -> str:
        return _clean_text(value, what="your name", max_length=MAX_DISPLAY_NAME)

    @field_validator("password")
    @classmethod
    def _password(cls, value: str) -> str:
        return _check_password(value)


class LoginForm(FormModel):
    email: str
    password: str

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Enter your email address.")
        return lookup_email(value)

    @field_validator("password")
    @classmethod
    def _password(cls, value: str) -> str:
        if not value:
            raise ValueError("Enter your password.")
        return value


class PasswordChange(FormModel):
    current_password: str
    new_password: str

    @field_validator("current_password")
    @classmethod
    def _current(cls, value: str) -> str:
        if not value:
            raise ValueError("Enter your current password.")
        return value

    @field_validator("new_password")
    @classmethod
    def _new(cls, value: str) -> str:
        return _check_password(value)


class ApiTokenCreate(FormModel):
    name: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _clean_text(value, what="a name for the token", max_length=MAX_TOKEN_NAME)


class AccountRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str | None
    display_name: str
    is_admin: bool


M = TypeVar("M", bound=FormModel)


def parse_form(model: type[M], data: Mapping[str, str]) -> tuple[M | None, dict[str, str]]:
    """Validate form fields (missing ones count as empty) into `model`, or per-field messages."""
    values = {name: data.get(name, "") for name in model.model_fields}
    try:
        return model.model_validate(values), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "form"
            errors.setdefault(name, str(error["msg"]).removeprefix("Value error, "))
        return None, errors
