"""The contract's links lead to real objects, deterministically: the link's parameters, read from a real
answer by the contract's own runtime expressions, name an object the linked operation answers 200 for. (The
stateful test walks the links at random; which links a bounded random walk takes depends on chance.)"""

import json
from pathlib import Path
from typing import Any

from tests.builders import World, push, report_payload

CONTRACT = json.loads((Path(__file__).parents[2] / "openapi" / "openapi.json").read_text())


def operation(operation_id: str) -> tuple[str, str, dict[str, Any]]:
    for path, methods in CONTRACT["paths"].items():
        for method, op in methods.items():
            if op.get("operationId") == operation_id:
                return path, method, op
    raise AssertionError(f"no operation {operation_id}")


def follow(world: World, source: str, status: str, link: str, answer: dict[str, Any], agency: str) -> Any:
    definition = operation(source)[2]["responses"][status]["links"][link]
    path, method, _ = operation(definition["operationId"])
    for name, expression in definition["parameters"].items():
        assert expression.startswith("$response.body#/")
        value: Any = answer
        for key in expression.removeprefix("$response.body#/").split("/"):
            value = value[key]
        path = path.replace("{" + name + "}", str(value))
    return world.client.request(method.upper(), path, headers=world.auth(agency))


def test_a_pushed_reports_links_reach_its_report_and_its_case(world: World) -> None:
    pushed = push(world, report_payload("LINK-1"))
    assert pushed.status_code == 201
    report = follow(world, "submit_report", "201", "GetReport", pushed.json(), "APTIKA")
    assert report.status_code == 200 and report.json()["id"] == pushed.json()["id"]
    case = follow(world, "submit_report", "201", "GetCase", pushed.json(), "KASN")
    assert case.status_code == 200 and case.json()["id"] == pushed.json()["case"]["id"]


def test_an_uploads_link_downloads_it(world: World) -> None:
    content = b"%PDF-1.4 link test"
    headers = {**world.auth("APTIKA"), "Content-Type": "application/pdf"}
    uploaded = world.client.post("/api/v1/evidence", content=content, headers=headers)
    assert uploaded.status_code == 201, uploaded.text
    downloaded = follow(world, "upload_evidence", "201", "DownloadEvidence", uploaded.json(), "APTIKA")
    assert downloaded.status_code == 200 and downloaded.content == content
