"""A VeNCrypt X509Plain client for tests, on Python's ssl (OpenSSL): the
RFB 3.8 handshake up to the SecurityResult, so tests can log in, read the
failure reason, and check what TLS the gateway offers."""
import socket
import ssl
import struct

X509PLAIN = 262


class VencryptError(AssertionError):
    pass


def recv_exact(s, n):
    """n bytes from s (a socket, TLS socket or paramiko channel)."""
    b = bytearray()
    while len(b) < n:
        chunk = s.recv(min(n - len(b), 65536))
        if not chunk:
            raise VencryptError(f"EOF after {len(b)} of {n} bytes: ...{bytes(b[-64:])!r}")
        b += chunk
    return bytes(b)


def to_tls(port, timeout=30, rcvbuf=None):
    """Connects and negotiates up to the start of TLS; returns the socket.
    RCVBUF: the socket's receive buffer, set before connecting (a slow link:
    the kernel then holds little for this viewer)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    v = recv_exact(s, 12)
    if v != b"RFB 003.008\n":
        raise VencryptError(f"version {v!r}")
    s.sendall(b"RFB 003.008\n")
    (n,) = recv_exact(s, 1)
    types = list(recv_exact(s, n))
    if 19 not in types:
        raise VencryptError(f"security types {types}")
    s.sendall(b"\x13")
    if recv_exact(s, 2) != b"\x00\x02":
        raise VencryptError("VeNCrypt version")
    s.sendall(b"\x00\x02")
    if recv_exact(s, 1) != b"\x00":
        raise VencryptError("VeNCrypt version refused")
    (n,) = recv_exact(s, 1)
    subs = list(struct.unpack(f">{n}I", recv_exact(s, 4 * n)))
    if subs != [X509PLAIN]:
        raise VencryptError(f"sub-types {subs}")
    s.sendall(struct.pack(">I", X509PLAIN))
    if recv_exact(s, 1) != b"\x01":
        raise VencryptError("sub-type refused")
    return s


def tls_context(cafile, **kw):
    ctx = ssl.create_default_context(cafile=cafile)
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


def login(port, cafile, user, password, ctx=None, rcvbuf=None):
    """Logs in; returns (ok, reason, tls socket) after the SecurityResult."""
    s = to_tls(port, rcvbuf=rcvbuf)
    t = (ctx or tls_context(cafile)).wrap_socket(s, server_hostname="127.0.0.1")
    u, p = user.encode(), password.encode()
    t.sendall(struct.pack(">II", len(u), len(p)) + u + p)
    (result,) = struct.unpack(">I", recv_exact(t, 4))
    if result == 0:
        return True, "", t
    (n,) = struct.unpack(">I", recv_exact(t, 4))
    return False, recv_exact(t, n).decode(), t


def _keysym(ch):
    return 0xff0d if ch == "\n" else ord(ch)


class Viewer:
    """An RFB viewer on a logged-in VeNCrypt socket: Raw encoding only, so
    the test reads the pixels itself."""

    def __init__(self, t):
        self.t = t
        t.sendall(b"\x01")  # ClientInit: shared
        self.w, self.h = struct.unpack(">HH", recv_exact(t, 4))
        recv_exact(t, 16)
        (n,) = struct.unpack(">I", recv_exact(t, 4))
        self.name = recv_exact(t, n).decode(errors="replace")
        # 32 bpp, depth 24, little-endian true colour, red at 16, blue at 0
        pf = struct.pack(">BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)
        t.sendall(b"\x00\x00\x00\x00" + pf)
        t.sendall(struct.pack(">BxHi", 2, 1, 0))

    def frame(self):
        """A whole-screen update, as RGB bytes."""
        self.t.sendall(struct.pack(">BBHHHH", 3, 0, 0, 0, self.w, self.h))
        fb = bytearray(self.w * self.h * 3)
        got = 0
        while got < self.w * self.h:
            (typ,) = recv_exact(self.t, 1)
            if typ == 2:  # Bell
                continue
            if typ != 0:
                raise VencryptError(f"message type {typ}")
            recv_exact(self.t, 1)
            (nrects,) = struct.unpack(">H", recv_exact(self.t, 2))
            for _ in range(nrects):
                x, y, w, h, enc = struct.unpack(">HHHHi", recv_exact(self.t, 12))
                if enc != 0:
                    raise VencryptError(f"encoding {enc}")
                data = recv_exact(self.t, w * h * 4)
                for row in range(h):
                    for col in range(w):
                        b, g, r = data[(row * w + col) * 4:(row * w + col) * 4 + 3]
                        o = ((y + row) * self.w + x + col) * 3
                        fb[o:o + 3] = bytes((r, g, b))
                got += w * h
        return bytes(fb)

    def type(self, text):
        for ch in text:
            k = _keysym(ch)
            self.t.sendall(struct.pack(">BBxxI", 4, 1, k) + struct.pack(">BBxxI", 4, 0, k))


class StartTls:
    """A local port where TLS tools that know nothing of RFB (openssl
    s_client, sslscan) meet the gateway's TLS: for each connection it
    negotiates RFB and VeNCrypt up to the start of TLS (to_tls), then
    passes bytes both ways untouched, so the tool's handshake is the
    gateway's. Use as a context manager; .port is the local port."""

    def __init__(self, port):
        import threading
        self.target = port
        self.lsock = socket.create_server(("127.0.0.1", 0))
        self.port = self.lsock.getsockname()[1]
        self.errors = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        import threading
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        import selectors
        try:
            s = to_tls(self.target)
        except (OSError, VencryptError) as e:
            self.errors.append(str(e))
            c.close()
            return
        sel = selectors.DefaultSelector()
        sel.register(c, selectors.EVENT_READ, s)
        sel.register(s, selectors.EVENT_READ, c)
        try:
            while True:
                for key, _ in sel.select(60):
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
        except OSError:
            pass
        finally:
            sel.close()
            c.close()
            s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.lsock.close()
