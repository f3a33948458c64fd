"""One name for the API-budget share, `api_budget_share`: HubSpot's old `daily_budget_share` still
loads, means the same, and is named in a warning with the config file and line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from connector.core.config import HubSpotSource, load_config
from connector.core.errors import ConfigError

HEAD = "version: 1\nsources:\n  hubspot:\n    token_env: CARNET_TEST_TOKEN\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_old_name_loads_with_a_warning_naming_file_and_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = write(tmp_path, "old.yaml", HEAD + "    every: 5m\n    daily_budget_share: 0.5\n")
    new = write(tmp_path, "new.yaml", HEAD + "    every: 5m\n    api_budget_share: 0.5\n")
    with caplog.at_level(logging.WARNING, logger="carnet.config"):
        from_old = load_config(old)
    (warning,) = [r for r in caplog.records if r.name == "carnet.config"]
    assert warning.levelno == logging.WARNING
    assert warning.getMessage().startswith(f"{old}:6: sources.hubspot.daily_budget_share: ")
    assert "api_budget_share" in warning.getMessage()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="carnet.config"):
        from_new = load_config(new)
    assert not [r for r in caplog.records if r.name == "carnet.config"]
    assert from_old.sources.hubspot is not None and from_new.sources.hubspot is not None
    assert from_old.sources.hubspot.api_budget_share == 0.5
    assert from_old.sources.hubspot == from_new.sources.hubspot  # the same meaning


def test_the_old_name_is_checked_as_the_new_one(tmp_path: Path) -> None:
    path = write(tmp_path, "config.yaml", HEAD + "    daily_budget_share: 2\n")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    (line,) = exc.value.lines()
    assert line.startswith(f"{path}:3: sources.hubspot.api_budget_share: ")


def test_both_names_at_once_are_refused(tmp_path: Path) -> None:
    text = HEAD + "    daily_budget_share: 0.5\n    api_budget_share: 0.6\n"
    path = write(tmp_path, "config.yaml", text)
    with pytest.raises(ConfigError, match="daily_budget_share is the old name of api_budget_share"):
        load_config(path)


def test_the_default_share_and_the_settings_model() -> None:
    assert HubSpotSource(token_env="T").api_budget_share == 0.8
    assert HubSpotSource(token_env="T", daily_budget_share=0.3).api_budget_share == 0.3
