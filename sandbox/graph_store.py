"""The records behind the Graph stand-in: directory users and, per mailbox, contact folders and
Outlook contacts (their shapes are in graph_records), loaded from the World; plus the change
sequence that delta queries read.

Every change (load, create, update, move, delete) takes the next `seq`; a delete or a move out of
a folder leaves a `Removal` in that folder so a later delta round can report `@removed`.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

from sandbox.core import Clock, HTTPError
from sandbox.graph_records import (
    CONTACT_DEFAULTS,
    USER_DEFAULT_FIELDS,
    USER_EXTRA_FIELDS,
    Contact,
    Folder,
    Mailbox,
    Removal,
    graph_time,
    outlook_id,
)
from sandbox.world import AddressBookEntry, Member, World

_NS = uuid.UUID("9f2e6a55-0c1b-4a8e-b3c4-5d6e7f8091a2")
DEFAULT_FOLDER = "Contacts"
USER_WRITABLE = set(USER_DEFAULT_FIELDS + USER_EXTRA_FIELDS) - {"id", "createdDateTime"}
_CONTACT_WRITABLE = set(CONTACT_DEFAULTS) | {"categories"}
_READ_ONLY = {
    "@odata.etag",
    "id",
    "changeKey",
    "createdDateTime",
    "lastModifiedDateTime",
    "_mailbox",
}


class GraphStore:
    """Users, mailboxes and contacts as Graph holds them; rebuilt from the World by `load()`."""

    def __init__(self, world: World, clock: Clock) -> None:
        self.world, self.clock = world, clock
        self.load()

    def load(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.upn_index: dict[str, str] = {}
        self.mailboxes: dict[str, Mailbox] = {}
        self.contacts: dict[str, Contact] = {}
        self.seq = 0
        self.created_count = 0
        start = self.clock.now()
        keys: dict[str, str] = {}
        for member in self.world.members:
            if member.has_mailbox:
                keys[member.key] = self._add_user(_member_user(member, start), member.key)
        for entry in self.world.address_books:
            if entry.member_key in keys:
                self._add_entry(entry, keys[entry.member_key], start)

    # -- lookups ----------------------------------------------------------------------------------
    def find_user(self, key: str) -> dict[str, Any] | None:
        key = unquote(key).strip("'")
        user = self.users.get(key.lower())
        if user is None and key.lower() in self.upn_index:
            user = self.users[self.upn_index[key.lower()]]
        return user

    def user(self, key: str) -> dict[str, Any]:
        user = self.find_user(key)
        if user is None:
            raise HTTPError(
                404,
                "Request_ResourceNotFound",
                f"Resource '{unquote(key)}' does not exist or one of its queried reference-property"
                " objects are not present.",
            )
        return user

    def mailbox(self, key: str) -> Mailbox:
        user = self.find_user(key)
        if user is None or user["id"] not in self.mailboxes:
            raise HTTPError(
                404, "ErrorInvalidUser", f"The requested user '{unquote(key)}' is invalid."
            )
        return self.mailboxes[user["id"]]

    def folder(self, mb: Mailbox, folder_id: str) -> Folder:
        found = mb.folders.get(unquote(folder_id))
        if found is None:
            raise not_found()
        return found

    def folder_contacts(self, mb: Mailbox, folder_id: str) -> list[Contact]:
        return list(mb.contacts.get(folder_id, {}).values())

    def changes(self, mb: Mailbox, folder_id: str, since: int, high: int) -> list[tuple[int, str]]:
        """(seq, id) of each contact added, changed or removed in a folder with since < seq <= high,
        each id once (its latest change), in change order."""
        latest: dict[str, int] = {}
        for removal in mb.removals.get(folder_id, []):
            if since < removal.seq <= high:
                latest[removal.id] = max(removal.seq, latest.get(removal.id, 0))
        for contact in mb.contacts.get(folder_id, {}).values():
            if since < contact.seq <= high:
                latest[contact.id] = max(contact.seq, latest.get(contact.id, 0))
        return sorted((seq, cid) for cid, seq in latest.items())

    # -- changes as a CRM user (the admin endpoints) would make them ----------------------------
    def upsert_contact(self, body: dict[str, Any]) -> Contact:
        props = _contact_props(body)
        if body.get("id"):
            contact = self.contacts.get(str(body["id"]))
            if contact is None:
                raise not_found()
            mb = self.mailboxes[contact.mailbox]
            target = self.folder(mb, body.get("parentFolderId") or contact.folder_id)
            contact.props.update(props)
            contact.version += 1
            contact.modified = self.clock.tick()
            self._place(mb, contact, target.id)
            return contact
        mb = self.mailbox(str(body.get("_mailbox") or ""))
        target = self.folder(mb, body.get("parentFolderId") or mb.default_id)
        self.created_count += 1
        cid = outlook_id("AAMkA", f"created:{self.created_count}")
        if not props.get("displayName"):
            names = [props.get("givenName"), props.get("surname")]
            props["displayName"] = " ".join(n for n in names if n)
        now = self.clock.tick()
        contact = Contact(cid, mb.user_id, target.id, props, now, now)
        self.contacts[cid] = contact
        self._place(mb, contact, target.id)
        return contact

    def delete_contact(self, contact_id: str) -> None:
        contact = self.contacts.pop(contact_id, None)
        if contact is None:
            raise not_found()
        mb = self.mailboxes[contact.mailbox]
        del mb.contacts[contact.folder_id][contact.id]
        self.seq += 1
        mb.removals.setdefault(contact.folder_id, []).append(Removal(contact.id, self.seq))

    def upsert_user(self, body: dict[str, Any]) -> dict[str, Any]:
        changes = {k: v for k, v in body.items() if k not in ("id", "createdDateTime")}
        unknown = sorted(set(changes) - USER_WRITABLE)
        if unknown:
            raise HTTPError(400, "Request_BadRequest", f"Invalid user properties: {unknown}")
        if body.get("id"):
            user = self.user(str(body["id"]))
            self.upn_index.pop(user["userPrincipalName"].lower(), None)
            user.update(changes)
            self.upn_index[user["userPrincipalName"].lower()] = user["id"]
            return user
        upn = changes.get("userPrincipalName") or changes.get("mail")
        if not upn:
            raise HTTPError(400, "Request_BadRequest", "A new user needs a userPrincipalName.")
        new = _blank_user(str(upn), self.clock.now())
        new.update(changes)
        self._add_user(new, new["id"])
        return new

    def delete_user(self, user_id: str) -> None:
        user = self.user(user_id)
        del self.users[user["id"]]
        self.upn_index.pop(user["userPrincipalName"].lower(), None)
        mb = self.mailboxes.pop(user["id"], None)
        for folder in mb.contacts.values() if mb else []:
            for cid in folder:
                self.contacts.pop(cid, None)

    # -- building ---------------------------------------------------------------------------------
    def _add_user(self, user: dict[str, Any], key: str) -> str:
        self.users[user["id"]] = user
        self.upn_index[user["userPrincipalName"].lower()] = user["id"]
        root = outlook_id("AQMkA", f"root:{key}")
        default = outlook_id("AQMkA", f"folder:{key}:{DEFAULT_FOLDER}")
        mb = Mailbox(user["id"], root, default)
        mb.folders[default] = Folder(default, user["id"], root, DEFAULT_FOLDER)
        self.mailboxes[user["id"]] = mb
        return user["id"]

    def _add_entry(self, entry: AddressBookEntry, user_id: str, start: datetime) -> None:
        mb = self.mailboxes[user_id]
        folder_id = self._ensure_folder(mb, entry.member_key, entry.folder)
        display = " ".join(n for n in (entry.given_name, entry.surname) if n)
        props: dict[str, Any] = {
            "displayName": display,
            "givenName": entry.given_name or None,
            "surname": entry.surname or None,
            "emailAddresses": [{"name": display, "address": e} for e in entry.emails],
            "companyName": entry.company,
            "jobTitle": entry.job_title,
            "businessPhones": [entry.phone] if entry.phone else [],
        }
        when = start - timedelta(days=entry.age_days)
        contact = Contact(
            outlook_id("AAMkA", f"contact:{entry.key}"), user_id, folder_id, props, when, when
        )
        self.contacts[contact.id] = contact
        self._place(mb, contact, folder_id)

    def _ensure_folder(self, mb: Mailbox, member_key: str, path: str) -> str:
        parts = [p for p in path.split("/") if p]
        if parts and parts[0] == DEFAULT_FOLDER:
            parts = parts[1:]
        parent, walked = mb.default_id, DEFAULT_FOLDER
        for name in parts:
            walked += "/" + name
            fid = outlook_id("AQMkA", f"folder:{member_key}:{walked}")
            if fid not in mb.folders:
                mb.folders[fid] = Folder(fid, mb.user_id, parent, name)
            parent = fid
        return parent

    def _place(self, mb: Mailbox, contact: Contact, folder_id: str) -> None:
        """Put a (new or changed) contact in a folder with the next seq; a move leaves a removal."""
        self.seq += 1
        old = contact.folder_id
        if old != folder_id and contact.id in mb.contacts.get(old, {}):
            del mb.contacts[old][contact.id]
            mb.removals.setdefault(old, []).append(Removal(contact.id, self.seq))
        contact.folder_id, contact.seq = folder_id, self.seq
        mb.contacts.setdefault(folder_id, {})[contact.id] = contact


def not_found() -> HTTPError:
    return HTTPError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def _contact_props(body: dict[str, Any]) -> dict[str, Any]:
    props = {k: v for k, v in body.items() if k not in _READ_ONLY and k != "parentFolderId"}
    unknown = sorted(set(props) - _CONTACT_WRITABLE)
    if unknown:
        raise HTTPError(
            400, "ErrorInvalidProperty", f"Unknown or read-only contact properties: {unknown}"
        )
    for name in (
        "emailAddresses",
        "businessPhones",
        "homePhones",
        "categories",
        "children",
        "imAddresses",
    ):
        if name in props and not isinstance(props[name], list):
            raise HTTPError(400, "ErrorInvalidProperty", f"'{name}' must be a list")
    for email in props.get("emailAddresses", []):
        if not isinstance(email, dict) or "address" not in email:
            raise HTTPError(
                400, "ErrorInvalidProperty", 'emailAddresses items are {"name", "address"}'
            )
    return props


def _blank_user(upn: str, created: datetime) -> dict[str, Any]:
    user: dict[str, Any] = {name: None for name in USER_DEFAULT_FIELDS + USER_EXTRA_FIELDS}
    user.update(
        id=str(uuid.uuid5(_NS, f"user:upn:{upn.lower()}")),
        userPrincipalName=upn,
        mail=upn,
        displayName=upn.split("@")[0],
        businessPhones=[],
        accountEnabled=True,
        createdDateTime=graph_time(created),
        mailNickname=upn.split("@")[0],
        userType="Member",
        proxyAddresses=[f"SMTP:{upn}"],
        otherMails=[],
    )
    return user


def _member_user(member: Member, start: datetime) -> dict[str, Any]:
    user = _blank_user(member.email, start - timedelta(days=365))
    user.update(
        id=str(uuid.uuid5(_NS, f"user:{member.key}")),
        displayName=f"{member.first_name} {member.last_name}",
        givenName=member.first_name,
        surname=member.last_name,
        jobTitle=member.title,
        department=member.team,
        country=member.country,
        usageLocation=member.country,
        accountEnabled=member.active,
    )
    return user
