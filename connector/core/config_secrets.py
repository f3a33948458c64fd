"""Before a command talks to a CRM: can every secret of the sources it will use be read? Every
one that cannot is reported at once, with the config file's line and key (exit 2), before
anything runs; `SourceBase.secret` still reads each one only when it is needed.
"""

from __future__ import annotations

import os
from pathlib import Path

from connector.core.config import SECRET_NAMES, Config, SourceBase
from connector.core.errors import ConfigError, Problem
from connector.core.yamlfile import dotted, line_of, load_yaml


def secret_problems(config: Config, chosen: dict[str, SourceBase]) -> list[Problem]:
    """Every secret of the `chosen` sources that cannot be read now: an environment variable
    that is not set (or empty), a file that cannot be read or is empty."""
    doc, _ = load_yaml(config.path)  # for the lines; the config was read from it already
    file = str(config.path)
    problems: list[Problem] = []
    for name, settings in chosen.items():
        for secret in SECRET_NAMES:
            for key, why in (
                (f"{secret}_env", _env_problem(getattr(settings, f"{secret}_env", None))),
                (f"{secret}_file", _file_problem(getattr(settings, f"{secret}_file", None))),
            ):
                if why:
                    loc = ("sources", name, key)
                    problems.append(Problem(file, dotted(loc), why, line_of(doc, loc)))
    return sorted(problems, key=lambda p: (p.line or 0, p.key))


def _env_problem(variable: str | None) -> str | None:
    if not variable or os.environ.get(variable, "").strip():
        return None
    said = "is empty" if variable in os.environ else "is not set"
    return f"environment variable {variable} {said}"


def _file_problem(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror}"
    except UnicodeDecodeError:
        return f"{path} is not a text file"
    return None if text.strip() else f"{path} is empty"


def require_secrets(config: Config, source: str | None = None) -> None:
    """ConfigError (exit 2) listing every secret of the enabled sources (or of `source`) that
    cannot be read."""
    problems = secret_problems(config, config.sources.chosen(source))
    if problems:
        raise ConfigError(problems)
