"""Message framing and JSON-RPC encoding of the Stratum gateway."""

from __future__ import annotations

import json

import pytest

from sources.stratum import protocol as p


def test_lines_split_across_reads() -> None:
    f = p.LineFramer(64)
    assert f.feed(b'{"id":1,"method":"a"}\n{"id":2,') == [b'{"id":1,"method":"a"}']
    assert f.feed(b'"method":"b"}\r\n\n  \n{"id"') == [b'{"id":2,"method":"b"}']
    assert f.feed(b":3}\n") == [b'{"id":3}']


def test_oversize_line_and_tail_rejected() -> None:
    f = p.LineFramer(16)
    with pytest.raises(p.LineTooLong):
        f.feed(b"x" * 17)  # an unterminated tail already too long
    f = p.LineFramer(16)
    with pytest.raises(p.LineTooLong):
        f.feed(b"x" * 20 + b"\nok\n")
    f = p.LineFramer(16)
    assert f.feed(b"x" * 16 + b"\n") == [b"x" * 16]


def test_decode_request() -> None:
    req = p.decode_request(b'{"id": "a1", "method": "mining.submit", "params": ["u", "j"]}')
    assert (req.id, req.method, req.params) == ("a1", "mining.submit", ["u", "j"])
    for bad in (b"{nope", b"[1,2]", b'{"id": 1}', b'"text"', b'{"method": 5}'):
        with pytest.raises(p.MalformedMessage):
            p.decode_request(bad)


def test_encodings() -> None:
    assert json.loads(p.result(3, True)) == {"id": 3, "result": True, "error": None}
    assert json.loads(p.accepted("x")) == {"id": "x", "result": True, "error": None}
    err = json.loads(p.error(4, p.StratumError.DUPLICATE, "Duplicate share"))
    assert err == {"id": 4, "result": None, "error": [22, "Duplicate share", None]}
    note = json.loads(p.notification("mining.set_difficulty", [0.001]))
    assert note == {"id": None, "method": "mining.set_difficulty", "params": [0.001]}
    assert p.result(1, True).endswith(b"\n")
    codes = {e.name: int(e) for e in p.StratumError}
    assert codes == {"OTHER": 20, "JOB_NOT_FOUND": 21, "DUPLICATE": 22, "LOW_DIFFICULTY": 23,
                     "UNAUTHORIZED": 24, "NOT_SUBSCRIBED": 25}  # fmt: skip


def test_framer_reports_an_unfinished_line_and_garbage_is_refused_before_decoding() -> None:
    f = p.LineFramer(64)
    assert f.feed(b'{"id":1') == [] and f.tail == 7
    assert f.feed(b',"method":"a"}\n') == [b'{"id":1,"method":"a"}'] and f.tail == 0
    with pytest.raises(p.MalformedMessage, match="not a JSON object"):
        p.decode_request(b"\x00\xff GET / HTTP/1.1")
