"""The sandbox's world: one company's sales force and its market, independent of any CRM.

`seed.generate(seed, scale)` builds a `World`; each stand-in shows its own part of it in its own
API's shape (`crms` says which CRMs hold a record). Times are offsets in days before the moment the
stand-ins start, so a world is the same for the same seed whenever it is served.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SALESFORCE, HUBSPOT = "salesforce", "hubspot"


@dataclass
class Member:
    """One of our reps/managers: a Salesforce User, a HubSpot owner, an Exchange mailbox."""

    key: str
    first_name: str
    last_name: str
    email: str
    team: str  # e.g. "EMEA Enterprise"; Salesforce User.Department, HubSpot owner team
    country: str  # ISO 3166 alpha-2
    title: str
    crms: set[str] = field(default_factory=lambda: {SALESFORCE, HUBSPOT})
    has_mailbox: bool = True
    active: bool = True
    manager_key: str | None = None  # the Member they report to: Salesforce User.ManagerId


@dataclass
class Account:
    key: str
    name: str
    domain: str
    country: str  # ISO alpha-2 of the HQ; shown as a country *name* in the CRMs
    industry: str
    owner_key: str  # a Member key
    parent_key: str | None = None
    crms: set[str] = field(default_factory=lambda: {SALESFORCE})
    age_days: float = 30.0  # last modified this many days before start


@dataclass
class Contact:
    key: str
    first_name: str
    last_name: str
    email: str | None  # may be missing or invalid on purpose (malformed data)
    title: str
    level: str  # c_level | vp | director | manager | staff: what the title rules should find
    country: str  # ISO alpha-2
    account_key: str
    owner_key: str  # a Member key
    reports_to_key: str | None = None
    phone: str | None = None
    second_email: str | None = None
    crms: set[str] = field(default_factory=lambda: {SALESFORCE})
    age_days: float = 30.0
    malformed: str | None = None  # why this record is odd, for tests: "no_email", "bad_email", ...


@dataclass
class ContactRole:
    contact_key: str
    role: str  # "Decision Maker", "Economic Buyer", "Influencer", "Technical Buyer", ...
    is_primary: bool = False


@dataclass
class Opportunity:
    key: str
    name: str
    account_key: str
    owner_key: str
    amount: float
    currency: str
    stage: str  # Salesforce-style stage name: "Prospecting" .. "Closed Won" / "Closed Lost"
    is_closed: bool
    is_won: bool
    close_in_days: float  # negative: closed in the past
    roles: list[ContactRole] = field(default_factory=list)
    crms: set[str] = field(default_factory=lambda: {SALESFORCE})
    age_days: float = 30.0


@dataclass
class Activity:
    """A Task/Event in Salesforce, an engagement (call, email, meeting) in HubSpot."""

    key: str
    kind: str  # call | email | meeting | task
    subject: str
    member_key: str
    contact_key: str
    days_ago: float
    crms: set[str] = field(default_factory=lambda: {SALESFORCE})


@dataclass
class AddressBookEntry:
    """An Outlook contact in a member's mailbox."""

    key: str
    member_key: str
    folder: str  # "Contacts" (the default folder) or a sub-folder name
    given_name: str
    surname: str
    emails: list[str]  # may differ in case from the CRM, or be a second address
    company: str | None
    job_title: str | None
    phone: str | None = None
    contact_key: str | None = None  # the CRM contact this is the same person as, if any
    age_days: float = 30.0


@dataclass
class Merge:
    """A pair already merged in a CRM before the sandbox starts (the loser is merged away)."""

    crm: str
    object: str  # "Contact" / "Account" in Salesforce, "contacts" / "companies" in HubSpot
    winner_key: str
    loser_key: str


@dataclass
class World:
    seed: int
    scale: float
    members: list[Member] = field(default_factory=list)
    accounts: list[Account] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    opportunities: list[Opportunity] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)
    address_books: list[AddressBookEntry] = field(default_factory=list)
    merges: list[Merge] = field(default_factory=list)
    # contacts that exist only as losers of `merges`, by key (they are in `contacts` too)

    def in_crm(self, crm: str) -> World:
        """The part of the world one CRM holds (address books stay whole)."""
        return World(
            seed=self.seed,
            scale=self.scale,
            members=[m for m in self.members if crm in m.crms],
            accounts=[a for a in self.accounts if crm in a.crms],
            contacts=[c for c in self.contacts if crm in c.crms],
            opportunities=[o for o in self.opportunities if crm in o.crms],
            activities=[a for a in self.activities if crm in a.crms],
            address_books=self.address_books,
            merges=[m for m in self.merges if m.crm == crm],
        )
