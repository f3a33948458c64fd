"""Fixed tables the sandbox's seed generator draws from: countries, teams, job titles by level
in several languages, opportunity stages and contact roles. Data only, no logic.
"""

from __future__ import annotations

from typing import NamedTuple


class Country(NamedTuple):
    code: str  # ISO 3166 alpha-2
    locale: str  # Faker locale for names
    name: str
    currency: str
    dial: str  # international calling code
    tld: str
    lang: str  # key of TITLES for local-language titles
    region: str  # EMEA | NA | APAC | LATAM
    weight: int  # share of accounts headquartered there


COUNTRIES: dict[str, Country] = {
    c.code: c
    for c in [
        Country("US", "en_US", "United States", "USD", "1", "com", "en", "NA", 24),
        Country("CA", "en_CA", "Canada", "CAD", "1", "ca", "en", "NA", 5),
        Country("GB", "en_GB", "United Kingdom", "GBP", "44", "co.uk", "en", "EMEA", 11),
        Country("DE", "de_DE", "Germany", "EUR", "49", "de", "de", "EMEA", 12),
        Country("FR", "fr_FR", "France", "EUR", "33", "fr", "fr", "EMEA", 9),
        Country("ES", "es_ES", "Spain", "EUR", "34", "es", "es", "EMEA", 5),
        Country("IT", "it_IT", "Italy", "EUR", "39", "it", "it", "EMEA", 5),
        Country("NL", "nl_NL", "Netherlands", "EUR", "31", "nl", "nl", "EMEA", 5),
        Country("SE", "sv_SE", "Sweden", "SEK", "46", "se", "en", "EMEA", 3),
        Country("JP", "ja_JP", "Japan", "JPY", "81", "co.jp", "ja", "APAC", 8),
        Country("AU", "en_AU", "Australia", "AUD", "61", "com.au", "en", "APAC", 5),
        Country("BR", "pt_BR", "Brazil", "BRL", "55", "com.br", "pt", "LATAM", 5),
        Country("MX", "es_MX", "Mexico", "MXN", "52", "com.mx", "es", "LATAM", 3),
    ]
}

# Units of each currency per US dollar, to keep deal sizes comparable across currencies.
FX_PER_USD = {
    "USD": 1.0,
    "CAD": 1.36,
    "GBP": 0.79,
    "EUR": 0.92,
    "SEK": 10.5,
    "JPY": 150.0,
    "AUD": 1.52,
    "BRL": 5.0,
    "MXN": 17.0,
}

# (team, region, segment); members are dealt round-robin in this order.
TEAMS = [
    ("EMEA Enterprise", "EMEA", "Enterprise"),
    ("NA Enterprise", "NA", "Enterprise"),
    ("APAC", "APAC", ""),
    ("EMEA Mid-Market", "EMEA", "Mid-Market"),
    ("NA Mid-Market", "NA", "Mid-Market"),
    ("LATAM", "LATAM", ""),
]

OUR_DOMAIN = "northwind-analytics.com"
LEAD_TITLES = ["Regional Sales Director", "Sales Manager", "Regional Vice President, Sales"]
REP_TITLES = [
    "Account Executive",
    "Senior Account Executive",
    "Enterprise Account Executive",
    "Sales Development Representative",
    "Customer Success Manager",
]

INDUSTRIES = [
    "Manufacturing",
    "Banking",
    "Insurance",
    "Retail",
    "Healthcare",
    "Technology",
    "Telecommunications",
    "Energy",
    "Transportation",
    "Media",
    "Chemicals",
    "Consulting",
]

LEVELS = ("c_level", "vp", "director", "manager", "staff")

# Job titles by language and level. "ceo" titles head an account; "male|female" gives gendered
# forms; "{dept}" takes a department of the same language. The `level` stored with each contact
# is the truth the mapping's title->level rules should find.
TITLES: dict[str, dict[str, list[str]]] = {
    "en": {
        "ceo": ["Chief Executive Officer", "CEO", "President & CEO", "Managing Director"],
        "c_level": [
            "Chief Financial Officer",
            "CFO",
            "Chief Technology Officer",
            "CTO",
            "Chief Operating Officer",
            "Chief Information Officer",
            "Chief Revenue Officer",
        ],
        "vp": ["VP {dept}", "Vice President, {dept}", "SVP {dept}", "EVP {dept}"],
        "director": ["Director of {dept}", "{dept} Director", "Senior Director, {dept}"],
        "manager": ["{dept} Manager", "Senior {dept} Manager", "Manager, {dept}"],
        "staff": [
            "{dept} Analyst",
            "{dept} Specialist",
            "{dept} Coordinator",
            "Software Engineer",
            "Buyer",
            "Accountant",
            "Executive Assistant",
        ],
    },
    "de": {
        "ceo": ["Geschäftsführer|Geschäftsführerin", "Vorstandsvorsitzender|Vorstandsvorsitzende"],
        "c_level": ["Finanzvorstand", "Technischer Geschäftsführer|Technische Geschäftsführerin"],
        "vp": ["Bereichsleiter {dept}|Bereichsleiterin {dept}"],
        "director": ["Abteilungsleiter {dept}|Abteilungsleiterin {dept}", "Direktor {dept}"],
        "manager": ["Teamleiter {dept}|Teamleiterin {dept}", "Gruppenleiter {dept}"],
        "staff": ["Sachbearbeiter {dept}|Sachbearbeiterin {dept}", "Referent {dept}", "Einkäufer"],
    },
    "fr": {
        "ceo": ["Président-directeur général|Présidente-directrice générale", "PDG"],
        "c_level": ["Directeur général délégué|Directrice générale déléguée"],
        "vp": ["Vice-président {dept}|Vice-présidente {dept}"],
        "director": ["Directeur {dept}|Directrice {dept}"],
        "manager": ["Responsable {dept}", "Chef de projet|Cheffe de projet"],
        "staff": ["Acheteur|Acheteuse", "Ingénieur logiciel", "Chargé d'affaires", "Comptable"],
    },
    "es": {
        "ceo": ["Director General|Directora General", "Consejero Delegado|Consejera Delegada"],
        "c_level": ["Director Financiero Corporativo (CFO)|Directora Financiera Corporativa (CFO)"],
        "vp": ["Vicepresidente de {dept}|Vicepresidenta de {dept}"],
        "director": ["Director de {dept}|Directora de {dept}"],
        "manager": ["Jefe de {dept}|Jefa de {dept}", "Responsable de {dept}"],
        "staff": ["Analista de {dept}", "Técnico de {dept}|Técnica de {dept}", "Comprador"],
    },
    "it": {
        "ceo": ["Amministratore Delegato|Amministratrice Delegata"],
        "c_level": ["Chief Financial Officer (CFO)"],
        "vp": ["Vicepresidente {dept}"],
        "director": ["Direttore {dept}|Direttrice {dept}"],
        "manager": ["Responsabile {dept}", "Capo Progetto"],
        "staff": ["Impiegato {dept}|Impiegata {dept}", "Analista {dept}", "Sviluppatore Software"],
    },
    "nl": {
        "ceo": ["Algemeen Directeur", "Directeur-eigenaar"],
        "c_level": ["Financieel Directeur (CFO)"],
        "vp": ["Vicepresident {dept}"],
        "director": ["Directeur {dept}", "Hoofd {dept}"],
        "manager": ["Teamleider {dept}", "Manager {dept}"],
        "staff": ["Medewerker {dept}", "Inkoper", "Adviseur {dept}"],
    },
    "pt": {
        "ceo": ["Diretor Presidente|Diretora Presidente", "Diretor-Geral|Diretora-Geral"],
        "c_level": ["Diretor Financeiro (CFO)|Diretora Financeira (CFO)"],
        "vp": ["Vice-Presidente de {dept}"],
        "director": ["Diretor de {dept}|Diretora de {dept}"],
        "manager": ["Gerente de {dept}", "Coordenador de {dept}|Coordenadora de {dept}"],
        "staff": ["Analista de {dept}", "Assistente Administrativo", "Comprador|Compradora"],
    },
    "ja": {
        "ceo": ["代表取締役社長", "代表取締役"],
        "c_level": ["専務取締役", "常務取締役"],
        "vp": ["執行役員", "{dept}本部長"],
        "director": ["{dept}部長"],
        "manager": ["{dept}課長"],
        "staff": ["{dept}担当", "主任"],
    },
}

DEPARTMENTS: dict[str, list[str]] = {
    "en": ["Sales", "Marketing", "Finance", "IT", "Procurement", "Operations", "Engineering", "HR"],
    "de": ["Vertrieb", "Marketing", "Finanzen", "IT", "Einkauf", "Produktion", "Entwicklung"],
    "fr": ["commercial", "marketing", "des achats", "informatique", "des opérations", "juridique"],
    "es": ["Ventas", "Marketing", "Compras", "Sistemas", "Operaciones", "Recursos Humanos"],
    "it": ["Commerciale", "Marketing", "Acquisti", "IT", "Operazioni", "Risorse Umane"],
    "nl": ["Verkoop", "Marketing", "Inkoop", "ICT", "Operations", "HR"],
    "pt": ["Vendas", "Marketing", "Compras", "TI", "Operações", "RH"],
    "ja": ["営業", "マーケティング", "購買", "経理", "情報システム", "製造"],
}

# Salesforce's standard stages, in order, with the probability Salesforce gives each.
STAGES: list[tuple[str, int]] = [
    ("Prospecting", 10),
    ("Qualification", 10),
    ("Needs Analysis", 20),
    ("Value Proposition", 50),
    ("Id. Decision Makers", 60),
    ("Perception Analysis", 70),
    ("Proposal/Price Quote", 75),
    ("Negotiation/Review", 90),
    ("Closed Won", 100),
    ("Closed Lost", 0),
]

# OpportunityContactRole.Role picklist values, by the level that usually plays them.
ROLES_BY_LEVEL = {
    "c_level": ["Economic Buyer", "Executive Sponsor", "Decision Maker"],
    "vp": ["Decision Maker", "Economic Decision Maker", "Executive Sponsor"],
    "director": ["Decision Maker", "Evaluator", "Influencer"],
    "manager": ["Technical Buyer", "Evaluator", "Influencer"],
    "staff": ["Business User", "Influencer", "Other"],
}

DEAL_KINDS = [
    "New Business",
    "Platform Expansion",
    "Renewal",
    "Pilot",
    "Analytics Add-on",
    "Multi-year Agreement",
    "Services Package",
]

ACTIVITY_SUBJECTS = {
    "call": ["Intro call", "Discovery call", "Follow-up call", "Check-in call", "Pricing call"],
    "email": ["Sent proposal", "Follow-up: next steps", "Re: pricing", "Intro email", "Recap"],
    "meeting": ["Quarterly business review", "Product demo", "Onsite workshop", "Lunch meeting"],
    "task": ["Send case study", "Prepare quote", "Update account plan", "Schedule demo"],
}

PERSONAL_DOMAINS = {
    "en": ["gmail.com", "outlook.com", "yahoo.com", "icloud.com"],
    "de": ["gmx.de", "web.de", "gmail.com", "t-online.de"],
    "fr": ["orange.fr", "free.fr", "gmail.com", "laposte.net"],
    "es": ["gmail.com", "hotmail.es", "yahoo.es"],
    "it": ["libero.it", "gmail.com", "virgilio.it"],
    "nl": ["ziggo.nl", "gmail.com", "kpnmail.nl"],
    "pt": ["gmail.com", "uol.com.br", "bol.com.br"],
    "ja": ["gmail.com", "yahoo.co.jp", "docomo.ne.jp"],
}

ADDRESS_BOOK_FOLDERS = ["Customers", "Partners", "Conferences", "Old contacts"]
PRIVATE_FOLDERS = ["Personal", "Recruiters"]

# Words dropped when a company name becomes a domain name.
COMPANY_STOPWORDS = {
    "and", "und", "et", "e", "y", "en", "of", "the", "ltd", "llc", "inc", "plc", "pty", "gmbh",
    "kg", "ag", "co", "sa", "sas", "sarl", "srl", "spa", "s", "a", "r", "l", "bv", "nv", "ab",
    "hb", "me", "ltda", "sl", "slu", "group", "groep", "gruppo", "grupo", "sons", "filhos",
    "hijos", "figli", "cie", "kgaa", "ohg", "mbh", "club", "despacho", "koninklijke",
}  # fmt: skip

JP_COMPANY_WORDS = [
    ("電機", "Electric"),
    ("商事", "Trading"),
    ("工業", "Industries"),
    ("製薬", "Pharmaceutical"),
    ("物流", "Logistics"),
    ("システム", "Systems"),
]
