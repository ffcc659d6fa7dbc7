"""A 413 that leaves the body unread closes the connection and says so (issue 12, point 7).

The server used to answer with a keep-alive response, then sit reading the refused
body (or drop the connection), so a client reusing the connection hung or failed.
"""

import socket
from urllib.parse import urlsplit


def raw_exchange(live_server, head: str, body: bytes) -> bytes:
    """Send ``head`` and ``body`` on one connection; read until the server closes it."""
    address = urlsplit(live_server.url)
    answer = b""
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(head.encode() + body)
        while chunk := sock.recv(65536):  # b"" once the server has closed its side
            answer += chunk
    return answer


def test_a_413_for_a_declared_body_over_the_limit_says_connection_close(live_server, api_key):
    head = (
        "POST /openai/v1/images/edits HTTP/1.1\r\n"
        f"Host: {urlsplit(live_server.url).netloc}\r\n"
        f"Authorization: Bearer {api_key}\r\n"
        "Content-Type: multipart/form-data; boundary=xyz\r\n"
        f"Content-Length: {10 * 1024**3}\r\n\r\n"
    )

    answer = raw_exchange(live_server, head, b"--xyz\r\n" + b"\0" * 65536).decode("latin-1")

    headers, _, body = answer.partition("\r\n\r\n")
    assert headers.startswith("HTTP/1.1 413")
    assert "connection: close" in headers.lower()
    assert '"code": "request_too_large"' in body


def test_a_413_for_a_too_large_json_body_says_connection_close(live_server, api_key, settings):
    size = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1
    head = (
        "POST /openai/v1/images/generations HTTP/1.1\r\n"
        f"Host: {urlsplit(live_server.url).netloc}\r\n"
        f"Authorization: Bearer {api_key}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {size}\r\n\r\n"
    )

    answer = raw_exchange(live_server, head, b"{").decode("latin-1")

    assert answer.startswith("HTTP/1.1 413")
    assert "connection: close" in answer.partition("\r\n\r\n")[0].lower()
