"""HTTP POST through a SOCKS5 proxy with the host name resolved by the proxy (as curl's
--socks5-hostname), which is how a node reaches a peer's .onion address through its Tor."""
import http.client
import socket
import urllib.parse

# SOCKS5 reply codes (RFC 1928), and Tor's own for onion services (tor's socks-extensions).
REPLIES = {1: "general failure", 2: "not allowed by the ruleset", 3: "network unreachable",
           4: "host unreachable", 5: "connection refused", 6: "TTL expired", 7: "command not supported",
           8: "address type not supported", 0xF0: "onion service descriptor not found",
           0xF1: "onion service descriptor is invalid", 0xF2: "onion service introduction failed",
           0xF3: "onion service rendezvous failed", 0xF4: "onion service needs client authorization",
           0xF5: "onion service client authorization is wrong", 0xF6: "the onion address is invalid",
           0xF7: "onion service introduction timed out"}


def _recv(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise OSError("the SOCKS proxy closed the connection")
        data += chunk
    return data


def connect(proxy, host, port, timeout):
    """A socket to host:port through the SOCKS5 proxy "ip:port" (no authentication)."""
    phost, _, pport = proxy.rpartition(":")
    sock = socket.create_connection((phost, int(pport)), timeout=timeout)
    try:
        sock.sendall(b"\x05\x01\x00")
        if _recv(sock, 2) != b"\x05\x00":
            raise OSError(f"the SOCKS proxy {proxy} refused the no-authentication method")
        name = host.encode("ascii")
        if len(name) > 255:
            raise OSError("host name too long for SOCKS5")
        sock.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + int(port).to_bytes(2, "big"))
        head = _recv(sock, 4)
        if head[0] != 5 or head[1] != 0:
            raise OSError(f"SOCKS5: {REPLIES.get(head[1], 'reply %d' % head[1])} ({host}:{port})")
        skip = {1: 4, 4: 16}.get(head[3])
        if skip is None:
            skip = _recv(sock, 1)[0]
        _recv(sock, skip + 2)
        return sock
    except BaseException:
        sock.close()
        raise


def post(proxy, url, body, headers, timeout):
    """(status, body bytes) of a POST to url through the proxy."""
    u = urllib.parse.urlsplit(url)
    if u.scheme != "http" or not u.hostname:
        raise OSError(f"only http:// URLs go through SOCKS here, not {url!r}")
    port = u.port or 80
    conn = http.client.HTTPConnection(u.hostname, port, timeout=timeout)
    conn.sock = connect(proxy, u.hostname, port, timeout)
    try:
        conn.request("POST", u.path or "/", body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()
