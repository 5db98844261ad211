"""Validated domain values: content URLs (normalised), NIP, Kemendagri region codes."""

import re
from datetime import date
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import AfterValidator, StringConstraints

MAX_URL_LENGTH = 2048
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "igshid",
        "igsh",
        "mc_cid",
        "mc_eid",
        "ref_src",
        "ref_url",
        "si",
        "feature",
        "_ga",
        "_gl",
        "yclid",
        "twclid",
        "ttclid",
        "s_cid",
        "mibextid",
        "rdid",
        "share_id",
    }
)
DEFAULT_PORTS = {"http": 80, "https": 443}
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
_IPV6 = re.compile(r"^[0-9a-f:.]+$")


def normalise_url(raw: str) -> str:
    """Canonical form used to recognise the same content: lower-case scheme and host, no default port,
    no fragment, no tracking parameters, remaining query parameters sorted. The service never fetches it."""
    value = raw.strip()
    if len(value) > MAX_URL_LENGTH:
        raise ValueError(f"URL longer than {MAX_URL_LENGTH} characters")
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError("URL scheme must be http or https")
    if not parts.hostname or parts.username or parts.password:
        raise ValueError("URL must have a host and no credentials")
    if _UNSAFE.search(value):
        raise ValueError("URL may not contain spaces or control characters; percent-encode them")
    if _BAD_ESCAPE.search(value):
        raise ValueError("URL has a malformed percent-escape (% must be followed by two hex digits)")
    host = parts.hostname.lower().rstrip(".")
    try:
        host = host.encode("idna").decode("ascii")
        port = parts.port
    except (UnicodeError, ValueError) as exc:
        raise ValueError("URL host or port is not valid") from exc
    if not (_HOST.match(host) or (":" in host and _IPV6.match(host))):
        raise ValueError("URL host is not a valid host name or address")
    netloc = f"[{host}]" if ":" in host else host
    if port and port != DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS and not k.lower().startswith("utm_")
    )
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))


_NIP = re.compile(r"^[0-9]{18}$")  # ASCII digits only: \d would let fullwidth and other scripts' digits in


def validate_nip(value: str) -> str:
    """NIP PNS: birth date (YYYYMMDD), appointment (YYYYMM), gender (1 male, 2 female), sequence (001–999)."""
    nip = value.replace(" ", "")
    if not _NIP.match(nip):
        raise ValueError("NIP must be 18 ASCII digits (0-9)")
    try:
        born = date(int(nip[0:4]), int(nip[4:6]), int(nip[6:8]))
    except ValueError as exc:
        raise ValueError("NIP digits 1–8 must be a valid birth date (YYYYMMDD)") from exc
    appointed_year, appointed_month = int(nip[8:12]), int(nip[12:14])
    if not 1 <= appointed_month <= 12:
        raise ValueError("NIP digits 9–14 must be an appointment year and month (YYYYMM)")
    if appointed_year < born.year + 15 or appointed_year > date.today().year:
        raise ValueError("NIP appointment year does not fit the birth date")
    if nip[14] not in "12":
        raise ValueError("NIP digit 15 (gender) must be 1 or 2")
    if nip[15:] == "000":
        raise ValueError("NIP digits 16–18 (sequence) must not be 000")
    return nip


_REGION = re.compile(r"^([0-9]{2})(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?$")


def validate_region_code(value: str) -> str:
    """Kemendagri code: province `PP`, regency/city `PP.KK`, district `PP.KK.CC`, village `PP.KK.CC.DDDD`."""
    match = _REGION.match(value)
    if not match or not 11 <= int(match.group(1)) <= 96:
        raise ValueError("region code must follow Kemendagri format PP[.KK[.CC[.DDDD]]] with province 11–96")
    return value


def province_of(region_code: str) -> str:
    return region_code[:2]


ContentUrl = Annotated[str, StringConstraints(max_length=MAX_URL_LENGTH), AfterValidator(normalise_url)]
Nip = Annotated[str, StringConstraints(min_length=18, max_length=21), AfterValidator(validate_nip)]
RegionCode = Annotated[str, StringConstraints(max_length=13), AfterValidator(validate_region_code)]
