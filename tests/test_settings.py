from pathlib import Path

import pytest

from config.settings import DEFAULT_PUSH_HOSTS, SettingsError, load_settings


def test_defaults_give_a_localhost_origin_and_generate_a_kept_secret(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path / "data")}
    first = load_settings(env)
    assert first.port == 8000
    assert first.public_url == "http://localhost:8000"
    assert first.database_url is None
    assert first.push_allowed_hosts == DEFAULT_PUSH_HOSTS
    assert len(first.secret_key) >= 32
    key_file = tmp_path / "data" / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert load_settings(env).secret_key == first.secret_key


def test_public_url_follows_port_and_gives_rp_id(tmp_path: Path) -> None:
    settings = load_settings({"DATA_DIR": str(tmp_path), "PORT": "9001"})
    assert settings.public_url == "http://localhost:9001"
    assert settings.rp_id == "localhost"
    assert not settings.secure_cookies
    https = load_settings({"DATA_DIR": str(tmp_path), "PUBLIC_URL": "https://ywtb.changzhou.example/"})
    assert https.public_url == "https://ywtb.changzhou.example"
    assert https.secure_cookies


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "eighty"),
        ("PORT", "70000"),
        ("PUBLIC_URL", "ftp://example.com"),
        ("PUBLIC_URL", "https://example.com/app"),
        ("PUBLIC_URL", "http://example.com"),
        ("DATABASE_URL", "mysql://localhost/db"),
        ("DATABASE_DIRECT_URL", "mysql://localhost/db"),
        ("SECRET_KEY", "short"),
        ("PUSH_ALLOWED_HOSTS", "https://fcm.googleapis.com/x"),
        ("VAPID_SUBJECT", "someone"),
        ("STAFF_IDLE_MINUTES", "0"),
        ("TRUSTED_PROXIES", "10.0.0.0/33"),
        ("TRUSTED_PROXIES", "proxy.internal"),
        ("SMS_BACKEND", "aliyun"),
        ("SIGNUP_STARTS_PER_ADDRESS", "0"),
        ("METRICS_ALLOWED", "10.0.0.0/33"),
        ("LOG_FORMAT", "xml"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
        ("PUSH_METRICS_PORT", "70000"),
    ],
)
def test_a_bad_value_names_its_variable(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"DATA_DIR": str(tmp_path), name: value})
    assert str(caught.value).startswith(f"{name}:")
    assert "\n" not in str(caught.value)


def test_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(SettingsError, match=r"^DATA_DIR:"):
        load_settings({"DATA_DIR": str(tmp_path / "file")})


def test_push_hosts_are_parsed_from_a_comma_list(tmp_path: Path) -> None:
    settings = load_settings({"DATA_DIR": str(tmp_path), "PUSH_ALLOWED_HOSTS": "127.0.0.1, *.notify.windows.com"})
    assert settings.push_allowed_hosts == ("127.0.0.1", "*.notify.windows.com")


def test_trusted_proxies_are_a_comma_list_of_addresses_and_networks(tmp_path: Path) -> None:
    assert load_settings({"DATA_DIR": str(tmp_path)}).trusted_proxies == ()
    settings = load_settings({"DATA_DIR": str(tmp_path), "TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.5 ,::1"})
    assert settings.trusted_proxies == ("10.0.0.0/8", "192.168.1.5/32", "::1/128")


def test_transaction_pooling_needs_a_direct_url_for_what_needs_a_session(tmp_path: Path) -> None:
    pooled = {"DATA_DIR": str(tmp_path), "DATABASE_URL": "postgresql://ywtb@pgbouncer:6432/ywtb"}
    assert load_settings(pooled).database_pooling == "session"
    with pytest.raises(SettingsError, match=r"^DATABASE_DIRECT_URL: needed with DATABASE_POOLING=transaction"):
        load_settings({**pooled, "DATABASE_POOLING": "transaction"})
    with pytest.raises(SettingsError, match=r"^DATABASE_POOLING: expected session or transaction"):
        load_settings({**pooled, "DATABASE_POOLING": "statement"})
    with pytest.raises(SettingsError, match=r"^DATABASE_DIRECT_URL: set only beside DATABASE_URL"):
        load_settings({"DATA_DIR": str(tmp_path), "DATABASE_DIRECT_URL": "postgresql://ywtb@db:5432/ywtb"})
    direct = "postgresql://ywtb@db-primary:5432/ywtb"
    settings = load_settings({**pooled, "DATABASE_POOLING": "transaction", "DATABASE_DIRECT_URL": direct})
    assert settings.transaction_pooling and settings.database_direct_url == direct


def test_texts_go_to_the_server_log_unless_told_otherwise(tmp_path: Path) -> None:
    settings = load_settings({"DATA_DIR": str(tmp_path)})
    assert settings.sms_backend == "log" and settings.signup_starts_per_address == 20
    assert load_settings({"DATA_DIR": str(tmp_path), "SMS_BACKEND": " LOG "}).sms_backend == "log"


def test_operations_settings_default_to_loopback_metrics_text_logs_and_no_tracing(tmp_path: Path) -> None:
    settings = load_settings({"DATA_DIR": str(tmp_path)})
    assert settings.metrics_allowed == ("127.0.0.0/8", "::1/128")
    assert (settings.log_format, settings.otel_endpoint, settings.push_metrics_port) == ("text", None, 0)
    chosen = load_settings(
        {
            "DATA_DIR": str(tmp_path),
            "METRICS_ALLOWED": "10.1.2.0/24, 127.0.0.1",
            "LOG_FORMAT": "JSON",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.internal:4318",
            "PUSH_METRICS_PORT": "9464",
        }
    )
    assert chosen.metrics_allowed == ("10.1.2.0/24", "127.0.0.1/32")
    assert (chosen.log_format, chosen.otel_endpoint, chosen.push_metrics_port) == (
        "json",
        "http://collector.internal:4318",
        9464,
    )
