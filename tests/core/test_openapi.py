import json
from pathlib import Path

from app.openapi_export import openapi_document

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"


def test_committed_contract_matches_the_app() -> None:
    assert json.loads(COMMITTED.read_text()) == json.loads(openapi_document()), (
        "openapi/openapi.json drifted from the app: run `make openapi` and review the diff"
    )


def test_operation_ids_are_stable_names() -> None:
    document = json.loads(openapi_document())
    ids = [op["operationId"] for path in document["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert all(i.replace("_", "").isalnum() and i.islower() for i in ids)
    assert document["openapi"].startswith("3.1")
