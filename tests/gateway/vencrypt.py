"""A VeNCrypt X509Plain client for tests, on Python's ssl (OpenSSL): the
RFB 3.8 handshake up to the SecurityResult, so tests can log in, read the
failure reason, and check what TLS the gateway offers."""
import socket
import ssl
import struct

X509PLAIN = 262


class VencryptError(AssertionError):
    pass


def _recv(s, n):
    b = b""
    while len(b) < n:
        chunk = s.recv(n - len(b))
        if not chunk:
            raise VencryptError(f"EOF after {b!r}")
        b += chunk
    return b


def to_tls(port, timeout=30):
    """Connects and negotiates up to the start of TLS; returns the socket."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    v = _recv(s, 12)
    if v != b"RFB 003.008\n":
        raise VencryptError(f"version {v!r}")
    s.sendall(b"RFB 003.008\n")
    (n,) = _recv(s, 1)
    types = list(_recv(s, n))
    if 19 not in types:
        raise VencryptError(f"security types {types}")
    s.sendall(b"\x13")
    if _recv(s, 2) != b"\x00\x02":
        raise VencryptError("VeNCrypt version")
    s.sendall(b"\x00\x02")
    if _recv(s, 1) != b"\x00":
        raise VencryptError("VeNCrypt version refused")
    (n,) = _recv(s, 1)
    subs = list(struct.unpack(f">{n}I", _recv(s, 4 * n)))
    if subs != [X509PLAIN]:
        raise VencryptError(f"sub-types {subs}")
    s.sendall(struct.pack(">I", X509PLAIN))
    if _recv(s, 1) != b"\x01":
        raise VencryptError("sub-type refused")
    return s


def tls_context(cafile, **kw):
    ctx = ssl.create_default_context(cafile=cafile)
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


def login(port, cafile, user, password, ctx=None):
    """Logs in; returns (ok, reason, tls socket) after the SecurityResult."""
    s = to_tls(port)
    t = (ctx or tls_context(cafile)).wrap_socket(s, server_hostname="127.0.0.1")
    u, p = user.encode(), password.encode()
    t.sendall(struct.pack(">II", len(u), len(p)) + u + p)
    (result,) = struct.unpack(">I", _recv(t, 4))
    if result == 0:
        return True, "", t
    (n,) = struct.unpack(">I", _recv(t, 4))
    return False, _recv(t, n).decode(), t
