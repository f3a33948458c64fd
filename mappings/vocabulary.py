"""What a mapping file may name: the overlay values with their transforms and store lengths, and
the outbound values with their CRM types.

Data only; the loader checks a file against it and `apply` follows it. Which values, references
and needs each kind of record has is in `mappings.kinds`, drawn from VALUE_TYPES.
"""

from __future__ import annotations

from dataclasses import dataclass

TEXT = ("trim", "join", "choice")


@dataclass(frozen=True)
class ValueType:
    transforms: tuple[str, ...]  # the transforms that may feed it; the first is the default
    many: bool = False  # a list of values (every source field's values, each transformed)
    max_length: int | None = None  # the store's column; longer text is cut, with a note
    words: tuple[str, ...] = ()  # the only values it may take (choice transforms map onto these)
    range: tuple[int, int] | None = None


VALUE_TYPES: dict[str, ValueType] = {
    "email": ValueType(("email",), max_length=320),
    "emails": ValueType(("email",), many=True, max_length=320),
    "first_name": ValueType(TEXT, max_length=400),
    "last_name": ValueType(TEXT, max_length=400),
    "name": ValueType(("trim", "join", "choice"), max_length=800),
    "team": ValueType(TEXT, max_length=200),
    "country": ValueType(("country",)),
    "title": ValueType(TEXT, max_length=400),
    "active": ValueType(("bool",)),
    "domains": ValueType(("domain",), many=True, max_length=253),
    "industry": ValueType(TEXT, max_length=200),
    "level": ValueType(("level",)),
    "phone": ValueType(TEXT, max_length=100),
    "rating": ValueType(("int",), range=(1, 5)),
    "shareability": ValueType(("choice",), words=("private", "discoverable", "shared")),
    "stance": ValueType(("choice",), words=("champion", "ally", "neutral", "adversary", "unknown")),
    "influence": ValueType(("int",), range=(1, 5)),
    "amount": ValueType(("number",)),
    "currency": ValueType(("currency",)),
    "stage": ValueType(TEXT, max_length=200),
    "status": ValueType(("stage",)),
    "close_date": ValueType(("date",)),
    "created_at": ValueType(("datetime",)),
    "role": ValueType(TEXT, max_length=100),
    "is_primary": ValueType(("bool",)),
    "kind": ValueType(("choice",), words=("call", "email", "meeting", "task", "other")),
    "at": ValueType(("datetime",)),
    "subject": ValueType(TEXT, max_length=400),
    "company": ValueType(TEXT, max_length=400),
    # who the CRM says changed a record last, and a member's CRM user id where the record's own id
    # is not it (HubSpot owners): a CRM edit of an owner's own fields is traced by these
    "modified_by": ValueType(("trim",), max_length=100),
    "user_id": ValueType(("trim",), max_length=40),
}


def article(noun: str) -> str:
    """The noun with its indefinite article: "a member", "an org"."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


# -- outbound ------------------------------------------------------------------------------------

# overlay values Carnet writes back, per kind -> what they are (number, text, bool, datetime)
OUTBOUND_VALUES: dict[str, dict[str, str]] = {
    "person": {
        "strongest_strength": "number",  # 1-5, the strongest visible relationship
        "known_by": "text",  # who of ours knows them, strongest first (visible part only)
        "relationship_owner": "text",  # the member who owns the relationship
        "last_interaction": "datetime",
        "carnet_link": "text",  # the person's page in Carnet (when web.base_url is set)
    },
    "org": {
        "coverage": "number",  # percent of known stakeholders someone of ours knows
        "single_threaded": "bool",  # a key stakeholder known by one rep only
        "carnet_link": "text",  # the organisation's page in Carnet (when web.base_url is set)
    },
    "opportunity": {
        "referrer": "text",  # the member credited with the introduction
        "credit_amount": "number",
        "credit_percent": "number",
    },
}

# per source: the CRM types a mapping may declare -> the value sorts each can hold
OUTBOUND_TYPES: dict[str, dict[str, tuple[str, ...]]] = {
    "salesforce": {
        "Number": ("number",),
        "Percent": ("number",),
        "Currency": ("number",),
        "Text": ("text",),
        "TextArea": ("text",),
        "LongTextArea": ("text",),
        "Checkbox": ("bool",),
        "DateTime": ("datetime",),
        "Date": ("datetime",),
        "Url": ("text",),
    },
    "hubspot": {
        "number": ("number",),
        "string": ("text",),
        "bool": ("bool",),
        "datetime": ("datetime",),
        "date": ("datetime",),
    },
}
# HubSpot: the field types (how the property shows in forms) each type allows; the first is default
HUBSPOT_FIELD_TYPES: dict[str, tuple[str, ...]] = {
    "number": ("number",),
    "string": ("text", "textarea", "html"),
    "bool": ("booleancheckbox",),
    "datetime": ("date",),
    "date": ("date",),
}
# What the CRM's describe calls each declared type (Salesforce's names; HubSpot's are its own)
DESCRIBED_AS: dict[str, frozenset[str]] = {
    "Number": frozenset({"double", "int"}),
    "Percent": frozenset({"percent"}),
    "Currency": frozenset({"currency"}),
    "Text": frozenset({"string"}),
    "TextArea": frozenset({"textarea"}),
    "LongTextArea": frozenset({"textarea"}),
    "Checkbox": frozenset({"boolean"}),
    "DateTime": frozenset({"datetime"}),
    "Date": frozenset({"date"}),
    "Url": frozenset({"url"}),
    "number": frozenset({"number"}),
    "string": frozenset({"string"}),
    "bool": frozenset({"bool", "boolean", "enumeration"}),
    "datetime": frozenset({"datetime"}),
    "date": frozenset({"date"}),
}
TEXT_LENGTHS: dict[str, tuple[int, int, int]] = {  # Salesforce: (min, max, default) length
    "Text": (1, 255, 255),
    "TextArea": (1, 255, 255),
    "LongTextArea": (256, 131_072, 32_768),
}
