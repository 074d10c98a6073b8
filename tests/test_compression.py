"""Text answers are compressed for clients that accept it, and revalidation still works: the
ETag is the uncompressed body's (ConditionalGetMiddleware inside GZipMiddleware), so a client
that sends it back gets a 304 whether it took the answer compressed or not."""

import gzip

import pytest
from django.middleware import gzip as django_gzip

from nowwatching import compression

# The page, its live parts, the JSON and the card: every kind of text answer.
TEXT_ANSWERS = ["/", "/live", "/api/watching", "/api/profile", "/api/watching.svg", "/api-test"]


@pytest.fixture
def demo(settings):
    settings.DEMO_MODE = True  # every answer is there without an upstream


@pytest.mark.parametrize("path", TEXT_ANSWERS)
def test_a_text_answer_is_gzipped_when_the_client_accepts_it(client, demo, path):
    plain = client.get(path)
    packed = client.get(path, headers={"Accept-Encoding": "gzip, deflate, br"})

    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain
    assert packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"]
    assert int(packed["Content-Length"]) == len(packed.content)
    unpacked = gzip.decompress(packed.content)
    assert len(packed.content) < len(unpacked)
    if path not in ("/api/watching", "/live"):  # those two move with the clock
        assert unpacked == plain.content


@pytest.mark.parametrize("path", TEXT_ANSWERS)
def test_a_compressed_answers_etag_revalidates_either_way(client, demo, path):
    packed = client.get(path, headers={"Accept-Encoding": "gzip"})
    etag = packed["ETag"]

    for encoding in ("gzip", "identity"):
        again = client.get(path, headers={"Accept-Encoding": encoding, "If-None-Match": etag})
        if again.status_code == 200:  # /api/watching moves every second while a film plays
            assert path in ("/api/watching", "/live")
            continue
        assert again.status_code == 304
        assert again.content == b""


def test_head_agrees_with_get_when_compressed(client, demo):
    get = client.get("/api/profile", headers={"Accept-Encoding": "gzip"})
    head = client.head("/api/profile", headers={"Accept-Encoding": "gzip"})

    assert head["ETag"] == get["ETag"]
    assert head["Content-Encoding"] == "gzip"


def test_a_tiny_or_binary_answer_is_left_alone(client, demo):
    health = client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    icon = client.get("/favicon.ico", headers={"Accept-Encoding": "gzip"})

    assert "Content-Encoding" not in health  # under 200 bytes: not worth it
    assert "Content-Encoding" not in icon  # a PNG is compressed already


def test_the_same_answer_is_compressed_once_per_process(client, demo, monkeypatch):
    monkeypatch.setattr(compression, "_kept", {})
    compressed, compress = [], django_gzip.compress_string

    def counted(*args, **kwargs):
        compressed.append(1)
        return compress(*args, **kwargs)

    monkeypatch.setattr(django_gzip, "compress_string", counted)
    plain = client.get("/api/profile")
    packed = [client.get("/api/profile", headers={"Accept-Encoding": "gzip"}) for _ in range(3)]
    other = client.get("/api-test", headers={"Accept-Encoding": "gzip"})

    assert len(compressed) == 2  # /api/profile once, /api-test once
    assert {answer.content for answer in packed} == {packed[0].content}
    assert gzip.decompress(packed[-1].content) == plain.content
    assert gzip.decompress(other.content) == client.get("/api-test").content
    for answer in packed:
        assert answer["Content-Encoding"] == "gzip" and "Accept-Encoding" in answer["Vary"]
        assert answer["ETag"] == "W/" + plain["ETag"]
        assert int(answer["Content-Length"]) == len(answer.content)


def test_the_compressed_bodies_kept_are_few(client, demo, monkeypatch):
    monkeypatch.setattr(compression, "_kept", {})
    monkeypatch.setattr(compression, "KEEP", 2)
    for path in ("/", "/api/profile", "/api-test"):
        client.get(path, headers={"Accept-Encoding": "gzip"})

    assert len(compression._kept) == 2
