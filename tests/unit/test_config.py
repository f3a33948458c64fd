"""Config validation: every problem at once, with file, line and key; secrets never inline."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.core.config import SECRET_NAMES, load_config, parse_every
from connector.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    return exc.value.lines()


def test_the_example_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARNET_DATABASE_URL", raising=False)
    config = load_config(REPO / "config.example.yaml")
    assert set(config.sources.enabled()) == {"salesforce", "hubspot", "exchange"}
    assert config.database_url == f"sqlite:///{REPO / 'carnet.db'}"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 1\nsharing:\n  scope: galaxy\n  colour: blue\ncredits:\n  percent: 300\n"
        "scheduler:\n  lease_seconds: many\n",
    )
    lines = problems(path)
    assert lines == [
        f"{path}:3: sharing.scope: Input should be 'team' or 'company'",
        f"{path}:4: sharing.colour: unknown key",
        f"{path}:6: credits.percent: Input should be less than or equal to 100",
        f"{path}:8: scheduler.lease_seconds: "
        "Input should be a valid integer, unable to parse string as an integer",
    ]


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("hubspot", "token"),
        ("salesforce", "client_secret"),
        ("exchange", "client_secret"),
        ("salesforce", "password"),
    ],
)
def test_an_inline_secret_is_an_error_naming_its_key(
    tmp_path: Path, section: str, key: str
) -> None:
    path = write(tmp_path, f"version: 1\nsources:\n  {section}:\n    {key}: hunter2-secret\n")
    lines = problems(path)
    assert any(
        f"{path}:4: sources.{section}.{key}: inline secrets are not allowed" in line
        for line in lines
    )
    assert not any("hunter2" in line for line in lines), "the secret's value is never echoed"


def test_a_database_password_is_an_inline_secret(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\ndatabase_url: postgresql://carnet:s3cret@db/carnet\n")
    (line,) = problems(path)
    assert line.startswith(f"{path}:2: database_url: the URL holds a password")
    assert "s3cret" not in line


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nsharing:\n  scope: [team\n")
    (line,) = problems(path)
    assert line.startswith(f"{path}:4: YAML syntax error")


def test_missing_file(tmp_path: Path) -> None:
    assert problems(tmp_path / "nope.yaml") == [f"{tmp_path / 'nope.yaml'}: file not found"]


def test_duplicate_keys_are_an_error(tmp_path: Path) -> None:
    (line,) = problems(write(tmp_path, "version: 1\nversion: 1\n"))
    assert "duplicate" in line.lower()


def test_secret_files_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tok").write_text("pat-123\n")
    path = write(tmp_path, "version: 1\nsources:\n  hubspot:\n    token_file: tok\n")
    assert load_config(path).sources.hubspot.secret("token") == "pat-123"  # type: ignore[union-attr]
    path = write(tmp_path, "version: 1\nsources:\n  hubspot:\n    token_env: HS_TOKEN_TEST\n")
    monkeypatch.setenv("HS_TOKEN_TEST", "pat-456")
    assert load_config(path).sources.hubspot.secret("token") == "pat-456"  # type: ignore[union-attr]
    monkeypatch.delenv("HS_TOKEN_TEST")
    with pytest.raises(ConfigError, match="HS_TOKEN_TEST is not set"):
        load_config(path).sources.hubspot.secret("token")  # type: ignore[union-attr]


def test_a_missing_secret_file_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nsources:\n  hubspot:\n    token_file: gone\n")
    assert problems(path) == [
        f"{path}:4: sources.hubspot.token_file: file not found: {tmp_path / 'gone'}"
    ]


def test_env_overrides_database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARNET_DATABASE_URL", "postgresql://postgres@127.0.0.1/x")
    assert (
        load_config(write(tmp_path, "version: 1\n")).database_url
        == "postgresql://postgres@127.0.0.1/x"
    )


def test_relative_sqlite_path_is_beside_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CARNET_DATABASE_URL", raising=False)
    config = load_config(write(tmp_path, "version: 1\ndatabase_url: sqlite:///data/c.db\n"))
    assert config.database_url == f"sqlite:///{tmp_path / 'data/c.db'}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", ("interval", 30)),
        ("5m", ("interval", 300)),
        ("2h", ("interval", 7200)),
        ("*/5 * * * *", ("cron", "*/5 * * * *")),
    ],
)
def test_parse_every(text: str, expected: tuple[str, object]) -> None:
    assert parse_every(text) == expected


@pytest.mark.parametrize("text", ["", "5", "5 minutes", "0m", "* * *", "61 * * * *"])
def test_parse_every_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_every(text)


@given(
    key=st.sampled_from(SECRET_NAMES), value=st.from_regex(r"[A-Za-z0-9+/]{12,40}", fullmatch=True)
)
def test_no_inline_secret_ever_validates_or_echoes(key: str, value: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        from ruamel.yaml import YAML

        path = Path(tmp) / "c.yaml"
        with path.open("w") as fh:
            YAML().dump({"version": 1, "sources": {"hubspot": {"token_env": "X", key: value}}}, fh)
        with pytest.raises(ConfigError) as exc:
            load_config(path)
        text = "\n".join(exc.value.lines())
        assert f"sources.hubspot.{key}: inline secrets are not allowed" in text
        assert value not in text
