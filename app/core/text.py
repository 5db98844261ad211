"""Text from outside that the service looks up or compares: no identifier, code, credential or filter it
knows holds a control character, and PostgreSQL's text cannot hold NUL at all. Such text is refused as
input where it arrives, so it never reaches a query (tests/test_hostile_input.py)."""

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# For ``Query(pattern=...)``: the same rule, stated in the contract.
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"


def has_control_character(value: str) -> bool:
    return _CONTROL.search(value) is not None
