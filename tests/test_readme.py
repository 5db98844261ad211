"""The Indonesian README gives the same two quick-start commands as the English one, and both name only
make targets that exist."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quick_start(readme: str) -> list[str]:
    block = re.search(r"```sh\n(.*?)```", readme, flags=re.S)
    assert block is not None
    return [line.split("#")[0].strip() for line in block[1].splitlines() if line.strip()]


def test_both_readmes_give_the_same_two_commands() -> None:
    english = quick_start((ROOT / "README.md").read_text())
    indonesian = quick_start((ROOT / "README.id.md").read_text())
    assert english == indonesian == ["make run", "make test"]
    targets = set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), flags=re.M))
    assert {"run", "test"} <= targets
