"""The HubSpot stand-in's fixed schema: object types, default properties and groups, deal pipelines
and association types, as a HubSpot portal ships them. Data and small lookups only, no state.
"""

from __future__ import annotations

from dataclasses import dataclass

from .core import HTTPError


@dataclass(frozen=True)
class ObjectType:
    name: str  # "contacts", as in /crm/v3/objects/contacts
    type_id: str  # "0-1"
    singular: str  # "contact"
    created_prop: str  # "createdate" | "hs_createdate"
    modified_prop: str  # the change cursor: "lastmodifieddate" | "hs_lastmodifieddate"
    defaults: tuple[str, ...]  # properties returned when none are asked for
    id_base: int  # first id handed out (ids are numeric strings)
    required: tuple[str, ...] = ()  # properties a create must carry
    mergeable: bool = False

    @property
    def label(self) -> str:
        """How HubSpot names the type in error messages: CONTACT, COMPANY, NOTE."""
        return self.singular.upper()


# fmt: off
_ENGAGEMENT_DEFAULTS = ("hs_createdate", "hs_lastmodifieddate", "hs_object_id")
_TS = ("hs_timestamp",)

OBJECT_TYPES: dict[str, ObjectType] = {
    t.name: t
    for t in [
        ObjectType("contacts", "0-1", "contact", "createdate", "lastmodifieddate",
                   ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate",
                    "lastname"), 1_000_001, mergeable=True),
        ObjectType("companies", "0-2", "company", "createdate", "hs_lastmodifieddate",
                   ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
                   5_000_000_001, mergeable=True),
        ObjectType("deals", "0-3", "deal", "createdate", "hs_lastmodifieddate",
                   ("amount", "closedate", "createdate", "dealname", "dealstage",
                    "hs_lastmodifieddate", "hs_object_id", "pipeline"),
                   8_000_000_001, mergeable=True),
        ObjectType("notes", "0-46", "note", "hs_createdate", "hs_lastmodifieddate",
                   _ENGAGEMENT_DEFAULTS, 30_000_000_001, _TS),
        ObjectType("calls", "0-48", "call", "hs_createdate", "hs_lastmodifieddate",
                   _ENGAGEMENT_DEFAULTS, 31_000_000_001, _TS),
        ObjectType("emails", "0-49", "email", "hs_createdate", "hs_lastmodifieddate",
                   _ENGAGEMENT_DEFAULTS, 32_000_000_001, _TS),
        ObjectType("meetings", "0-47", "meeting", "hs_createdate", "hs_lastmodifieddate",
                   _ENGAGEMENT_DEFAULTS, 33_000_000_001, _TS),
        ObjectType("tasks", "0-27", "task", "hs_createdate", "hs_lastmodifieddate",
                   _ENGAGEMENT_DEFAULTS, 34_000_000_001, _TS),
    ]
}
# fmt: on
_ALIASES = {alias: t for t in OBJECT_TYPES.values() for alias in (t.name, t.singular, t.type_id)}


def object_type(name: str) -> ObjectType:
    """The object type a path names ("contacts", "contact" or "0-1"); 400 as HubSpot answers."""
    found = _ALIASES.get(name.lower())
    if found is None:
        raise HTTPError(
            400,
            "VALIDATION_ERROR",
            f"Unable to infer object type from: {name}",
            extra={"subCategory": "ObjectTypeValidationError.UNKNOWN_OBJECT_TYPE"},
        )
    return found


# -- properties ------------------------------------------------------------------------------
# (name, label, type, fieldType, groupName, options, read-only value)
Prop = tuple[str, str, str, str, str, tuple[str, ...], bool]

# fmt: off
_COMMON: list[Prop] = [
    ("hs_object_id", "Record ID", "number", "number", "{info}", (), True),
    ("hubspot_owner_id", "Owner", "enumeration", "select", "{info}", (), False),
    ("hs_merged_object_ids", "Merged record IDs", "enumeration", "checkbox", "{info}", (), True),
    # the user who last changed the record in HubSpot (an app's writes leave it as it was)
    ("hs_updated_by_user_id", "Updated by user ID", "number", "number", "{info}", (), True),
]
_CONTACT: list[Prop] = [
    ("createdate", "Create Date", "datetime", "date", "contactinformation", (), False),
    ("lastmodifieddate", "Last Modified Date", "datetime", "date", "contactinformation", (), True),
    ("email", "Email", "string", "text", "contactinformation", (), False),
    ("hs_additional_emails", "Additional email addresses", "enumeration", "checkbox",
     "contactinformation", (), True),
    ("firstname", "First Name", "string", "text", "contactinformation", (), False),
    ("lastname", "Last Name", "string", "text", "contactinformation", (), False),
    ("jobtitle", "Job Title", "string", "text", "contactinformation", (), False),
    ("phone", "Phone Number", "string", "text", "contactinformation", (), False),
    ("mobilephone", "Mobile Phone Number", "string", "text", "contactinformation", (), False),
    ("company", "Company Name", "string", "text", "contactinformation", (), False),
    ("country", "Country/Region", "string", "text", "contactinformation", (), False),
    ("city", "City", "string", "text", "contactinformation", (), False),
    ("associatedcompanyid", "Primary Associated Company ID", "number", "number",
     "contactinformation", (), False),
    ("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", "contactinformation",
     ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity",
      "customer", "evangelist", "other"), False),
    ("notes_last_contacted", "Last Contacted", "datetime", "date", "sales_properties", (), True),
    ("num_contacted_notes", "Number of Sales Activities", "number", "number", "sales_properties",
     (), True),
]
_COMPANY: list[Prop] = [
    ("createdate", "Create Date", "datetime", "date", "companyinformation", (), False),
    ("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", "companyinformation", (),
     True),
    ("name", "Name", "string", "text", "companyinformation", (), False),
    ("domain", "Company Domain Name", "string", "text", "companyinformation", (), False),
    ("country", "Country/Region", "string", "text", "companyinformation", (), False),
    ("city", "City", "string", "text", "companyinformation", (), False),
    ("industry", "Industry", "enumeration", "select", "companyinformation", (), False),
    ("phone", "Phone Number", "string", "text", "companyinformation", (), False),
    ("website", "Website URL", "string", "text", "companyinformation", (), False),
    ("numberofemployees", "Number of Employees", "number", "number", "companyinformation", (),
     False),
    ("annualrevenue", "Annual Revenue", "number", "number", "companyinformation", (), False),
    ("description", "Description", "string", "textarea", "companyinformation", (), False),
    ("hs_parent_company_id", "Parent Company", "number", "number", "companyinformation", (),
     True),
]
_DEAL: list[Prop] = [
    ("createdate", "Create Date", "datetime", "date", "dealinformation", (), False),
    ("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", "dealinformation", (), True),
    ("dealname", "Deal Name", "string", "text", "dealinformation", (), False),
    ("amount", "Amount", "number", "number", "dealinformation", (), False),
    ("dealstage", "Deal Stage", "enumeration", "radio", "dealinformation", (), False),
    ("pipeline", "Pipeline", "enumeration", "select", "dealinformation", (), False),
    ("closedate", "Close Date", "datetime", "date", "dealinformation", (), False),
    ("deal_currency_code", "Currency", "enumeration", "select", "dealinformation", (), False),
    ("dealtype", "Deal Type", "enumeration", "radio", "dealinformation",
     ("newbusiness", "existingbusiness"), False),
    ("description", "Deal Description", "string", "textarea", "dealinformation", (), False),
    ("hs_is_closed", "Is Deal Closed?", "bool", "booleancheckbox", "dealinformation", (), True),
    ("hs_is_closed_won", "Is Closed Won", "bool", "booleancheckbox", "dealinformation", (), True),
    ("hs_deal_stage_probability", "Deal Stage Probability", "number", "number",
     "dealinformation", (), True),
]
# fmt: on


def _engagement(group: str, extra: list[Prop]) -> list[Prop]:
    return [
        ("hs_createdate", "Created at", "datetime", "date", group, (), True),
        ("hs_lastmodifieddate", "Last Modified Date", "datetime", "date", group, (), True),
        ("hs_timestamp", "Activity date", "datetime", "date", group, (), False),
        *extra,
    ]


# fmt: off
_ENGAGEMENTS: dict[str, list[Prop]] = {
    "notes": _engagement("note", [
        ("hs_note_body", "Note body", "string", "html", "note", (), False),
        ("hs_attachment_ids", "Attached file IDs", "enumeration", "checkbox", "note", (), False),
    ]),
    "calls": _engagement("call", [
        ("hs_call_title", "Call Title", "string", "text", "call", (), False),
        ("hs_call_body", "Call notes", "string", "html", "call", (), False),
        ("hs_call_direction", "Call direction", "enumeration", "select", "call",
         ("INBOUND", "OUTBOUND"), False),
        ("hs_call_duration", "Call duration", "number", "number", "call", (), False),
        ("hs_call_status", "Call status", "enumeration", "select", "call",
         ("BUSY", "CALLING_CRM_USER", "CANCELED", "COMPLETED", "CONNECTING", "FAILED",
          "IN_PROGRESS", "NO_ANSWER", "QUEUED", "RINGING"), False),
    ]),
    "emails": _engagement("email", [
        ("hs_email_subject", "Email subject", "string", "text", "email", (), False),
        ("hs_email_text", "Email body", "string", "textarea", "email", (), False),
        ("hs_email_direction", "Email direction", "enumeration", "select", "email",
         ("EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL"), False),
        ("hs_email_status", "Email send status", "enumeration", "select", "email",
         ("BOUNCED", "FAILED", "SCHEDULED", "SENDING", "SENT"), False),
    ]),
    "meetings": _engagement("meeting", [
        ("hs_meeting_title", "Meeting name", "string", "text", "meeting", (), False),
        ("hs_meeting_body", "Meeting description", "string", "html", "meeting", (), False),
        ("hs_meeting_start_time", "Start Time", "datetime", "date", "meeting", (), False),
        ("hs_meeting_end_time", "End Time", "datetime", "date", "meeting", (), False),
        ("hs_meeting_outcome", "Meeting outcome", "enumeration", "select", "meeting",
         ("SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED"), False),
    ]),
    "tasks": _engagement("task", [
        ("hs_task_subject", "Task Title", "string", "text", "task", (), False),
        ("hs_task_body", "Notes", "string", "html", "task", (), False),
        ("hs_task_status", "Task Status", "enumeration", "select", "task",
         ("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"), False),
        ("hs_task_priority", "Priority", "enumeration", "select", "task",
         ("NONE", "LOW", "MEDIUM", "HIGH"), False),
        ("hs_task_type", "Task Type", "enumeration", "select", "task",
         ("CALL", "EMAIL", "TODO"), False),
    ]),
}
_INFO_GROUP = {"contacts": "contactinformation", "companies": "companyinformation",
               "deals": "dealinformation", "notes": "note", "calls": "call", "emails": "email",
               "meetings": "meeting", "tasks": "task"}
_GROUP_LABELS = {
    "contactinformation": "Contact information", "companyinformation": "Company information",
    "dealinformation": "Deal information", "sales_properties": "Sales properties",
    "note": "Note information", "call": "Call information", "email": "Email information",
    "meeting": "Meeting information", "task": "Task information",
}
# fmt: on
UNIQUE_PROPS = {"contacts": ("email",)}  # properties usable as idProperty out of the box
MAX_STRING = 65_536  # characters in a string property value


def default_properties(type_name: str) -> list[Prop]:
    """Every property a fresh portal defines for the object type."""
    own = {"contacts": _CONTACT, "companies": _COMPANY, "deals": _DEAL}.get(type_name)
    rows = own if own is not None else _ENGAGEMENTS[type_name]
    info = _INFO_GROUP[type_name]
    common = [(n, lb, t, f, g.format(info=info), o, ro) for n, lb, t, f, g, o, ro in _COMMON]
    return [*rows, *common]


def default_groups(type_name: str) -> list[tuple[str, str]]:
    """(name, label) of the property groups a fresh portal has for the object type."""
    names = dict.fromkeys(prop[4] for prop in default_properties(type_name))
    return [(name, _GROUP_LABELS.get(name, name)) for name in names]


# -- pipelines -------------------------------------------------------------------------------
# (id, label, probability); the last two of each pipeline are the closed stages, won then lost.
# fmt: off
PIPELINES: list[tuple[str, str, list[tuple[str, str, float]]]] = [
    ("default", "Sales Pipeline", [
        ("appointmentscheduled", "Appointment Scheduled", 0.2),
        ("qualifiedtobuy", "Qualified To Buy", 0.4),
        ("presentationscheduled", "Presentation Scheduled", 0.6),
        ("decisionmakerboughtin", "Decision Maker Bought-In", 0.8),
        ("contractsent", "Contract Sent", 0.9),
        ("closedwon", "Closed Won", 1.0),
        ("closedlost", "Closed Lost", 0.0),
    ]),
    ("75342518", "Enterprise Renewals", [
        ("138276401", "Discovery", 0.1),
        ("138276402", "Business Case", 0.3),
        ("138276403", "Security Review", 0.5),
        ("138276404", "Procurement", 0.8),
        ("138276405", "Signed", 1.0),
        ("138276406", "Churned", 0.0),
    ]),
]
# fmt: on


def stage_meta(stage_id: str) -> tuple[str, bool, float] | None:
    """(pipeline id, isClosed, probability) of a stage id, or None if no pipeline has it."""
    for pipeline_id, _label, stages in PIPELINES:
        for i, (sid, _slabel, prob) in enumerate(stages):
            if sid == stage_id:
                return pipeline_id, i >= len(stages) - 2, prob
    return None


def stage_for(position: float, is_closed: bool, is_won: bool, pipeline: int) -> tuple[str, str]:
    """(pipeline id, stage id) for a deal: closed ones won/lost, open ones by how far along
    (`position` in [0, 1)) they are."""
    pipeline_id, _label, stages = PIPELINES[pipeline % len(PIPELINES)]
    if is_closed:
        return pipeline_id, stages[-2 if is_won else -1][0]
    open_stages = stages[:-2]
    return pipeline_id, open_stages[min(int(position * len(open_stages)), len(open_stages) - 1)][0]


# -- association types -------------------------------------------------------------------------
# (typeId, from, to, reverse typeId, label); HUBSPOT_DEFINED, as the v4 API reports them.
_ASSOC_ROWS: list[tuple[int, str, str, int, str | None]] = [
    (1, "contacts", "companies", 2, "Primary"),
    (279, "contacts", "companies", 280, None),
    (3, "deals", "contacts", 4, None),
    (5, "deals", "companies", 6, "Primary"),
    (341, "deals", "companies", 342, None),
]
for _base, _kind in (
    (190, "notes"),
    (182, "calls"),
    (186, "emails"),
    (188, "meetings"),
    (192, "tasks"),
):
    # engagement->company, ->contact (+12), ->deal (+24); the reverse is one less
    for _off, _to in ((0, "companies"), (12, "contacts"), (24, "deals")):
        _ASSOC_ROWS.append((_base + _off, _kind, _to, _base + _off - 1, None))


@dataclass(frozen=True)
class AssocType:
    type_id: int
    from_type: str
    to_type: str
    label: str | None

    @property
    def name(self) -> str:
        """The v3 name: contact_to_company (primary) / contact_to_company_unlabeled."""
        base = f"{OBJECT_TYPES[self.from_type].singular}_to_{OBJECT_TYPES[self.to_type].singular}"
        pair = {self.from_type, self.to_type}
        return base + "_unlabeled" if self.label is None and pair in _HAS_PRIMARY else base


_HAS_PRIMARY = [{"contacts", "companies"}, {"deals", "companies"}]
ASSOC_TYPES: dict[int, AssocType] = {}
for _tid, _from, _to, _rev, _label in _ASSOC_ROWS:
    ASSOC_TYPES[_tid] = AssocType(_tid, _from, _to, _label)
    ASSOC_TYPES[_rev] = AssocType(_rev, _to, _from, _label)
REVERSE: dict[int, int] = {}
for _tid, _from, _to, _rev, _label in _ASSOC_ROWS:
    REVERSE[_tid], REVERSE[_rev] = _rev, _tid
DEFAULT_TYPE: dict[tuple[str, str], int] = {
    (a.from_type, a.to_type): a.type_id for a in ASSOC_TYPES.values() if a.label is None
}
PRIMARY_TYPE: dict[tuple[str, str], int] = {
    (a.from_type, a.to_type): a.type_id for a in ASSOC_TYPES.values() if a.label == "Primary"
}


# -- countries and industries as HubSpot shows them ------------------------------------------
# fmt: off
COUNTRY_NAMES = {
    "US": "United States", "CA": "Canada", "GB": "United Kingdom", "IE": "Ireland",
    "DE": "Germany", "FR": "France", "ES": "Spain", "IT": "Italy", "NL": "Netherlands",
    "BE": "Belgium", "LU": "Luxembourg", "CH": "Switzerland", "AT": "Austria", "SE": "Sweden",
    "NO": "Norway", "DK": "Denmark", "FI": "Finland", "PL": "Poland", "PT": "Portugal",
    "CZ": "Czechia", "GR": "Greece", "TR": "Turkey", "IL": "Israel", "AE": "United Arab Emirates",
    "SA": "Saudi Arabia", "ZA": "South Africa", "NG": "Nigeria", "KE": "Kenya", "EG": "Egypt",
    "IN": "India", "CN": "China", "HK": "Hong Kong", "TW": "Taiwan", "KR": "South Korea",
    "JP": "Japan", "SG": "Singapore", "MY": "Malaysia", "TH": "Thailand", "ID": "Indonesia",
    "PH": "Philippines", "VN": "Vietnam", "AU": "Australia", "NZ": "New Zealand",
    "BR": "Brazil", "MX": "Mexico", "AR": "Argentina", "CL": "Chile", "CO": "Colombia",
    "PE": "Peru",
}
INDUSTRIES = {
    "technology": "INFORMATION_TECHNOLOGY_AND_SERVICES", "software": "COMPUTER_SOFTWARE",
    "banking": "BANKING", "insurance": "INSURANCE", "retail": "RETAIL",
    "healthcare": "HOSPITAL_HEALTH_CARE", "telecommunications": "TELECOMMUNICATIONS",
    "energy": "OIL_ENERGY", "transportation": "TRANSPORTATION_TRUCKING_RAILROAD",
    "media": "MEDIA_PRODUCTION", "chemicals": "CHEMICALS",
    "consulting": "MANAGEMENT_CONSULTING", "manufacturing": "MACHINERY",
}
# fmt: on


def country_name(code: str) -> str:
    return COUNTRY_NAMES.get(code.upper(), code)


def industry_value(industry: str) -> str:
    key = industry.strip().lower()
    return INDUSTRIES.get(key) or "_".join(key.upper().replace("&", " ").split())
