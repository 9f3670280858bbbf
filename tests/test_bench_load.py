"""The load test's pure parts: response classification against the real gate message, percentiles, tables."""

from __future__ import annotations

import asyncio
import itertools
import json
import time

import httpx
import pytest

from faces.errors import api_body
from faces.errors import status_of as _status
from eval.bench_load import Cell, Sample, check_host, classify, client_loop, comparison, table
from policyqa.errors import BusyError
from qa.gate import GenerationGate


def _gate_busy_body() -> dict:
    """The API body of the error a full GenerationGate really raises (so a change breaks this test, not the bench)."""
    gate = GenerationGate(limit=1, queue=0)
    with gate.slot(), pytest.raises(BusyError) as caught:
        with gate.slot():
            pass
    assert _status(caught.value) == 503  # how the API answers it
    return api_body(caught.value)


def test_busy_is_only_the_gates_503():
    assert classify(503, _gate_busy_body(), "llama") == ("busy", "", False)
    assert classify(503, {"error": "upstream unavailable"}, "llama") == ("error", "HTTP 503", False)
    assert classify(503, None, "search") == ("error", "HTTP 503", False)


@pytest.mark.parametrize("status, outcome", [(400, "client"), (404, "client"), (422, "client"), (500, "error"),
                                             (502, "error")])
def test_other_statuses_are_client_errors_or_errors(status, outcome):
    assert classify(status, {"error": "x"}, "search") == (outcome, f"HTTP {status}", False)


def test_ok_llama_answers_count_as_generated_only_when_the_model_wrote_them():
    assert classify(200, {"checked": {"status": "passed", "reasons": []}}, "llama") == ("ok", "", True)
    assert classify(200, {"checked": {"status": "dropped", "reasons": ["x"]}}, "llama") == ("ok", "", True)
    assert classify(200, {"checked": {"status": "not_needed", "reasons": []}, "refused": True}, "llama") == ("ok", "", False)
    assert classify(200, {"checked": {"status": "passed", "reasons": []}}, "extractive") == ("ok", "", False)
    failed = {"checked": {"status": "fallback", "reasons": ["llama failed (x)"]}, "notes": ["generator failed: x"]}
    assert classify(200, failed, "llama") == ("error", "generator failed", False)


def test_only_loopback_hosts_are_allowed():
    assert check_host("127.0.0.1") == "127.0.0.1"
    assert check_host("localhost") == "127.0.0.1"
    for host in ("0.0.0.0", "192.168.1.10", "example.com", "::"):
        with pytest.raises(SystemExit, match="only talks to 127.0.0.1"):
            check_host(host)


def _cell(name: str = "search", kind: str = "search", clients: int = 8) -> Cell:
    samples = [Sample("ok", ms) for ms in (10.0, 20.0, 30.0, 50.0)]
    samples += [Sample("busy", 5.0), Sample("error", 30000.0, "timeout"), Sample("client", 3.0, "HTTP 422")]
    return Cell(name, kind, clients, samples, seconds=2.0)


def test_cell_percentiles_interpolate_over_ok_latencies_only():
    cell = _cell()
    assert (cell.ms(50), cell.ms(95), cell.ms(99)) == ("25", "47", "49")  # 20+0.5*10, 30+0.85*20, 30+0.97*20
    assert cell.ms(50, "busy") == "5"
    assert Cell("x", "search", 1).ms(50) == "-"
    assert (cell.count("ok"), cell.count("busy"), cell.count("error"), cell.count("client")) == (4, 1, 1, 1)


def test_table_rows_carry_counts_rate_percentiles_and_failure_reasons():
    llama = Cell("llama", "llama", 1, [Sample("ok", 100.0, generated=True), Sample("ok", 40.0)], seconds=4.0)
    lines = table([_cell(), llama]).splitlines()
    assert len(lines) == 4 and lines[1] == "|" + "---|" * 15
    assert lines[0].count("|") == lines[2].count("|") == lines[3].count("|") == 16
    assert lines[2] == "| search | 8 | 7 | 4 | 1 | 1 | 1 | 2.0 | 25 | 47 | 49 | 5 | - | - | timeout ×1, HTTP 422 ×1 |"
    assert lines[3] == "| llama | 1 | 2 | 2 | 0 | 0 | 0 | 0.5 | 70 | 97 | 99 | - | 1 | 100 | - |"


def test_comparison_puts_search_alone_beside_search_under_llama_load():
    alone, mixed = _cell(), _cell("search (+8 llama)")
    mixed.samples = [Sample("ok", 100.0), Sample("ok", 200.0)]
    rows = comparison([alone, Cell("search", "search", 1), mixed]).splitlines()
    assert rows[2] == "| search | 25 / 47 | 150 / 195 |"
    assert rows[3] == "| extractive | - | - |"


def _loop(handler, seconds: float, pause: float) -> Cell:
    """Run one llama client against httpx's MockTransport (a small real transport) for `seconds`."""
    async def run() -> Cell:
        cell = Cell("llama", "llama", 1)
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://127.0.0.1") as http:
            await client_loop(http, "llama", ["q1", "q2"], itertools.count(), time.perf_counter() + seconds, 1.0,
                              pause, cell)
        return cell
    return asyncio.run(run())


def test_client_loop_pauses_after_busy_instead_of_storming():
    seen: list[dict] = []

    def busy(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(503, json=_gate_busy_body())

    cell = _loop(busy, 0.5, 0.2)
    assert 1 <= len(seen) <= 3  # at 0, 0.2, 0.4 s at most (a slow machine sends fewer), never a storm
    assert seen[:2] == [{"question": q, "generator": "llama"} for q in ("q1", "q2")][: len(seen)]
    assert {s.outcome for s in cell.samples} == {"busy"} and len(cell.samples) == len(seen)


def test_client_loop_sends_at_least_once_and_counts_timeouts_as_errors():
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("too slow", request=request)

    cell = _loop(slow, 0.0, 0.2)
    assert [(s.outcome, s.reason) for s in cell.samples] == [("error", "timeout")]
