"""The SOQL subset's lexer and parser: text to a small parse tree (Parsed), with errors in
Salesforce's shape (a caret under the offending token, Row and Column, the errorCode).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .core import iso

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
    |(?P<string>'(?:[^'\\]|\\.)*')
    |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
    |(?P<date>\d{4}-\d{2}-\d{2})
    |(?P<number>-?\d+(?:\.\d+)?)
    |(?P<op>!=|<>|<=|>=|=|<|>)
    |(?P<punct>[(),])
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)""",
    re.VERBOSE,
)
_UNSUPPORTED = {"GROUP", "HAVING", "WITH", "FOR", "TYPEOF", "USING", "INCLUDES", "EXCLUDES"}
_UNSUPPORTED |= {"ALL", "UPDATE", "VIEW", "REFERENCE", "TRACKING", "FIELDS", "SCOPE"}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}
_ESCAPES |= {"%": "\\%", "_": "\\_"}  # kept escaped: they only mean something to LIKE


class SoqlError(Exception):
    """A query Salesforce would refuse: `code` is its errorCode, `message` its message."""

    def __init__(self, code: str, text: str, query: str = "", pos: int | None = None):
        if query and pos is not None:
            row = query.count("\n", 0, pos) + 1
            start = query.rfind("\n", 0, pos) + 1
            end = query.find("\n", pos)
            line = query[start : end if end >= 0 else len(query)]
            col = pos - start + 1
            text = f"\n{line}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\n{text}"
        super().__init__(text)
        self.code, self.message = code, text


@dataclass
class Token:
    kind: str
    text: str
    pos: int

    @property
    def word(self) -> str:
        return self.text.upper() if self.kind == "ident" else ""


def tokenize(query: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(query):
        m = _TOKEN.match(query, pos)
        if not m:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{query[pos]}'", query, pos)
        kind = m.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, m.group(), pos))
        pos = m.end()
    return [*tokens, Token("eof", "<EOF>", len(query))]


# -- the parse tree ---------------------------------------------------------------------------
@dataclass
class Cmp:
    path: Token
    op: str  # = != < <= > >= IN NOT IN LIKE
    values: list[Token]


@dataclass
class BoolOp:
    op: str  # AND | OR
    items: list[Any]


@dataclass
class Not:
    item: Any


@dataclass
class OrderKey:
    path: Token
    desc: bool
    nulls_last: bool


@dataclass
class Parsed:
    text: str
    obj: Token
    fields: list[Token]
    count: bool
    where: Any = None
    order: list[OrderKey] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None


class Parser:
    def __init__(self, query: str):
        self.query, self.tokens, self.i = query, tokenize(query), 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def fail(self, tok: Token | None = None, text: str | None = None) -> SoqlError:
        tok = tok or self.tok
        if text is None:
            text = f"unexpected token: {tok.text}"
            if tok.word in _UNSUPPORTED:
                text += " (not in the SOQL subset of the Carnet sandbox)"
        return SoqlError("MALFORMED_QUERY", text, self.query, tok.pos)

    def take(self, *words: str, kind: str | None = None) -> Token:
        tok = self.tok
        if (words and tok.word not in words) or (kind and tok.kind != kind):
            raise self.fail()
        self.i += 1
        return tok

    def accept(self, word: str) -> bool:
        if self.tok.word == word:
            self.i += 1
            return True
        return False

    def parse(self) -> Parsed:
        self.take("SELECT")
        fields, count = self.select_list()
        self.take("FROM")
        parsed = Parsed(self.query, self.take(kind="ident"), fields, count)
        if self.accept("WHERE"):
            parsed.where = self.condition()
        if self.accept("ORDER"):
            self.take("BY")
            parsed.order = self.order_list()
        if self.accept("LIMIT"):
            parsed.limit = self.integer()
        if self.accept("OFFSET"):
            parsed.offset = self.integer()
        if self.tok.kind != "eof":
            raise self.fail()
        return parsed

    def select_list(self) -> tuple[list[Token], bool]:
        if self.tok.word == "COUNT" and self.tokens[self.i + 1].text == "(":
            self.i += 1
            self.take(kind="punct")
            if self.tok.text != ")":
                raise self.fail(text="COUNT(field) is not in the SOQL subset of the Carnet sandbox")
            self.i += 1
            return [], True
        fields = [self.select_item()]
        while self.tok.text == ",":
            self.i += 1
            fields.append(self.select_item())
        return fields, False

    def select_item(self) -> Token:
        tok = self.take(kind="ident")
        if self.tok.text == "(":
            raise self.fail(tok, f"{tok.text}() is not in the SOQL subset of the Carnet sandbox")
        return tok

    def condition(self) -> Any:
        items, conj = [self.unary()], None
        while self.tok.word in ("AND", "OR"):
            if conj and self.tok.word != conj:
                raise self.fail()
            conj = self.take().word
            items.append(self.unary())
        return BoolOp(conj, items) if conj else items[0]

    def unary(self) -> Any:
        if self.accept("NOT"):
            return Not(self.unary())
        if self.tok.text == "(":
            self.i += 1
            inner = self.condition()
            if self.tok.text != ")":
                raise self.fail()
            self.i += 1
            return inner
        return self.comparison()

    def comparison(self) -> Cmp:
        path = self.take(kind="ident")
        if self.tok.kind == "op":
            op = self.take().text
            return Cmp(path, "!=" if op == "<>" else op, [self.value()])
        if self.accept("LIKE"):
            return Cmp(path, "LIKE", [self.value()])
        negate = self.accept("NOT")
        self.take("IN")
        return Cmp(path, "NOT IN" if negate else "IN", self.value_list())

    def value_list(self) -> list[Token]:
        if self.tok.text != "(":
            raise self.fail()
        self.i += 1
        if self.tok.word == "SELECT":
            raise self.fail(text="semi-join subqueries are not in the SOQL subset of the sandbox")
        values = [self.value()]
        while self.tok.text == ",":
            self.i += 1
            values.append(self.value())
        if self.tok.text != ")":
            raise self.fail()
        self.i += 1
        return values

    def value(self) -> Token:
        tok = self.tok
        if tok.kind in ("string", "number", "datetime", "date") or tok.word in (
            "TRUE",
            "FALSE",
            "NULL",
        ):
            self.i += 1
            return tok
        raise self.fail()

    def order_list(self) -> list[OrderKey]:
        keys = []
        while True:
            path = self.take(kind="ident")
            desc = self.take().word == "DESC" if self.tok.word in ("ASC", "DESC") else False
            nulls_last = desc
            if self.accept("NULLS"):
                nulls_last = self.take("FIRST", "LAST").word == "LAST"
            keys.append(OrderKey(path, desc, nulls_last))
            if self.tok.text != ",":
                return keys
            self.i += 1

    def integer(self) -> int:
        tok = self.take(kind="number")
        if not tok.text.isdigit():
            raise self.fail(tok)
        return int(tok.text)


def parse(query: str) -> Parsed:
    return Parser(query).parse()


def unquote(text: str) -> str:
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt not in _ESCAPES:
                raise SoqlError("MALFORMED_QUERY", f"Invalid string literal {text}: bad escape")
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def datetime_literal(text: str) -> str:
    """'2024-01-01T00:00:00Z' / '+02:00' / '+0000' -> the stored form, 2024-...000+0000."""
    m = re.match(r"^(.{19})(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})$", text)
    if not m:
        raise SoqlError("MALFORMED_QUERY", f"invalid dateTime literal: {text}")
    try:
        dt = datetime.fromisoformat(m.group(1)).replace(tzinfo=UTC)
    except ValueError:
        raise SoqlError("MALFORMED_QUERY", f"invalid dateTime literal: {text}") from None
    if m.group(2):
        dt = dt.replace(microsecond=int(m.group(2)[1:].ljust(3, "0")) * 1000)
    zone = m.group(3)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        dt -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return iso(dt)
