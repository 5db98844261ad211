"""``python -m app.openapi_export``: the committed contract, generated from the app (stable key order)."""

import json
import sys

from app.main import create_app


def openapi_document() -> str:
    return json.dumps(create_app().openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(openapi_document())
