"""`deepdreamer serve`'s flags: loopback by default, a warning for any other host, one-line
errors for bad values."""

from __future__ import annotations

from click.testing import CliRunner

import deepdreamer.server.run as run_module
from deepdreamer.cli import cli
from deepdreamer.server.run import page_url


def _serve(monkeypatch, *args):
    started = []
    monkeypatch.setattr(run_module, "run_server", lambda config, announce: started.append(config))
    return CliRunner().invoke(cli, ["serve", *args]), started


def test_loopback_by_default_without_a_warning(monkeypatch, tmp_path):
    result, started = _serve(monkeypatch, "--results", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert started[0].host == "127.0.0.1" and started[0].queue == 8 and started[0].workers == 1
    assert "warning" not in result.stderr


def test_another_host_is_served_with_a_one_line_warning(monkeypatch, tmp_path):
    result, started = _serve(monkeypatch, "--host", "0.0.0.0", "--port", "8123", "--results", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert started[0].host == "0.0.0.0"
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == ["warning: listening on 0.0.0.0: anyone who can reach this address can use the "
                        "server and its gallery"]
    assert page_url(started[0]) == "http://127.0.0.1:8123/"


def test_bad_values_get_one_line(monkeypatch, tmp_path):
    for args, line in [(["--queue", "0"], "error: queue must be between 1 and 1000, got 0"),
                       (["--workers", "9", "--queue", "4"], "error: workers (9) cannot exceed the queue (4)"),
                       (["--port", "70000"], "error: port must be between 1 and 65535, got 70000")]:
        result, started = _serve(monkeypatch, *args, "--results", str(tmp_path))
        assert result.exit_code == 1 and result.stderr.strip() == line and not started
