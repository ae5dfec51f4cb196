"""Finding a reply's ``data`` list from the file's ends (peeringdb/envelope.py): sent
bytes, and the list DuckDB is handed (or None: the reply is read whole)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from nornir_peering.peeringdb.envelope import TAIL_WINDOW, WINDOW, copy_span, data_span
from nornir_peering.peeringdb.load import ReplyError, ReplyParser

LIST = '[{"id": 1, "name": "A ] B"}, {"id": 2, "name": "x\\"]}"}]'
CASES = [
    # PeeringDB's renderer: data, then meta; the cache files: data only; others: meta first
    {"sent": f'{{"data": {LIST}, "meta": {{}}}}', "received": (LIST, {})},
    {"sent": f'{{"data":{LIST}}}\n', "received": (LIST, None)},
    {"sent": f'{{"meta": {{"a": [1, "]"]}}, "data": {LIST}}}', "received": (LIST, {"a": [1, "]"]})},
    {"sent": f' {{ "meta" : {{}} ,\n "data" : {LIST} ,\n "x": "]}}"\n}}\n', "received": (LIST, {})},
    {"sent": '{"data": []}', "received": ("[]", None)},
    # a later member that ends in a list of its own
    {"sent": f'{{"data": {LIST}, "more": [1, [2]]}}', "received": (LIST, None)},
    # not that shape: read whole, where DuckDB says what is wrong
    {"sent": '{"meta": {"error": "Invalid API key"}}', "received": None},
    {"sent": f'{{"data": {LIST}', "received": None},  # cut off
    {"sent": f"{LIST}", "received": None},
    {"sent": '{"data": {"id": 1}}', "received": None},
    {"sent": '{"data": [1], "meta": {}} trailing', "received": None},
    {"sent": "", "received": None},
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case["sent"][:30])
def test_the_data_list_is_found_from_the_ends(case: dict[str, object], tmp_path: Path) -> None:
    reply = tmp_path / "reply.json"
    reply.write_text(str(case["sent"]))
    span = data_span(reply)
    if case["received"] is None:
        assert span is None
        return
    assert span is not None
    listed, meta = case["received"]  # type: ignore[misc]
    out = tmp_path / "list.json"
    copy_span(reply, span, out)
    assert out.read_text() == listed and span.meta == meta


def test_members_longer_than_the_window_are_read_whole(tmp_path: Path) -> None:
    reply = tmp_path / "reply.json"
    reply.write_text('{"meta": {"note": "' + "x" * WINDOW + '"}, "data": [{"id": 1}]}')
    assert data_span(reply) is None
    reply.write_text('{"data": [{"id": 1}], "meta": {"note": "' + "é" * TAIL_WINDOW + '"}}')
    assert data_span(reply) is None


def test_a_long_list_with_characters_cut_at_the_window(tmp_path: Path) -> None:
    """Multi-byte characters across the head and tail windows: offsets stay exact."""
    rows = ",".join(f'{{"id": {i}, "name": "Ünïcødé ✓ {i}"}}' for i in range(60_000))
    reply = tmp_path / "reply.json"
    reply.write_text(f'{{"meta": {{"é": "✓"}}, "data": [{rows}], "x": "✓"}}', encoding="utf-8")
    assert reply.stat().st_size > WINDOW + TAIL_WINDOW
    span = data_span(reply)
    assert span is not None and span.meta == {"é": "✓"}
    out = tmp_path / "list.json"
    copy_span(reply, span, out)
    assert out.read_text(encoding="utf-8") == f"[{rows}]"


def test_a_list_broken_in_the_middle_is_read_whole_and_refused(tmp_path: Path) -> None:
    """Its ends look right, DuckDB refuses the list, and the whole-document read gives the
    error; a good reply of either shape gives the same Parquet rows."""
    parser = ReplyParser()
    try:
        broken = tmp_path / "broken.json"
        broken.write_text('{"data": [{"id": 1, "status": "ok"}, {"id": ], "meta": {}}')
        with pytest.raises(ReplyError, match="JSON"):
            parser.parse("ix", broken)
        for name, text in (
            ("first", '{"data": [{"id": 1, "status": "ok", "name": "A"}], "meta": {}}'),
            ("last", '{"meta": {}, "data": [{"id": 1, "status": "ok", "name": "A"}]}'),
        ):
            reply = tmp_path / f"{name}.json"
            reply.write_text(text)
            parsed = parser.parse("ix", reply)
            assert parsed.rows == 1
            [(row_id, row_name)] = duckdb.sql(
                f"SELECT id, name FROM read_parquet('{parsed.parquet}')"
            ).fetchall()
            assert (row_id, row_name) == (1, "A")
            assert not reply.with_suffix(".data.json").exists()
    finally:
        parser.close()
