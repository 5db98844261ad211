"""Observer (Bawaslu): read-only queries. Cases in a province, page by page, and the overall counts. The
observer's view of a case carries no personal data of the reporters.

  NETRAL_CLIENT_ID=… NETRAL_CLIENT_SECRET=… python examples/observer_query.py [--region 32]
"""

import argparse
import sys

from netral_client import check, connect


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--region", default=None, help="province or regency code, e.g. 32 or 32.73")
    args = parser.parse_args()
    api = connect()

    params: dict[str, str | int] = {"limit": 50}
    if args.region:
        params["region"] = args.region
    seen = 0
    while True:
        page = check(api.get("/api/v1/cases", params=params)).json()
        for case in page["items"]:
            seen += 1
            print(f"{case['opened_at'][:10]}  {case['status']:<22} {case['category']:<22} {case['content_url']}")
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    stats = check(api.get("/api/v1/stats")).json()
    print(f"{seen} case(s) listed; {stats['cases_total']} in all, by status: {stats['cases_by_status']}")


if __name__ == "__main__":
    sys.exit(main())
