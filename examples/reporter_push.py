"""Reporter (Kominfo's monitoring system): upload evidence, push a report, and retry safely.

The Idempotency-Key makes the push safe to retry after a timeout or a lost answer: the same key and body get
the first answer back (Idempotent-Replayed: true), never a second report. Then read back what became of it.

  NETRAL_CLIENT_ID=… NETRAL_CLIENT_SECRET=… python examples/reporter_push.py
"""

import base64
import sys
import uuid

from netral_client import check, connect

# A 1×1 PNG stands in for a screenshot of the post.
SCREENSHOT = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def main() -> None:
    api = connect()
    stored = check(api.post("/api/v1/evidence", content=SCREENSHOT, headers={"Content-Type": "image/png"}), 200, 201)
    sha256 = stored.json()["sha256"]
    print(f"evidence stored: {sha256}")

    reference = f"APT-{uuid.uuid4().hex[:10]}"  # your own reference, unique in your agency
    report = {
        "reference": reference,
        "content_url": f"https://www.facebook.com/budi.santoso/posts/{uuid.uuid4().int % 10**9}",
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
        "evidence": [{"sha256": sha256, "kind": "screenshot", "filename": "post.png"}],
    }
    key = str(uuid.uuid4())  # one key per report, kept with it until the push is acknowledged
    first = check(api.post("/api/v1/reports", json=report, headers={"Idempotency-Key": key}), 201)
    print(f"report {first.json()['id']} pushed; case status {first.json()['case']['status']}")

    # The answer was lost? Send the very same request again: the first answer comes back, nothing doubles.
    retry = check(api.post("/api/v1/reports", json=report, headers={"Idempotency-Key": key}), 201)
    assert retry.headers.get("Idempotent-Replayed") == "true" and retry.json()["id"] == first.json()["id"]
    print("retry replayed the first answer: no duplicate")

    mine = check(api.get(f"/api/v1/reports/{first.json()['id']}")).json()
    print(f"read back: reference {mine['reference']}, case {mine['case']['status']}")


if __name__ == "__main__":
    sys.exit(main())
