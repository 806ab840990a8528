from __future__ import annotations

import pytest

from service.settings import Settings, SettingsError
from tests.conftest import rekap


def test_defaults_point_at_local_servers() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == "postgresql://postgres@127.0.0.1:5432/rekap"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.port == 8000


def test_values_are_read_and_converted_from_the_environment() -> None:
    settings = Settings.from_env({"REKAP_PORT": "9000", "REKAP_STORAGE_DIR": "/srv/photos", "HOME": "/root"})
    assert settings.port == 9000
    assert settings.storage_dir == "/srv/photos"
    proxies = Settings.from_env({"REKAP_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1"}).trusted_networks
    assert [str(n) for n in proxies] == ["10.0.0.0/8", "127.0.0.1/32"]


@pytest.mark.parametrize(
    ("env", "variable", "fragment"),
    [
        ({"REKAP_PORT": "eighty"}, "REKAP_PORT", "expected a whole number, got 'eighty'"),
        ({"REKAP_PORT": "70000"}, "REKAP_PORT", "from 0 to 65535"),
        ({"REKAP_DATABASE_URL": "mysql://db/rekap"}, "REKAP_DATABASE_URL", "postgresql://"),
        ({"REKAP_DATABASE_URL": "postgresql://h:99999/x"}, "REKAP_DATABASE_URL", "port"),
        ({"REKAP_REDIS_URL": "http://cache"}, "REKAP_REDIS_URL", "redis://"),
        ({"REKAP_LOG_LEVEL": "loud"}, "REKAP_LOG_LEVEL", "one of debug"),
        ({"REKAP_STORAGE_DIR": " "}, "REKAP_STORAGE_DIR", "must not be empty"),
        ({"REKAP_PUBLIC_BASE_URL": "rekap.example.id"}, "REKAP_PUBLIC_BASE_URL", "http://"),
        ({"REKAP_FEED_KEEPALIVE_SECONDS": "0"}, "REKAP_FEED_KEEPALIVE_SECONDS", "from 1 to 300"),
        ({"REKAP_DATABSE_URL": "postgresql://x/y"}, "REKAP_DATABSE_URL", "unknown setting"),
        (
            {"REKAP_TRUSTED_PROXIES": "10.0.0.0/8, nginx"},
            "REKAP_TRUSTED_PROXIES",
            "'nginx' is not an address",
        ),
    ],
)
def test_a_malformed_value_names_its_variable(env: dict[str, str], variable: str, fragment: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert caught.value.variable == variable
    assert fragment in str(caught.value)


def test_the_command_line_reports_a_bad_setting_without_a_traceback() -> None:
    result = rekap("db", "status", env={"REKAP_PORT": "eighty"})
    assert result.returncode == 1
    assert result.stderr.strip() == "rekap: REKAP_PORT: expected a whole number, got 'eighty'"


def test_an_unreachable_database_is_a_message_not_a_traceback() -> None:
    result = rekap("db", "status", env={"REKAP_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"})
    assert result.returncode == 1
    assert "cannot use PostgreSQL at postgresql://postgres@127.0.0.1:1/x" in result.stderr
    assert "Traceback" not in result.stderr
