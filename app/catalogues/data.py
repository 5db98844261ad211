"""The violation and sanction catalogues, versioned by the regulation they come from.

Violation categories: SKB of 22 Sep 2022 (digital ones marked). Sanctions: PP 94/2021 (discipline),
PP 42/2004 (ethics), UU 7/2017 and UU 10/2016 (criminal referral), BKN (administrative).
"""

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class Violation:
    code: str
    label_id: str
    label_en: str
    digital: bool


VIOLATIONS_VERSION = "SKB-2022-09-22"
VIOLATIONS: tuple[Violation, ...] = (
    Violation(
        "online_campaign",
        "Melakukan kampanye/sosialisasi di media sosial",
        "Campaigning or promoting a candidate online",
        True,
    ),
    Violation(
        "engage_campaign_account",
        "Memberikan like, komentar, share, atau follow akun kampanye",
        "Posting, commenting, sharing, liking, following or joining a candidate's or campaign account/group",
        True,
    ),
    Violation(
        "post_partisan_photo",
        "Mengunggah foto bersama calon atau dengan simbol kampanye",
        "Posting photos with a candidate or with campaign symbols",
        True,
    ),
    Violation("display_campaign_props", "Memasang alat peraga kampanye", "Displaying campaign props", False),
    Violation(
        "attend_declaration_support", "Menghadiri deklarasi dukungan calon", "Attending a declaration of support", False
    ),
    Violation("partisan_activity", "Kegiatan yang mengarah pada keberpihakan", "Activity showing partisanship", False),
    Violation(
        "approach_party_as_candidate",
        "Mendekati partai politik sebagai bakal calon",
        "Approaching a political party as a prospective candidate",
        False,
    ),
    Violation(
        "party_membership", "Menjadi anggota atau pengurus partai politik", "Membership of a political party", False
    ),
    Violation("campaign_team", "Menjadi tim kampanye atau tim sukses", "Serving on a campaign team", False),
    Violation(
        "support_independent_candidate",
        "Mendukung calon perseorangan (KTP)",
        "Supporting an independent candidate",
        False,
    ),
    Violation(
        "partisan_decision",
        "Membuat keputusan yang menguntungkan/merugikan calon",
        "Making decisions that favour or harm a candidate",
        False,
    ),
    Violation("other", "Lainnya", "Other", False),
)
VIOLATION_CODES = frozenset(v.code for v in VIOLATIONS)
ENGAGEMENT_ACTIONS = ("post", "comment", "share", "like", "follow", "join")


class Track(StrEnum):
    discipline = "discipline"
    ethics = "ethics"
    criminal_referral = "criminal_referral"
    administrative = "administrative"


@dataclass(frozen=True)
class Sanction:
    code: str
    track: Track
    level: str
    label_id: str
    label_en: str
    regulation: str


SANCTIONS_VERSION = "2024.1"
SANCTIONS: tuple[Sanction, ...] = (
    Sanction("oral_reprimand", Track.discipline, "light", "Teguran lisan", "Oral reprimand", "PP 94/2021"),
    Sanction("written_reprimand", Track.discipline, "light", "Teguran tertulis", "Written reprimand", "PP 94/2021"),
    Sanction(
        "written_dissatisfaction",
        Track.discipline,
        "light",
        "Pernyataan tidak puas secara tertulis",
        "Written statement of dissatisfaction",
        "PP 94/2021",
    ),
    Sanction(
        "tukin_cut_25_6m",
        Track.discipline,
        "moderate",
        "Pemotongan tunjangan kinerja 25% selama 6 bulan",
        "25% performance-allowance cut for 6 months",
        "PP 94/2021",
    ),
    Sanction(
        "tukin_cut_25_9m",
        Track.discipline,
        "moderate",
        "Pemotongan tunjangan kinerja 25% selama 9 bulan",
        "25% performance-allowance cut for 9 months",
        "PP 94/2021",
    ),
    Sanction(
        "tukin_cut_25_12m",
        Track.discipline,
        "moderate",
        "Pemotongan tunjangan kinerja 25% selama 12 bulan",
        "25% performance-allowance cut for 12 months",
        "PP 94/2021",
    ),
    Sanction(
        "demotion_12m",
        Track.discipline,
        "heavy",
        "Penurunan jabatan setingkat lebih rendah selama 12 bulan",
        "Demotion by one grade for 12 months",
        "PP 94/2021",
    ),
    Sanction(
        "to_executor_post_12m",
        Track.discipline,
        "heavy",
        "Pembebasan dari jabatan menjadi jabatan pelaksana selama 12 bulan",
        "Moved to an executor post for 12 months",
        "PP 94/2021",
    ),
    Sanction(
        "honourable_discharge",
        Track.discipline,
        "heavy",
        "Pemberhentian dengan hormat tidak atas permintaan sendiri",
        "Honourable discharge not at own request",
        "PP 94/2021",
    ),
    Sanction(
        "dishonourable_discharge",
        Track.discipline,
        "heavy",
        "Pemberhentian tidak dengan hormat",
        "Dishonourable discharge (party membership)",
        "UU 20/2023 (ASN)",
    ),
    Sanction(
        "moral_statement_closed",
        Track.ethics,
        "ethics",
        "Pernyataan secara tertutup",
        "Closed moral statement",
        "PP 42/2004",
    ),
    Sanction(
        "moral_statement_open",
        Track.ethics,
        "ethics",
        "Pernyataan secara terbuka",
        "Open moral statement",
        "PP 42/2004",
    ),
    Sanction(
        "referral_gakkumdu",
        Track.criminal_referral,
        "criminal",
        "Penerusan ke Sentra Gakkumdu",
        "Referral to Sentra Gakkumdu",
        "UU 7/2017 Ps 280/494/547; UU 10/2016 Ps 71/188",
    ),
    Sanction(
        "personnel_data_block",
        Track.administrative,
        "administrative",
        "Pemblokiran data kepegawaian",
        "Personnel data block",
        "BKN",
    ),
)
SANCTIONS_BY_CODE = {s.code: s for s in SANCTIONS}
