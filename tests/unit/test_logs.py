"""Structured logs: JSON lines or text by the stream and setting; secrets read through the config,
bearer tokens, session ids and JWTs redacted from messages, arguments, extras and tracebacks."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.core.config import HubSpotSource, Logging
from connector.core.logs import REDACTED, redact, setup_logging
from connector.core.secrets import register_secret


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)


def _log(settings: Logging, stream: io.StringIO, *args: object, **kw: object) -> str:
    setup_logging(settings, stream)
    logging.getLogger("carnet.test").info(*args, **kw)  # type: ignore[arg-type]
    return stream.getvalue()


@pytest.mark.parametrize(
    ("fmt", "tty", "is_json"),
    [("auto", False, True), ("auto", True, False), ("json", True, True), ("text", False, False)],
)
def test_format_follows_setting_and_terminal(
    restore_root: None, fmt: str, tty: bool, is_json: bool
) -> None:
    stream = _Tty() if tty else io.StringIO()
    out = _log(Logging(format=fmt), stream, "hello %s", "world", extra={"source": "hubspot"})
    line = out.strip()
    assert "\n" not in line
    if is_json:
        doc = json.loads(line)
        assert doc["message"] == "hello world"
        assert doc["level"] == "info" and doc["logger"] == "carnet.test"
        assert doc["source"] == "hubspot"
    else:
        assert line.endswith("INFO    carnet.test: hello world")
        with pytest.raises(json.JSONDecodeError):
            json.loads(line)


def test_a_secret_read_through_the_config_is_redacted(restore_root: None, tmp_path: Path) -> None:
    value = "hs-secret-value-" + tmp_path.name
    (tmp_path / "token").write_text(value + "\n")
    settings = HubSpotSource(token_file=tmp_path / "token")
    assert settings.secret("token") == value  # reading it registers it
    stream = io.StringIO()
    setup_logging(Logging(format="json"), stream)
    log = logging.getLogger("carnet.test")
    log.info("calling with %s", value, extra={"detail": {"auth": [value]}})
    try:
        raise RuntimeError(f"refused {value}")
    except RuntimeError:
        log.exception("failed")
    out = stream.getvalue()
    assert value not in out
    docs = [json.loads(line) for line in out.splitlines()]
    assert docs[0]["message"] == f"calling with {REDACTED}"
    assert docs[0]["detail"] == {"auth": [REDACTED]}
    assert f"RuntimeError: refused {REDACTED}" in docs[1]["exception"]


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer 00Dxx0000001gPL!AR8AQJXg5oj8jXSgxJfA0lBog",
        "GET /services/data?sid=00Dxx0000001gPLEAY!ARoAQGmPqrs.T9Vl1ZQ",
        "session 00D5g000004Zxy1EAC!AQ0AQHk2vP3_8xxYZtqWnSg8xS4 expired",
        'token body {"access_token": "ya29.A0ARrdaM-secretvalue", "expires_in": 3599}',
        "url https://x/?client_secret=abc123def456&grant_type=client_credentials",
        "hubspot pat-na1-7f3c2b8e-1d4a-4c5b-9e6f-0a1b2c3d4e5f refused",
        "graph token eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwcyJ9.c2lnbmF0dXJl",
    ],
)
def test_tokens_in_messages_are_redacted(text: str) -> None:
    out = redact(text)
    assert REDACTED in out
    for secret in (
        "AR8AQJXg5oj8jXSgxJfA0lBog",
        "ARoAQGmPqrs",
        "AQ0AQHk2vP3",
        "secretvalue",
        "abc123def456",
        "7f3c2b8e-1d4a",
        "c2lnbmF0dXJl",
    ):
        assert secret not in out


def test_ordinary_text_is_left_alone() -> None:
    text = "sync salesforce: pulled 12, created 3 in 0.41s; deltatoken paging went fine"
    register_secret("abc")  # too short to be a credential: not registered
    assert redact(text) == text


def test_setup_twice_keeps_one_handler(restore_root: None) -> None:
    stream = io.StringIO()
    setup_logging(Logging(format="json"), io.StringIO())
    setup_logging(Logging(format="json", level="WARNING"), stream)
    logging.getLogger("carnet.test").info("not shown")
    logging.getLogger("carnet.test").warning("shown")
    assert [json.loads(x)["message"] for x in stream.getvalue().splitlines()] == ["shown"]


def test_other_commands_show_warnings_bare_but_redacted(
    restore_root: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from connector.core.logs import setup_command_logging

    for h in [h for h in logging.getLogger().handlers if getattr(h, "_carnet_handler", False)]:
        logging.getLogger().removeHandler(h)
    setup_command_logging()
    setup_command_logging()  # once only
    register_secret("cmd-secret-0123456789")
    log = logging.getLogger("adapters.test")
    log.info("not shown")
    log.warning("token cmd-secret-0123456789 refused")
    assert capsys.readouterr().err == f"token {REDACTED} refused\n"
    stream = io.StringIO()
    setup_logging(Logging(format="json"), stream)  # carnet run replaces it
    log.warning("x")
    assert capsys.readouterr().err == "" and json.loads(stream.getvalue())["message"] == "x"
