"""The image's start and health check (nowwatching/container.py, healthcheck.py), without
Docker: what they hand gunicorn, and the port several containers share."""

from __future__ import annotations

import os
import socket

import pytest

from nowwatching import container, healthcheck
from tests.servers import free_port


@pytest.fixture
def health_socket(tmp_path, monkeypatch):
    path = str(tmp_path / "health.sock")
    monkeypatch.setattr(container, "HEALTH_SOCKET", path)
    return path


def close(arguments: list[str]) -> None:
    for argument in arguments:
        if argument.startswith("fd://"):
            os.close(int(argument.removeprefix("fd://")))


def test_every_bind_is_handed_to_gunicorn_as_a_bound_socket_with_the_health_socket(
    health_socket,
):
    port = free_port()

    arguments = container.gunicorn_arguments(
        ["--config", "c.py", "--bind", f"127.0.0.1:{port}", "--access-logfile", "-"]
    )
    try:
        binds = [arguments[i + 1] for i, a in enumerate(arguments) if a == "--bind"]
        others = [a for a in arguments if a != "--bind" and a not in binds]
        assert others == ["--config", "c.py", "--access-logfile", "-"]
        assert len(binds) == 2 and all(bind.startswith("fd://") for bind in binds)
        tcp, unix = (socket.socket(fileno=int(b.removeprefix("fd://"))) for b in binds)
        assert tcp.getsockname() == ("127.0.0.1", port)
        assert unix.getsockname() == health_socket
        for listener in (tcp, unix):
            listener.detach()
    finally:
        close(arguments)


def test_two_containers_share_one_port(health_socket):
    """What `--scale web=3` relies on: a second server binds the same address."""
    port = free_port()
    first = container.shared_listener(f"127.0.0.1:{port}")
    try:
        second = container.shared_listener(f"127.0.0.1:{port}")
        os.close(second)
    finally:
        os.close(first)


def test_a_stale_health_socket_of_the_last_run_is_replaced(health_socket):
    with open(health_socket, "w"):
        pass  # left behind by a container that was killed

    descriptor = container.unix_listener(health_socket)

    os.close(descriptor)


@pytest.mark.parametrize(
    ("allowed", "host"),
    [("", "localhost"), ("*", "localhost"), (".example.org, x.example", "example.org"),
     ("*.example.org,me.example", "me.example")],
)  # fmt: skip
def test_the_health_check_asks_with_a_host_the_site_answers_to(monkeypatch, allowed, host):
    monkeypatch.setenv("ALLOWED_HOSTS", allowed)

    assert healthcheck.host() == host


def test_the_health_check_fails_with_one_line_when_nothing_listens(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(healthcheck, "SOCKET", str(tmp_path / "none.sock"))

    assert healthcheck.main() == 1
    assert capsys.readouterr().out.startswith("/healthz: ")
