"""Text from outside that the service looks up or compares: no identifier, code, credential or filter it
knows holds a control character, and PostgreSQL's text cannot hold NUL at all. Such text is refused as
input where it arrives, so it never reaches a query; what the audit log records of a refused request is
made storable (``recordable``). Tests: tests/test_hostile_input.py."""

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# For ``Query(pattern=...)``: the same rule, stated in the contract.
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"


def has_control_character(value: str) -> bool:
    return _CONTROL.search(value) is not None


_UNRECORDABLE = re.compile(r"[\x00-\x1f\x7f%]")


def recordable(value: str) -> str:
    """Outside text as an audit row records it: each control character, and the percent sign itself,
    percent-encoded as in a URL (NUL is ``%00``, ``%`` is ``%25``); everything else as it came. The row can
    then be stored (PostgreSQL's text cannot hold NUL, and a row that fails to store is a request without
    its record), and two requests that differ still read differently. The ids of a well-formed request hold
    neither, so their rows are unchanged."""
    if _UNRECORDABLE.search(value) is None:
        return value
    return _UNRECORDABLE.sub(lambda found: f"%{ord(found[0]):02X}", value)
