"""Request and response schemas for user accounts (they also feed the OpenAPI document)."""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma

from app.models.user import BIO_MAX, EMAIL_MAX, IMAGE_MAX, USERNAME_MAX
from app.security.passwords import PASSWORD_MAX, PASSWORD_MIN
from app.validation import NUL, WHITESPACE, RequestSchema, Text, envelope

# Each pattern is both the check and what the OpenAPI document says (whitespace spelled out).
# A username appears in URL paths: /api/profiles/<username>.
USERNAME_PATTERN = rf"^[^{NUL}{WHITESPACE}/\\?#%]+$"
_EMAIL_PART = rf"[^{NUL}{WHITESPACE}@]+"
EMAIL_PATTERN = rf"^{_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART}$"
# Spelled letter by letter: IGNORECASE would also take e.g. "\u017f" (long s) for "s".
_URL = rf"[hH][tT][tT][pP][sS]?://[^{NUL}{WHITESPACE}]+"
# The image may also be blank (it means "no image").
IMAGE_PATTERN = rf"^(?:[{WHITESPACE}]*|{_URL})$"

_USERNAME = re.compile(USERNAME_PATTERN)
_EMAIL = re.compile(EMAIL_PATTERN)
_IMAGE_URL = re.compile(rf"^{_URL}$")


def _username(value: str) -> None:
    if not _USERNAME.fullmatch(value):
        raise ma.ValidationError("may not contain spaces, slashes, '?', '#' or '%'")


def _email(value: str) -> None:
    if not _EMAIL.fullmatch(value):
        raise ma.ValidationError("is invalid")


def _image_url(value: str) -> None:
    if not _IMAGE_URL.fullmatch(value):
        raise ma.ValidationError("must be an http(s) URL")


def Username(**kwargs: Any) -> Text:  # noqa: N802 - a field factory reads like a field class
    return Text(max_length=USERNAME_MAX, validate=_username, pattern=USERNAME_PATTERN, **kwargs)


def Email(**kwargs: Any) -> Text:  # noqa: N802
    return Text(max_length=EMAIL_MAX, validate=_email, pattern=EMAIL_PATTERN, **kwargs)


def Password(**kwargs: Any) -> Text:  # noqa: N802
    return Text(max_length=PASSWORD_MAX, min_length=PASSWORD_MIN, **kwargs)


class NewUser(RequestSchema):
    username = Username(required=True)
    email = Email(required=True)
    password = Password(required=True, load_only=True)


class RegisterRequest(RequestSchema):
    user = envelope(NewUser)


class Credentials(RequestSchema):
    email = Text(max_length=EMAIL_MAX, required=True)
    # Long enough for any real password; longer input is refused before it is hashed.
    password = Text(max_length=PASSWORD_MAX, required=True, load_only=True)


class LoginRequest(RequestSchema):
    user = envelope(Credentials)


class UserChanges(RequestSchema):
    username = Username()
    email = Email()
    password = Password(load_only=True)
    # Empty string and null both mean "no bio / no image".
    bio = Text(max_length=BIO_MAX, allow_none=True, allow_blank=True)
    image = Text(max_length=IMAGE_MAX, allow_none=True, allow_blank=True, pattern=IMAGE_PATTERN)

    @ma.validates("image")
    def _check_image(self, value: str | None, **_kwargs: Any) -> None:
        if value and value.strip():
            _image_url(value)

    @ma.post_load
    def _blank_to_null(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        for key in ("bio", "image"):
            if key in data and data[key] is not None and not data[key].strip():
                data[key] = None
        return data


class UpdateUserRequest(RequestSchema):
    user = envelope(UserChanges)


class UserOut(ma.Schema):
    email = ma.fields.String(required=True)
    token = ma.fields.String(required=True)
    username = ma.fields.String(required=True)
    bio = ma.fields.String(allow_none=True, required=True)
    image = ma.fields.String(allow_none=True, required=True)


class UserResponse(ma.Schema):
    user = ma.fields.Nested(UserOut, required=True)


class SessionUserOut(UserOut):
    """The user as login, registration and refresh return it: with the session's refresh token
    (send it only to ``POST /api/auth/refresh``; each one works once)."""

    refresh_token = ma.fields.String(required=True, data_key="refreshToken")


class SessionResponse(ma.Schema):
    user = ma.fields.Nested(SessionUserOut, required=True)
