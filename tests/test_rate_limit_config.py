"""Rate-limit settings: every limit from its environment variable, refused at start-up with one
line when Flask-Limiter could not parse it, and the endpoint table that applies them."""

from __future__ import annotations

import pytest

from app.security.ratelimit import (
    AUTH,
    LOGIN,
    LOGIN_EMAIL,
    READ,
    REGISTER,
    WRITE,
    limit_classes_for,
)
from config import RATE_LIMIT_DEFAULTS, ConfigError, get_config

LIMIT_SETTINGS = [*RATE_LIMIT_DEFAULTS, "RATELIMIT_DEFAULT"]


def test_shipped_limits_stack_a_burst_and_a_sustained_limit():
    config = get_config(environ={})
    for name, default in RATE_LIMIT_DEFAULTS.items():
        assert getattr(config, name) == default
        assert len(default.split(";")) == 2, name


@pytest.mark.parametrize("name", LIMIT_SETTINGS)
def test_each_limit_is_read_from_its_environment_variable(name):
    assert getattr(get_config(environ={name: "7/second;70/hour"}), name) == "7/second;70/hour"


@pytest.mark.parametrize("name", list(RATE_LIMIT_DEFAULTS))
def test_a_blank_limit_falls_back_to_the_default(name):
    assert getattr(get_config(environ={name: "  "}), name) == RATE_LIMIT_DEFAULTS[name]


def test_rate_limit_default_is_empty_unless_set():
    assert get_config(environ={}).RATELIMIT_DEFAULT == ""


@pytest.mark.parametrize("name", LIMIT_SETTINGS)
@pytest.mark.parametrize("value", ["10 per fortnight", "ten/minute", "10/minute;;", "5"])
def test_an_unparsable_limit_is_a_config_error_naming_the_setting(name, value):
    with pytest.raises(ConfigError) as error:
        get_config(environ={name: value})
    message = str(error.value)
    assert message.startswith(f"{name} must be a rate limit like")
    assert repr(value) in message
    assert "\n" not in message


@pytest.mark.parametrize("name", LIMIT_SETTINGS)
def test_a_limit_allowing_nothing_is_a_config_error(name):
    with pytest.raises(ConfigError, match=f"{name} must allow at least 1 request"):
        get_config(environ={name: "10/second;0/minute"})


def test_the_app_refuses_to_start_with_an_unparsable_limit(make_app):
    with pytest.raises(ConfigError, match="RATELIMIT_LOGIN"):
        make_app(RATELIMIT_LOGIN="5 per blue moon")


def test_limiting_is_on_by_default_and_off_in_testing():
    assert get_config(environ={}).RATELIMIT_ENABLED is True
    assert get_config("testing", environ={}).RATELIMIT_ENABLED is False
    assert get_config(environ={"RATELIMIT_ENABLED": "false"}).RATELIMIT_ENABLED is False


def test_counters_use_the_sliding_window_counter_with_headers():
    config = get_config(environ={})
    assert config.RATELIMIT_STRATEGY == "sliding-window-counter"
    assert config.RATELIMIT_HEADERS_ENABLED is True


def test_redis_counts_through_the_failover_storage():
    config = get_config(environ={"REDIS_URL": "redis://cache:6379/0"})
    assert config.RATELIMIT_STORAGE_URI == "failover+redis://cache:6379/0"


def test_redis_waits_are_bounded_by_the_socket_timeout():
    config = get_config(
        environ={"REDIS_URL": "redis://cache:6379/0", "REDIS_SOCKET_TIMEOUT": "0.3"}
    )
    assert config.RATELIMIT_STORAGE_OPTIONS == {
        "socket_timeout": 0.3,
        "socket_connect_timeout": 0.3,
    }


def test_counters_are_per_process_memory_without_redis():
    assert get_config(environ={}).RATELIMIT_STORAGE_URI == "memory://"


def test_key_prefix_comes_from_the_environment():
    assert get_config(environ={}).RATELIMIT_KEY_PREFIX == "conduit"
    assert get_config(environ={"RATELIMIT_KEY_PREFIX": "staging"}).RATELIMIT_KEY_PREFIX == "staging"


# The endpoint table ------------------------------------------------------------------------------


def test_login_has_a_per_ip_and_a_per_email_limit():
    assert limit_classes_for("auth.login", "POST") == (LOGIN, LOGIN_EMAIL)


def test_registration_has_its_own_limit():
    assert limit_classes_for("auth.register", "POST") == (REGISTER,)


@pytest.mark.parametrize("endpoint", ["auth.refresh", "auth.logout", "auth.logout_all"])
def test_session_endpoints_have_the_auth_limit(endpoint):
    assert limit_classes_for(endpoint, "POST") == (AUTH,)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_other_reads_have_the_read_limit(method):
    assert limit_classes_for("api.get_articles", method) == (READ,)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_other_writes_have_the_write_limit(method):
    assert limit_classes_for("api.some_future_endpoint", method) == (WRITE,)


def test_every_limit_class_reads_a_documented_setting():
    settings = {c.setting for c in (READ, WRITE, LOGIN, LOGIN_EMAIL, REGISTER, AUTH)}
    assert settings == set(RATE_LIMIT_DEFAULTS)
