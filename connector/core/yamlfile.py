"""Reading a YAML file people edit, and turning validation errors into `Problem`s with lines.

One piece for config.yaml and the mapping files: ruamel.yaml keeps each key's line, pydantic says
which key is wrong, and `problems_from_validation` joins the two.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from connector.core.errors import Problem


def load_yaml(path: Path) -> tuple[Any, list[Problem]]:
    """The parsed document (ruamel round-trip types, which remember lines) or the problems."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Problem(name, "", "file not found")]
    except IsADirectoryError:
        return None, [Problem(name, "", "is a folder, not a file")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(name, "", f"cannot be read: {exc}")]
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        data = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = " ".join(x for x in (exc.context, exc.problem) if x)
        return None, [Problem(name, "", f"YAML syntax error: {what}", line)]
    except Exception as exc:  # ruamel raises a few unmarked errors (duplicate keys, bad tags)
        return None, [Problem(name, "", f"YAML error: {str(exc).splitlines()[0]}")]
    if data is None:
        return None, [Problem(name, "", "the file is empty")]
    return data, []


def line_of(doc: Any, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the deepest key of `loc` that exists in the document."""
    line = None
    node = doc
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            with contextlib.suppress(KeyError, TypeError):
                line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            with contextlib.suppress(KeyError, TypeError):
                line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            break
    return line


def dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def problems_from_validation(file: str, doc: Any, err: ValidationError) -> list[Problem]:
    problems = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        message = e["msg"]
        if e["type"] == "extra_forbidden":
            message = "unknown key"
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        problems.append(Problem(file, dotted(loc), message, line_of(doc, loc)))
    return problems


def to_plain(node: Any) -> Any:
    """ruamel round-trip containers -> plain dicts and lists."""
    if isinstance(node, dict):
        return {str(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    return node
