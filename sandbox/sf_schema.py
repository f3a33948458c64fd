"""The Salesforce stand-in's objects and fields (what `describe` shows): the standard objects of
an org, its API versions and picklists. Custom fields added through the Tooling API join here.
"""

from __future__ import annotations

import copy

from .sf_fields import CREATE_ONLY, OWNER, RO, Field, SObject, make_object, pick, ref, s, typed

API_VERSIONS = [f"{v}.0" for v in range(52, 62)]
RELEASES = {52: "Summer '21", 53: "Winter '22", 54: "Spring '22", 55: "Summer '22"}
RELEASES |= {56: "Winter '23", 57: "Spring '23", 58: "Summer '23", 59: "Winter '24"}
RELEASES |= {60: "Spring '24", 61: "Summer '24"}

# Salesforce's standard opportunity stages: (name, probability, is_closed, is_won).
STAGES = [
    ("Prospecting", 10, False, False),
    ("Qualification", 10, False, False),
    ("Needs Analysis", 20, False, False),
    ("Value Proposition", 50, False, False),
    ("Id. Decision Makers", 60, False, False),
    ("Perception Analysis", 70, False, False),
    ("Proposal/Price Quote", 75, False, False),
    ("Negotiation/Review", 90, False, False),
    ("Closed Won", 100, True, True),
    ("Closed Lost", 0, True, False),
]
CURRENCIES = ("USD", "EUR", "GBP", "CAD", "SEK", "JPY", "AUD", "BRL", "MXN", "CHF")
ROLES: tuple[str, ...] = (
    *("Business User", "Decision Maker", "Economic Buyer", "Economic Decision Maker"),
    *("Evaluator", "Executive Sponsor", "Influencer", "Technical Buyer", "Other"),
)
INDUSTRIES: tuple[str, ...] = (
    *("Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications"),
    *("Construction", "Consulting", "Education", "Electronics", "Energy", "Engineering"),
    *("Entertainment", "Finance", "Government", "Healthcare", "Insurance", "Manufacturing"),
    *("Media", "Retail", "Technology", "Transportation"),
)
CAMPAIGN_STATUSES = ("Planned", "In Progress", "Completed", "Aborted")
CAMPAIGN_TYPES: tuple[str, ...] = (
    *("Conference", "Webinar", "Trade Show", "Public Relations", "Partners"),
    *("Referral Program", "Advertisement", "Banner Ads", "Direct Mail", "Email"),
    *("Telemarketing", "Other"),
)


def _base_objects() -> dict[str, SObject]:
    objs = [
        _user(),
        _account(),
        _contact(),
        _opportunity(),
        make_object(
            "OpportunityContactRole",
            "00K",
            [
                ref("OpportunityId", "Opportunity", nillable=False, **CREATE_ONLY),
                ref("ContactId", "Contact", nillable=False),
                pick("Role", ROLES),
                typed("IsPrimary", "boolean", nillable=False),
            ],
        ),
        make_object("Task", "00T", _activity_fields("Task")),
        make_object("Event", "00U", _activity_fields("Event")),
        make_object(
            "Note",
            "002",
            [
                ref(
                    "ParentId",
                    *("Account", "Contact", "Opportunity"),
                    rel="Parent",
                    nillable=False,
                    update=False,
                ),
                s("Title", 80, nillable=False, name_field=True),
                s("Body", 32000, type="textarea"),
                typed("IsPrivate", "boolean", nillable=False),
                OWNER,
            ],
        ),
        _content_note(),
        make_object(
            "ContentDocumentLink",
            "06A",
            [
                ref("ContentDocumentId", "ContentDocument", nillable=False, **CREATE_ONLY),
                ref(
                    "LinkedEntityId",
                    *("Account", "Contact", "Opportunity", "User"),
                    nillable=False,
                    update=False,
                ),
                pick("ShareType", ("V", "C", "I"), restricted=True, defaulted=True),
                pick(
                    "Visibility",
                    ("AllUsers", "InternalUsers", "SharedUsers"),
                    restricted=True,
                    defaulted=True,
                ),
            ],
            audit=False,
            label="Content Document Link",
        ),
        make_object(
            "OpportunitySplit",
            "049",
            [
                ref("OpportunityId", "Opportunity", nillable=False, **CREATE_ONLY),
                ref("SplitOwnerId", "User", nillable=False),
                ref("SplitTypeId", "OpportunitySplitType", nillable=False, **CREATE_ONLY),
                typed("SplitPercentage", "percent", precision=5, scale=2, nillable=False),
                typed("SplitAmount", "currency", precision=18, scale=2, **RO),
                s("SplitNote", 255),
            ],
        ),
        make_object(
            "OpportunitySplitType",
            "149",
            [
                s("MasterLabel", 80, nillable=False, **RO),
                s("DeveloperName", 80, nillable=False, **RO),
                typed("IsActive", "boolean", **RO),
                typed("IsTotalValidated", "boolean", **RO),
                s("SplitDataField", 80, **RO),
                s("SplitEntity", 80, **RO),
            ],
            createable=False,
            updateable=False,
            deletable=False,
        ),
        *_access_objects(),
        *_campaign_objects(),
    ]
    return {o.name: o for o in objs}


def _campaign_objects() -> list[SObject]:
    """Campaigns, their member statuses (each campaign its own picklist of them) and members;
    the rules between them are in sf_campaigns. `LeadId` points at leads, which this org lacks,
    so only contacts can be members here."""
    return [
        make_object(
            "Campaign",
            "701",
            [
                s("Name", 80, nillable=False, name_field=True),
                ref("ParentId", "Campaign"),
                pick("Type", CAMPAIGN_TYPES),
                pick("Status", CAMPAIGN_STATUSES, defaulted=True),
                typed("StartDate", "date"),
                typed("EndDate", "date"),
                s("Description", 32000, type="textarea"),  # long text: not filterable
                typed("IsActive", "boolean"),
                OWNER,
            ],
        ),
        make_object(
            "CampaignMemberStatus",
            "01Y",
            [
                ref("CampaignId", "Campaign", nillable=False, **CREATE_ONLY),
                s("Label", 765, nillable=False, name_field=True),
                typed("HasResponded", "boolean"),
                typed("IsDefault", "boolean"),
                typed("SortOrder", "int"),
            ],
        ),
        make_object(
            "CampaignMember",
            "00v",
            [
                ref("CampaignId", "Campaign", nillable=False, **CREATE_ONLY),
                ref("ContactId", "Contact", **CREATE_ONLY),
                ref("LeadId", "Lead", **CREATE_ONLY),
                Field("Status", "picklist", 40, defaulted=True),  # its campaign's statuses
                typed("HasResponded", "boolean", **RO),
            ],
        ),
    ]


def _access_objects() -> list[SObject]:
    """Field-level security as plain sObjects: a PermissionSet, its FieldPermissions rows
    (`Field` is 'Contact.X__c') and the PermissionSetAssignment that gives it to a user."""
    return [
        make_object(
            "PermissionSet",
            "0PS",
            [
                s("Name", 80, nillable=False),
                s("Label", 80, nillable=False, name_field=True),
                s("Description", 255, type="textarea"),
                typed("IsOwnedByProfile", "boolean", **RO),
                s("NamespacePrefix", 15, **RO),
            ],
            label="Permission Set",
        ),
        make_object(
            "FieldPermissions",
            "01k",
            [
                ref("ParentId", "PermissionSet", rel="Parent", nillable=False, **CREATE_ONLY),
                s("SobjectType", 255, nillable=False, **CREATE_ONLY),
                s("Field", 255, nillable=False, **CREATE_ONLY),
                typed("PermissionsRead", "boolean", nillable=False),
                typed("PermissionsEdit", "boolean", nillable=False),
            ],
            audit=False,
            label="Field Permissions",
        ),
        make_object(
            "PermissionSetAssignment",
            "0Pa",
            [
                ref("AssigneeId", "User", nillable=False, **CREATE_ONLY),
                ref("PermissionSetId", "PermissionSet", nillable=False, **CREATE_ONLY),
            ],
            audit=False,
            updateable=False,
            label="Permission Set Assignment",
        ),
    ]


def _user() -> SObject:
    return make_object(
        "User",
        "005",
        [
            s("Username", 80, nillable=False),
            s("LastName", 80, nillable=False),
            s("FirstName", 40),
            s("Name", 121, name_field=True, **RO),
            s("Email", 128, type="email", nillable=False),
            s("Alias", 8, nillable=False),
            s("Title", 80),
            s("Department", 80),
            s("Country", 80),
            typed("IsActive", "boolean", nillable=False),
            ref("ManagerId", "User"),  # the user hierarchy (relationship name Manager)
            pick("UserType", ("Standard", "PowerPartner", "CsnOnly"), **RO),
        ],
        deletable=False,
    )


def _account() -> SObject:
    return make_object(
        "Account",
        "001",
        [
            ref("MasterRecordId", "Account", **RO),
            s("Name", 255, nillable=False, name_field=True),
            ref("ParentId", "Account"),
            s("Website", 255, type="url"),
            s("Phone", 40, type="phone"),
            s("BillingCountry", 80),
            pick("Industry", INDUSTRIES),
            s("Description", 32000, type="textarea"),
            OWNER,
        ],
        mergeable=True,
    )


def _contact() -> SObject:
    return make_object(
        "Contact",
        "003",
        [
            ref("MasterRecordId", "Contact", **RO),
            ref("AccountId", "Account"),
            s("LastName", 80, nillable=False),
            s("FirstName", 40),
            s("Name", 121, name_field=True, **RO),
            s("Email", 80, type="email"),
            s("Title", 128),
            s("Department", 80),
            s("Phone", 40, type="phone"),
            s("MobilePhone", 40, type="phone"),
            s("MailingCountry", 80),
            ref("ReportsToId", "Contact"),
            s("Description", 32000, type="textarea"),
            OWNER,
        ],
        mergeable=True,
    )


def _opportunity() -> SObject:
    return make_object(
        "Opportunity",
        "006",
        [
            ref("AccountId", "Account"),
            s("Name", 120, nillable=False, name_field=True),
            s("Description", 32000, type="textarea"),
            pick("StageName", tuple(st[0] for st in STAGES), nillable=False, restricted=True),
            typed("Amount", "currency", precision=18, scale=2),
            typed("Probability", "percent", precision=3, scale=0),
            typed("CloseDate", "date", nillable=False),
            typed("IsClosed", "boolean", **RO),
            typed("IsWon", "boolean", **RO),
            pick("CurrencyIsoCode", CURRENCIES, restricted=True, defaulted=True, nillable=False),
            OWNER,
        ],
    )


def _activity_fields(kind: str) -> list[Field]:
    common = [
        ref("WhoId", "Contact", rel="Who"),
        ref("WhatId", "Account", "Opportunity", rel="What"),
        s("Subject", 255, type="combobox"),
        typed("ActivityDate", "date"),
        s("Description", 32000, type="textarea"),
        pick("Type", ("Call", "Email", "Meeting", "Other")),
        OWNER,
    ]
    if kind == "Task":
        return [
            *common,
            pick(
                "Status",
                ("Not Started", "In Progress", "Completed"),
                nillable=False,
                defaulted=True,
            ),
            pick("Priority", ("High", "Normal", "Low"), nillable=False, defaulted=True),
            pick("TaskSubtype", ("Task", "Email", "ListEmail", "Cadence", "Call"), **CREATE_ONLY),
        ]
    return [
        *common,
        typed("ActivityDateTime", "datetime"),
        typed("StartDateTime", "datetime"),
        typed("EndDateTime", "datetime"),
        typed("DurationInMinutes", "int"),
        pick("EventSubtype", ("Event",), **CREATE_ONLY),
    ]


def _content_note() -> SObject:
    return make_object(
        "ContentNote",
        "069",
        [
            s("Title", 255, nillable=False, name_field=True),
            typed("Content", "base64"),
            s("TextPreview", 255, **RO),
            s("FileType", 20, **RO),
            s("FileExtension", 40, **RO),
            typed("ContentSize", "int", **RO),
            ref("LatestPublishedVersionId", "ContentVersion", **RO),
            typed("IsReadOnly", "boolean", **RO),
            OWNER,
        ],
    )


class Schema:
    """The objects of one org; a fresh copy per stand-in, so custom fields never leak."""

    def __init__(self, objects: list[SObject] | None = None) -> None:
        if objects is None:
            self.objects = copy.deepcopy(_BASE)
        else:
            self.objects = {o.name: o for o in objects}
        self._by_lower = {name.lower(): obj for name, obj in self.objects.items()}

    def get(self, name: str) -> SObject | None:
        return self._by_lower.get(name.lower())

    def by_prefix(self, record_id: str) -> SObject | None:
        for obj in self.objects.values():
            if record_id.startswith(obj.key_prefix):
                return obj
        return None


_BASE = _base_objects()
