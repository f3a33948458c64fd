"""What Graph's users and Outlook's contact folders and contacts look like in the Graph stand-in:
their properties and empty values, Exchange-shaped ids, and how a contact renders.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

USER_DEFAULT_FIELDS = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
USER_EXTRA_FIELDS = (
    "accountEnabled",
    "department",
    "country",
    "usageLocation",
    "companyName",
    "createdDateTime",
    "mailNickname",
    "userType",
    "proxyAddresses",
    "otherMails",
    "city",
    "state",
    "streetAddress",
    "postalCode",
    "employeeId",
    "employeeType",
    "faxNumber",
)

CONTACT_META = (
    "@odata.etag",
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "categories",
    "parentFolderId",
)
# Graph's contact properties after the metadata, with their empty values.
CONTACT_DEFAULTS: dict[str, Any] = {
    "birthday": None,
    "fileAs": "",
    "displayName": "",
    "givenName": None,
    "initials": None,
    "middleName": None,
    "nickName": None,
    "surname": None,
    "title": None,
    "yomiGivenName": None,
    "yomiSurname": None,
    "yomiCompanyName": None,
    "generation": None,
    "imAddresses": [],
    "jobTitle": None,
    "companyName": None,
    "department": None,
    "officeLocation": None,
    "profession": None,
    "businessHomePage": None,
    "assistantName": None,
    "manager": None,
    "homePhones": [],
    "mobilePhone": None,
    "businessPhones": [],
    "spouseName": None,
    "personalNotes": "",
    "children": [],
    "emailAddresses": [],
    "homeAddress": {},
    "businessAddress": {},
    "otherAddress": {},
}
CONTACT_FIELDS = set(CONTACT_META) - {"@odata.etag"} | set(CONTACT_DEFAULTS)


def graph_time(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def outlook_id(prefix: str, key: str) -> str:
    """A deterministic id shaped like Exchange's (URL-safe base64, 'AAMkA...' / 'AQMkA...')."""
    digest = hashlib.sha256(key.encode()).digest() + hashlib.sha256(b"x" + key.encode()).digest()
    return prefix + base64.urlsafe_b64encode(digest[:45]).decode() + "AAA="


@dataclass
class Folder:
    id: str
    mailbox: str
    parent_id: str
    name: str

    def render(self) -> dict[str, Any]:
        return {"id": self.id, "displayName": self.name, "parentFolderId": self.parent_id}


@dataclass
class Contact:
    id: str
    mailbox: str  # the user id of the mailbox
    folder_id: str
    props: dict[str, Any]
    created: datetime
    modified: datetime
    version: int = 1
    seq: int = 0

    @property
    def change_key(self) -> str:
        digest = hashlib.sha256(f"{self.id}:{self.version}".encode()).digest()
        return "EQAAABYAAA" + base64.b64encode(digest[:18]).decode()

    def render(self) -> dict[str, Any]:
        change_key = self.change_key
        out: dict[str, Any] = {
            "@odata.etag": f'W/"{change_key}"',
            "id": self.id,
            "createdDateTime": graph_time(self.created),
            "lastModifiedDateTime": graph_time(self.modified),
            "changeKey": change_key,
            "categories": list(self.props.get("categories", [])),
            "parentFolderId": self.folder_id,
        }
        for name, empty in CONTACT_DEFAULTS.items():
            out[name] = self.props.get(name, empty)
        return out


@dataclass
class Removal:
    id: str
    seq: int


@dataclass
class Mailbox:
    user_id: str
    root_id: str  # the mailbox root, parent of the default Contacts folder
    default_id: str
    folders: dict[str, Folder] = field(default_factory=dict)
    contacts: dict[str, dict[str, Contact]] = field(default_factory=dict)  # folder id -> id -> c
    removals: dict[str, list[Removal]] = field(default_factory=dict)  # folder id -> removals

    def children(self, folder_id: str) -> list[Folder]:
        return [f for f in self.folders.values() if f.parent_id == folder_id]
