"""What the generated OpenAPI document gains before it is served and committed (openapi/openapi.json): each
operation's description and request examples, the tags' descriptions, the security scheme of the OAuth
endpoints, and the problems every operation can answer with besides the ones its route declares (the edge,
the rate limits, the database, the unexpected), so an integrator's client knows every status it can get."""

import copy
import json
from typing import Any

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
RATE_LIMIT = {
    "RateLimit-Limit": {
        "description": "Requests allowed in the current window by the limit that applies (per client once "
        "authenticated, per source address before; the token endpoint per source)",
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
    },
    "RateLimit-Reset": {
        "description": "Seconds until that window renews",
        "schema": {"type": "integer", "minimum": 0, "maximum": 3600},
    },
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}}

TAGS = [
    {
        "name": "oauth",
        "description": "Tokens for agency systems: OAuth 2.0 client credentials (RFC 6749 §4.4), "
        "client secret or `private_key_jwt` (RFC 7523); revocation (RFC 7009).",
    },
    {"name": "identity", "description": "Who the caller is and the agreement that governs its agency now."},
    {"name": "reports", "description": "Reporters (Kominfo) push suspected-violation reports and follow them."},
    {"name": "evidence", "description": "Evidence files, stored and served by their SHA-256."},
    {
        "name": "cases",
        "description": "The case authority (KASN) works cases through their lifecycle; observers (Bawaslu) read them.",
    },
    {"name": "events", "description": "The change feed: everything that changed, in commit order, by cursor."},
    {"name": "catalogues", "description": "Violation categories and sanctions, in Indonesian and English."},
    {"name": "stats", "description": "Aggregate counts for supervision."},
    {"name": "audit", "description": "The tamper-evident audit log, its signed checkpoints and exports (auditors)."},
    {"name": "operations", "description": "Liveness and readiness probes for the platform."},
]

DESCRIPTIONS = {
    "get_jwks": "The JSON Web Key Set whose keys sign access tokens (RFC 7517). A retired key stays listed "
    "until every token it signed has expired. No authentication.",
    "get_agreement": "The cooperation agreement (PKS) that governs the caller's agency at this moment: its "
    "state (`pending`, `active`, `wind_down`, `expired`, `purged`), dates, days left and regional extensions. "
    "What the service allows follows from this state.",
    "list_audit_checkpoints": "Signed checkpoints of the audit chain (size, head hash, Ed25519 signature), "
    "oldest first, by cursor. Scope `audit:read`.",
    "export_audit_checkpoints": "Every checkpoint as JSON Lines, the input of `netral audit verify "
    "--checkpoints`. Scope `audit:read`.",
    "list_audit_events": "Audit rows in chain order, filtered by agency, client, action, object id and time; "
    "every filter given must match. Reading seals what waits first. Scope `audit:read`.",
    "export_audit_events": "A contiguous range of sealed rows as JSON Lines, ending on a signed head, the "
    "input of `netral audit verify --export`. Scope `audit:read`.",
    "get_audit_public_key": "The Ed25519 public key that verifies the checkpoints, as PEM and JWK. Scope `audit:read`.",
    "list_cases": "Cases, oldest first, filtered by status, category, platform, region and dates, with keyset "
    "cursors (`next_cursor`). The case authority sees the full view, observers a view without personal data. "
    "Scope `cases:read`.",
    "get_case": "One case with its reports, information requests and sanctions, in the caller's role's view. "
    "The `ETag` is the case version: send it as `If-Match` to change the case. Scope `cases:read`.",
    "get_case_history": "Every status change of a case: who (agency, client), when, from, to and why. Scope "
    "`cases:read`.",
    "request_information": "The custodian asks the reporter of one report for information or verification; "
    "the case moves to `needs_info`, and only that report's reporter sees and answers the request. Scope "
    "`cases:write`; `If-Match` required.",
    "read_reporter_identity": "Decrypts the identity of the member of the public who reported, for the "
    "custodian only, and records that it was read. Scope `identity:read`.",
    "record_sanction": "Records a sanction outcome from the catalogue (code, legal basis, PPK, decree) on a "
    "case in `recommendation_issued` or `sanction_reported`. An `Idempotency-Key` makes a retry safe. Scope "
    "`sanctions:write`.",
    "transition_case": "Moves a case along the lifecycle (DESIGN.md); an illegal move is 409, a stale "
    "`If-Match` 412, a missing one 428. Scope `cases:write`.",
    "list_sanctions": "The sanction catalogue: codes by track (discipline, ethics, criminal referral) and level, "
    "with Indonesian and English labels and their regulation. Any authenticated caller.",
    "list_violation_categories": "The violation categories with Indonesian and English labels. Any "
    "authenticated caller.",
    "list_events": "What changed since the caller's cursor, in commit order: each event exactly once, none "
    "skipped, across every server process. Reporters see events of their own reports; case readers all case "
    "events.",
    "upload_evidence": "Uploads one evidence file as the raw request body, with its media type as "
    "`Content-Type`; the content is sniffed too. Answers its SHA-256, which reports then reference. Scope "
    "`reports:write`.",
    "download_evidence": "Downloads an evidence file by SHA-256 for a caller who may see a report that links "
    "it; 409 when the stored file no longer matches its hash, 410 when purged.",
    "list_information_requests": "Information requests addressed to the caller's agency, on cases holding "
    "its reports, open ones first. Scope `reports:read`.",
    "answer_information_request": "The reporter answers with a note and evidence references; the case returns "
    "to screening. Scope `reports:write`.",
    "get_me": "The caller as the service sees it now: agency, roles, the scopes in force (token scopes, the "
    "agency's roles and the agreement's state intersected) and the agreement.",
    "list_reports": "The caller's agency's reports, oldest first, by cursor, with their case's status and "
    "sanction outcome. Scope `reports:read`.",
    "submit_report": "Pushes one suspected-violation report. A report on the same ASN and content URL as an "
    "existing case joins it (`joined_existing_case`). `Idempotency-Key` is required: a retry with the same key "
    "and body returns the first answer (`Idempotent-Replayed: true`); the same key with another body is 422. "
    "Scope `reports:write`.",
    "get_report": "One of the caller's agency's reports, with its case status. Scope `reports:read`.",
    "get_report_access_log": "Who (agency, client) read or changed one of the caller's reports, or the case "
    "holding it, and when, from the audit log. Scope `reports:read`.",
    "submit_report_batch": "Pushes several reports in one transaction, at most the deployment's "
    "NETRAL_BATCH_MAX_ITEMS (the batch's `maxItems`; 100 by default): all are stored or none; errors point at "
    "the item (`/body/items/<i>/…`). `Idempotency-Key` required. Scope `reports:write`.",
    "get_stats": "Counts of cases by status, category, platform, province and agency. Scope `cases:read`.",
    "get_health": "Liveness: the process answers. Touches nothing else.",
    "revoke_token": "Revokes an access token of the authenticated client (RFC 7009); every server process "
    "refuses it from the next request on. Revoking another client's token does nothing.",
    "issue_token": "Issues an RFC 9068 access token (JWT, `typ: at+jwt`) to an agency system. The client "
    "authenticates with HTTP Basic, with `client_id` and `client_secret` in the form, or with a "
    "`private_key_jwt` assertion. Errors follow RFC 6749 §5.2 (`application/json`).",
    "get_readiness": "Readiness for the load balancer: 503 until the database answers, the schema is at head "
    "and a signing key is loaded; `degraded` (200) names what the operator must fix while the service can "
    "still serve.",
}

EXAMPLE_REPORT = {
    "reference": "APT-2024-000123",
    "content_url": "https://www.facebook.com/budi.santoso/posts/123",
    "platform": "facebook",
    "content_kind": "post",
    "captured_at": "2024-06-01T10:00:00+07:00",
    "excerpt": "Ayo dukung paslon nomor 2!",
    "category": "online_campaign",
    "asn": {
        "name": "Budi Santoso",
        "nip": "198503152010011001",
        "instansi": "Pemerintah Kota Bandung",
        "jabatan": "Analis Kebijakan",
        "region_code": "32.73",
    },
    "source": "monitoring",
    "evidence": [{"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "kind": "screenshot"}],
}

REQUEST_EXAMPLES: dict[str, Any] = {
    "submit_report": EXAMPLE_REPORT,
    "submit_report_batch": {"items": [EXAMPLE_REPORT, {**EXAMPLE_REPORT, "reference": "APT-2024-000124"}]},
    "transition_case": {"to": "screening", "reason": "Bukti lengkap; mulai penelaahan"},
    "request_information": {"question": "Mohon tangkapan layar lengkap beserta tanggal unggahan."},
    "answer_information_request": {
        "note": "Tangkapan layar lengkap terlampir.",
        "evidence": [
            {"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "kind": "screenshot"}
        ],
    },
    "record_sanction": {
        "track": "discipline",
        "code": "oral_reprimand",
        "legal_basis": "PP 94/2021",
        "decided_by": "Wali Kota Bandung (PPK)",
        "decree_number": "800/123/BKPSDM/2024",
        "decree_date": "2024-07-15",
    },
    "issue_token": {"grant_type": "client_credentials", "scope": "reports:write reports:read"},
    "revoke_token": {"token": "eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCJ9…", "token_type_hint": "access_token"},
}

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
RESPONSE_EXAMPLES: dict[tuple[str, str], Any] = {
    ("issue_token", "200"): {
        "access_token": "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiYXQrand0In0.eyJpc3MiOiLigKYifQ.c2ln",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "reports:read reports:write",
    },
    ("upload_evidence", "201"): {"sha256": SHA, "size": 48213, "media_type": "image/png"},
    ("submit_report", "201"): {
        "id": "0b7f6a2e-5d0c-4a5e-9d3f-2f1c8e6b9a41",
        "reference": "APT-2024-000123",
        "content_url": "https://www.facebook.com/budi.santoso/posts/123",
        "platform": "facebook",
        "content_kind": "post",
        "captured_at": "2024-06-01T03:00:00+00:00",
        "excerpt": "Ayo dukung paslon nomor 2!",
        "category": "online_campaign",
        "engagement_action": None,
        "asn": {
            "name": "Budi Santoso",
            "identifier": "198503152010011001",
            "identifier_kind": "nip",
            "instansi": "Pemerintah Kota Bandung",
            "jabatan": "Analis Kebijakan",
            "region_code": "32.73",
        },
        "source": "monitoring",
        "has_public_reporter": False,
        "evidence": [
            {"sha256": SHA, "kind": "screenshot", "filename": "post.png", "size": 48213, "media_type": "image/png"}
        ],
        "received_at": "2024-06-01T03:05:12.123456+00:00",
        "case": {
            "id": "5c1d2b7e-8f3a-4b6c-9e0d-1a2b3c4d5e6f",
            "status": "submitted",
            "joined_existing_case": False,
            "updated_at": "2024-06-01T03:05:12.123456+00:00",
            "outcome": [],
            "open_information_requests": [],
        },
    },
    ("list_events", "200"): {
        "items": [
            {
                "position": 41,
                "kind": "case.status_changed",
                "case_id": "5c1d2b7e-8f3a-4b6c-9e0d-1a2b3c4d5e6f",
                "report_id": None,
                "data": {"from_status": None, "to_status": "submitted"},
                "occurred_at": "2024-06-01T03:05:12.123456+00:00",
            }
        ],
        "next_cursor": "NDE",
    },
}

PROBLEM_EXAMPLE = {
    "type": "/problems/validation-error",
    "title": "Request validation failed",
    "status": 422,
    "detail": "1 field is invalid.",
    "errors": [{"pointer": "/body/asn/nip", "detail": "a NIP has 18 digits"}],
}

# OpenAPI links: how a response feeds the next request (schemathesis follows them in stateful tests).
LINKS: dict[tuple[str, str], dict[str, tuple[str, dict[str, str]]]] = {
    ("submit_report", "201"): {
        "GetReport": ("get_report", {"report_id": "$response.body#/id"}),
        "GetReportAccessLog": ("get_report_access_log", {"report_id": "$response.body#/id"}),
        "GetCase": ("get_case", {"case_id": "$response.body#/case/id"}),
        "TransitionCase": ("transition_case", {"case_id": "$response.body#/case/id"}),
        "RequestInformation": ("request_information", {"case_id": "$response.body#/case/id"}),
    },
    ("submit_report_batch", "201"): {
        "GetFirstReport": ("get_report", {"report_id": "$response.body#/items/0/id"}),
    },
    ("get_case", "200"): {
        "GetCaseHistory": ("get_case_history", {"case_id": "$response.body#/id"}),
        "TransitionCase": ("transition_case", {"case_id": "$response.body#/id", "If-Match": "$response.header.ETag"}),
        "RecordSanction": ("record_sanction", {"case_id": "$response.body#/id"}),
        "RequestInformation": (
            "request_information",
            {"case_id": "$response.body#/id", "If-Match": "$response.header.ETag"},
        ),
    },
    ("request_information", "201"): {
        "AnswerInformationRequest": ("answer_information_request", {"request_id": "$response.body#/id"}),
    },
    ("upload_evidence", "201"): {
        "DownloadEvidence": ("download_evidence", {"sha256": "$response.body#/sha256"}),
    },
}
UNAUTHENTICATED = {"get_jwks", "get_health", "get_readiness"}
OAUTH = {"issue_token", "revoke_token"}


def complete(schema: dict[str, Any], *, batch_max_items: int | None = None) -> dict[str, Any]:
    """The generated document, completed. ``batch_max_items``: the deployment's NETRAL_BATCH_MAX_ITEMS, stated
    as the batch's ``maxItems`` (its default when None: the committed contract)."""
    schema = copy.deepcopy(schema)
    schema["tags"] = TAGS
    schema["servers"] = [
        {
            "url": "/",
            "description": "The production deployment that serves this document (its NETRAL_ISSUER)",
            "x-internal": False,  # called by other agencies' systems, over the government network
        }
    ]
    schema["info"]["contact"] = {"name": "The deployment's operators (Ditjen Aptika, Kementerian Kominfo)"}
    bearer = schema["components"]["securitySchemes"]["agencyClientCredentials"]
    bearer["description"] += (
        " Tokens are verified per RFC8725 (JWT best current practice): one algorithm per key, fixed by the "
        "key, never `none` or HMAC; an explicit `typ`; no key material taken from the token; every time "
        "claim checked, at most 10 minutes of life."
    )
    schema.setdefault("components", {}).setdefault("securitySchemes", {})["clientSecretBasic"] = {
        "type": "http",
        "scheme": "basic",
        "description": "The client's id and secret (client_secret_basic). Alternatively `client_id` and "
        "`client_secret` in the form, or a `private_key_jwt` assertion in `client_assertion` (RFC 7523).",
    }
    problem = schema["components"]["schemas"].get("Problem")
    if problem is not None:
        problem["example"] = PROBLEM_EXAMPLE
    for item in schema["paths"].values():
        for operation in item.values():
            _complete_operation(operation)
    _exactly_one_case_view(schema)
    bound(schema, batch_max_items=batch_max_items)
    _integer_formats(schema)
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused not in json.dumps(schema["paths"]):
            schema["components"]["schemas"].pop(unused, None)
    return schema


def _complete_operation(operation: dict[str, Any]) -> None:
    op_id = operation["operationId"]
    operation.setdefault("description", DESCRIPTIONS[op_id])
    responses = operation["responses"]
    body = operation.get("requestBody")
    if op_id in REQUEST_EXAMPLES and body is not None:
        for media in body["content"].values():
            media["example"] = REQUEST_EXAMPLES[op_id]
    for (example_op, status), example in RESPONSE_EXAMPLES.items():
        if example_op == op_id:
            responses[status]["content"]["application/json"]["example"] = example
    if op_id in OAUTH:
        operation["security"] = [{"clientSecretBasic": []}, {}]  # {}: the form or an assertion authenticates
    extra: dict[str, str] = {"500": "Internal Server Error", "503": "Service Unavailable: the database is away"}
    if op_id not in UNAUTHENTICATED:
        extra["429"] = "Too Many Requests: a per-client or per-source limit"
        if op_id not in OAUTH:
            extra["401"] = "Unauthorized: no, an invalid or an expired token"
    if body is not None:
        extra["400"] = "Bad Request: the body could not be read (not UTF-8, not JSON, a broken form)"
        extra["408"] = "Request Timeout: the body did not arrive in time"
        extra["413"] = "Content Too Large"
    for status, description in extra.items():
        responses.setdefault(status, {"description": description, "content": copy.deepcopy(PROBLEM)})
    validation = responses.get("422")
    if validation is not None and "application/problem+json" not in validation.get("content", {}):
        # FastAPI's default validation answer; the service answers problem+json (app/core/errors.py)
        validation["content"] = copy.deepcopy(PROBLEM)
    for status, response in responses.items():
        for name, (target, parameters) in LINKS.get((op_id, status), {}).items():
            response.setdefault("links", {})[name] = {"operationId": target, "parameters": parameters}
        if op_id not in UNAUTHENTICATED and status.startswith(("2", "4")):
            response.setdefault("headers", {}).update(copy.deepcopy(RATE_LIMIT))
        if status in ("429", "503"):
            response.setdefault("headers", {}).update(copy.deepcopy(RETRY_AFTER))


def _integer_formats(node: Any) -> None:
    """Every integer says its width: int32 where its bounds fit, int64 otherwise."""
    if isinstance(node, dict):
        if node.get("type") == "integer" and "format" not in node:
            fits = node.get("maximum", 2**63) <= 2**31 - 1 and node.get("minimum", -(2**63)) >= -(2**31)
            node["format"] = "int32" if fits else "int64"
        for value in node.values():
            _integer_formats(value)
    elif isinstance(node, list):
        for value in node:
            _integer_formats(value)


VIEWS = {
    "CaseForAuthority": "authority",
    "CaseForObserver": "observer",
    "CasePageForAuthority": "authority",
    "CasePageForObserver": "observer",
}
CLOSED = (*VIEWS, "ReportInCase", "ReportInCaseForAuthority")


def _exactly_one_case_view(schema: dict[str, Any]) -> None:
    """A case (or a page of cases) is the authority's view or the observer's: ``oneOf`` with ``view`` as
    discriminator, and the view schemas closed (``additionalProperties: false``), so a response validates
    against exactly one of them."""
    schemas = schema["components"]["schemas"]
    for name in CLOSED:
        schemas[name]["additionalProperties"] = False
    for name in VIEWS:
        required = schemas[name].setdefault("required", [])
        if "view" not in required:  # it has a default in the model, and is always sent
            required.append("view")
    for item in schema["paths"].values():
        for operation in item.values():
            for response in operation["responses"].values():
                media = response.get("content", {}).get("application/json", {})
                one_of = media.get("schema", {}).get("oneOf")
                if one_of and {ref["$ref"].rsplit("/", 1)[1] for ref in one_of} <= VIEWS.keys():
                    media["schema"] = {
                        "oneOf": one_of,
                        "discriminator": {
                            "propertyName": "view",
                            "mapping": {VIEWS[ref["$ref"].rsplit("/", 1)[1]]: ref["$ref"] for ref in one_of},
                        },
                    }


# ---- bounds: every string, integer and array in the contract says how large it can be ---------------------

BY_FORMAT = {"uuid": 36, "date-time": 40, "date": 10, "binary": 10 * 1024 * 1024}
# Strings the service writes itself (no request schema bounds them): their longest possible value.
STRING_MAX = {
    "access_token": 16384,
    "token_type": 16,
    "scope": 1000,
    "action": 200,
    "agency": 64,
    "agency_code": 64,
    "agency_name": 300,
    "actor_agency": 64,
    "reporter_agency": 64,
    "custodian_agency": 64,
    "client_id": 200,
    "client_ip": 45,
    "body_sha256": 64,
    "sha256": 64,
    "hash": 64,
    "head_hash": 64,
    "prev_hash": 64,
    "prev_checkpoint_hash": 64,
    "signature": 128,
    "key_id": 64,
    "public_key_pem": 1000,
    "at": 40,
    "time": 40,
    "token_id": 64,
    "roles": 200,
    "outcome": 32,
    "request_id": 128,
    "catalogue_version": 32,
    "version": 32,
    "label_en": 300,
    "label_id": 300,
    "regulation": 300,
    "level": 32,
    "code": 64,
    "track": 32,
    "media_type": 128,
    "identifier": 32,
    "identifier_kind": 16,
    "asn_identifier": 32,
    "state": 32,
    "status": 32,
    "from_status": 32,
    "to_status": 32,
    "next_cursor": 200,
    "type": 200,
    "title": 300,
    "detail": 4000,
    "instance": 2000,
    "pointer": 500,
    "error": 64,
    "error_description": 1000,
    "contact": 300,
    "kind": 64,
    "checks": 2000,
    "jwk": 1000,
    "items": 200,
    "If-Match": 100,
    "category": 64,
    "platform": 64,
    "content_kind": 32,
    "source": 32,
    "engagement_action": 32,
    "answer_note": 4000,
    "decree_date": 10,
    "scopes": 64,
}
# Integers that can be negative (days left of an ended agreement); others count, number or measure.
INTEGER_RANGE = {"status": (100, 599), "days_left": (-(2**31), 2**31 - 1), "expires_in": (1, 600)}
INT64_MAX = 2**63 - 1


def _array_max(batch_max_items: int | None) -> dict[str, int]:
    from app.access.roles import ALL_SCOPES, Role
    from app.cases.models import CaseStatus
    from app.catalogues.data import SANCTIONS, VIOLATIONS
    from app.core.config import Settings
    from app.core.errors import MAX_FIELD_ERRORS

    batch = batch_max_items if batch_max_items is not None else Settings.model_fields["batch_max_items"].default
    return {
        "roles": len(Role),
        "scopes": len(ALL_SCOPES),
        "status": len(CaseStatus),
        "errors": MAX_FIELD_ERRORS,
        "ViolationCatalogue": len(VIOLATIONS),
        "SanctionCatalogue": len(SANCTIONS),
        # NETRAL_BATCH_MAX_ITEMS: the deployment's when it is serving, else the default (the committed contract)
        "ReportBatchIn": batch,
        "ReportBatchOut": batch,
    }


def bound(schema: dict[str, Any], *, batch_max_items: int | None = None) -> None:
    """Completes the bounds the generated document lacks, from what the service itself guarantees: request
    bounds of the same field (what is stored was validated against them), formats, page-size limits, the
    catalogues and the tables above. What has no bound is left, and the contract lint says so."""
    harvested: dict[str, int] = {}
    harvested_items: dict[str, int] = {}
    for name, node in _named(schema["components"]["schemas"]):
        if isinstance(node.get("maxLength"), int):
            harvested[name] = max(harvested.get(name, 0), node["maxLength"])
        if isinstance(node.get("maxItems"), int):
            harvested_items[name] = max(harvested_items.get(name, 0), node["maxItems"])
    for name, node in _named(schema):
        _bound_node(name, node, harvested)
        if node.get("type") == "array" and "maxItems" not in node and name in harvested_items:
            node["maxItems"] = harvested_items[name]
    schemas = schema["components"]["schemas"]
    array_max = _array_max(batch_max_items)
    for name, node in _named(schema):
        if node.get("type") == "array" and "maxItems" not in node and name in array_max:
            node["maxItems"] = array_max[name]
    for name in schemas:
        if name in array_max:
            schemas[name]["properties"]["items"]["maxItems"] = array_max[name]
    for item in schema["paths"].values():
        for operation in item.values():
            limit = next((p["schema"] for p in operation.get("parameters", []) if p["name"] == "limit"), None)
            page = operation["responses"].get("200", {}).get("content", {}).get("application/json", {}).get("schema")
            refs = [page] if page and "$ref" in page else (page or {}).get("oneOf", [])
            if limit is None:
                continue
            for ref in refs:
                schemas[ref["$ref"].rsplit("/", 1)[1]]["properties"]["items"]["maxItems"] = limit["maximum"]


def _bound_node(name: str, node: dict[str, Any], harvested: dict[str, int]) -> None:
    kind = node.get("type")
    if kind == "string" and not {"maxLength", "enum", "const"} & node.keys():
        limit = BY_FORMAT.get(node.get("format", "")) or harvested.get(name) or STRING_MAX.get(name)
        if limit:
            node["maxLength"] = limit
    elif kind == "integer":
        low, high = INTEGER_RANGE.get(name, (0, INT64_MAX))
        node.setdefault("minimum", low)
        node.setdefault("maximum", high)


def _named(node: Any, name: str = "") -> Any:
    """Every schema in the document with the name it goes by (its property, parameter or header name)."""
    if isinstance(node, dict):
        yield name, node
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                for prop, sub in value.items():
                    yield from _named(sub, prop)
            elif key in ("parameters",) and isinstance(value, list):
                for parameter in value:
                    yield from _named(parameter.get("schema", {}), parameter.get("name", ""))
            elif key == "headers" and isinstance(value, dict):
                for header, sub in value.items():
                    yield from _named(sub.get("schema", {}), header)
            elif key in ("anyOf", "oneOf", "allOf") and isinstance(value, list):
                for sub in value:
                    yield from _named(sub, name)
            elif key in ("items", "additionalProperties", "schema") and isinstance(value, dict):
                yield from _named(value, name)
            elif isinstance(value, dict) and key not in ("properties", "example", "examples"):
                yield from _named(value, key if key not in ("content", "responses", "paths") else name)
