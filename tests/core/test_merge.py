"""Deferred writes sent as CTEs of the next statement (app/core/adb.py, ``merge``): the text a PostgreSQL
transaction on the async driver sends. What must hold: PostgreSQL accepts data-modifying CTEs only at the
top level, so a deferred statement's own CTEs are lifted; parameters never collide; and any text this cannot
read safely is refused (``None``: the caller sends the statements one by one)."""

from app.core.adb import merge, split_with


def test_deferred_writes_become_top_level_ctes_with_renamed_parameters() -> None:
    history = "INSERT INTO h (a) VALUES (%(a)s) RETURNING h.id"
    feed = "\nWITH counter AS (\n  UPDATE c SET n = n + %(n)s RETURNING n\n)\nINSERT INTO f SELECT n FROM counter"
    audit = "WITH row_ AS \n(INSERT INTO e (x) VALUES (%(x)s) RETURNING e.id) SELECT row_.id FROM row_"
    merged = merge((history, feed), audit)
    assert merged == (
        "WITH deferred_0 AS (INSERT INTO h (a) VALUES (%(deferred_0_a)s) RETURNING h.id), "
        "counter AS (\n  UPDATE c SET n = n + %(deferred_1_n)s RETURNING n\n), "
        "deferred_1 AS (INSERT INTO f SELECT n FROM counter), "
        "row_ AS \n(INSERT INTO e (x) VALUES (%(x)s) RETURNING e.id) SELECT row_.id FROM row_"
    )
    assert merge((history,), "SELECT 1") == (
        "WITH deferred_0 AS (INSERT INTO h (a) VALUES (%(deferred_0_a)s) RETURNING h.id) SELECT 1"
    )


def test_texts_it_cannot_read_safely_are_refused() -> None:
    insert = "INSERT INTO h (a) VALUES (%(a)s)"
    assert merge(("WITH t (a) AS (SELECT 1) INSERT INTO h SELECT a FROM t",), "SELECT 1") is None  # column list
    assert merge(("WITH RECURSIVE t AS (SELECT 1) INSERT INTO h SELECT 1",), "SELECT 1") is None
    clash = "WITH counter AS (UPDATE c SET n = n + 1 RETURNING n) INSERT INTO f SELECT n FROM counter"
    assert merge((clash, clash), "SELECT 1") is None  # two CTEs named counter
    assert merge((insert,), "WITH counter AS (SELECT 1) SELECT 2") is not None
    assert split_with("SELECT '(' FROM t") == ((), "SELECT '(' FROM t")  # a literal parenthesis is text
    assert split_with("WITH a AS (SELECT ')') SELECT 1") == ((("a", "a AS (SELECT ')')"),), "SELECT 1")
