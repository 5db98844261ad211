"""Who may see or change what, and when: the one access policy (see ``policy.py``)."""
