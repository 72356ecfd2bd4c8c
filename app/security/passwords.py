"""Password hashing with argon2id (argon2-cffi): no 72-byte limit, salted, tunable by config."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

# Accepted password lengths: at least 8 characters; at most 256, so that nobody makes the server
# hash a megabyte (argon2 has no length limit of its own).
PASSWORD_MIN = 8
PASSWORD_MAX = 256

# Hashed once per cost setting; verifying against it makes an unknown email cost as much
# as a wrong password, so login timing does not reveal which emails exist.
_DUMMY_PASSWORD = "timing-equaliser-for-unknown-accounts"  # noqa: S105 - not a credential


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


@lru_cache(maxsize=4)
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    return _hasher(time_cost, memory_cost, parallelism).hash(_DUMMY_PASSWORD)


def _params() -> tuple[int, int, int]:
    config = current_app.config
    return (
        config["PASSWORD_HASH_TIME_COST"],
        config["PASSWORD_HASH_MEMORY_COST"],
        config["PASSWORD_HASH_PARALLELISM"],
    )


def warm_up() -> None:
    """Compute the dummy hash now, so the first unknown-email login is not the slow one."""
    _dummy_hash(*_params())


def hash_password(password: str) -> str:
    """Return an argon2id hash of ``password`` with the configured cost."""
    return _hasher(*_params()).hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing hash still costs one full verification."""
    params = _params()
    try:
        return _hasher(*params).verify(password_hash or _dummy_hash(*params), password) and (
            password_hash is not None
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other cost parameters than the configured ones."""
    return _hasher(*_params()).check_needs_rehash(password_hash)
