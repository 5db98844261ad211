"""Case authority (KASN's case system): pull the change feed, take each new case through the lifecycle to a
recommendation, and record the sanction the PPK imposed.

The feed gives every change exactly once, in commit order, from your cursor: keep the last `next_cursor` and
start from it next time (here it is kept in a file). Changing a case needs its current ETag in If-Match, so
two officers never overwrite each other's decision (412 tells you to re-read).

  NETRAL_CLIENT_ID=… NETRAL_CLIENT_SECRET=… python examples/case_authority.py [--cursor-file F]
"""

import argparse
import pathlib
import sys
import uuid
from typing import Any

import httpx
from netral_client import check, connect

# The lifecycle this example walks for a case found proven (DESIGN.md, "Case lifecycle").
PATH = [
    ("screening", "Laporan diterima; mulai penelaahan"),
    ("clarification", "Klarifikasi kepada ASN yang bersangkutan"),
    ("assessment", "Pemeriksaan bukti dan keterangan"),
    ("recommendation_issued", "Terbukti melanggar netralitas; rekomendasi kepada PPK"),
]


def move(api: httpx.Client, case_id: str, to: str, reason: str) -> dict[str, Any]:
    current = check(api.get(f"/api/v1/cases/{case_id}"))
    moved = api.post(
        f"/api/v1/cases/{case_id}/transitions",
        json={"to": to, "reason": reason},
        headers={"If-Match": current.headers["ETag"]},
    )
    return dict(check(moved).json())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cursor-file", default=".netral-feed-cursor")
    cursor_file = pathlib.Path(parser.parse_args().cursor_file)
    api = connect()

    after = cursor_file.read_text().strip() if cursor_file.exists() else None
    new_cases: list[str] = []
    while True:
        page = check(
            api.get("/api/v1/events", params={"after": after, "limit": 100} if after else {"limit": 100})
        ).json()
        for event in page["items"]:
            if event["kind"] == "case.status_changed" and event["data"].get("to_status") == "submitted":
                new_cases.append(event["case_id"])
        if not page["items"]:
            break  # caught up: next time, start from the cursor kept
        after = page["next_cursor"]
        cursor_file.write_text(after)  # only after the page is handled: a crash re-reads, never skips
    print(f"{len(new_cases)} new case(s) in the feed")

    for case_id in new_cases:
        for to, reason in PATH:
            case = move(api, case_id, to, reason)
        print(f"case {case_id}: {case['status']}")
        sanction = {
            "track": "discipline",
            "code": "oral_reprimand",
            "legal_basis": "PP 94/2021",
            "decided_by": "Wali Kota Bandung (PPK)",
            "decree_number": f"800/{uuid.uuid4().hex[:6]}/BKPSDM/2024",
            "decree_date": "2024-07-15",
        }
        headers = {"Idempotency-Key": str(uuid.uuid4())}  # a retry with it records the sanction once
        check(api.post(f"/api/v1/cases/{case_id}/sanctions", json=sanction, headers=headers), 200, 201)
        print(f"case {case_id}: sanction {sanction['code']} recorded")


if __name__ == "__main__":
    sys.exit(main())
