"""The gateway's side of the VMM control channel, for tests: encodes and
decodes the messages documented in protocols/ctl.h."""
import socket
import struct

HELLO, ERROR, CONSOLE_OUT, CONSOLE_IN, CREDIT, LOST, BREAK = 0x01, 0x02, 0x10, 0x11, 0x12, 0x13, 0x14
POWER, STATE = 0x20, 0x21
ROLE_GATEWAY, ROLE_VMM = 1, 2
PAUSE, RESUME, RESET, POWEROFF = 1, 2, 3, 4
STATES = {1: "running", 2: "paused", 3: "halted", 4: "rebooting", 5: "crashed", 6: "stopped"}
TRIPLE_FAULT, GUEST_PANIC = 4, 10  # enum ctl_reason


def s16(text):
    b = text.encode()
    return struct.pack("<H", len(b)) + b


class CtlPeer:
    def __init__(self):
        self.sock, self.child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.console = bytearray()
        self.states = []
        self.errors = []
        self.lost = 0
        self.in_credit = 0  # console input the VMM has room for

    def send(self, typ, payload=b"", seq=0):
        self.sock.send(struct.pack("<HHI", typ, 0, seq) + payload)

    def hello(self, name):
        self.send(HELLO, struct.pack("<HHI", 1, ROLE_GATEWAY, 0) + s16(name))

    def recv(self, timeout=30):
        self.sock.settimeout(timeout)
        pkt = self.sock.recv(70000)
        if not pkt:
            return None
        typ, flags, seq = struct.unpack_from("<HHI", pkt)
        body = pkt[8:]
        if typ == CONSOLE_OUT:
            self.console += body
        elif typ == STATE:
            st, reason, rip, cpu = struct.unpack_from("<IIQI", body)
            (n,) = struct.unpack_from("<H", body, 20)
            self.states.append((STATES.get(st, st), reason, body[22:22 + n].decode()))
        elif typ == ERROR:
            code, n = struct.unpack_from("<IH", body)
            self.errors.append((code, body[6:6 + n].decode()))
        elif typ == CREDIT:
            self.in_credit += struct.unpack("<I", body)[0]
        elif typ == LOST:
            self.lost += struct.unpack("<Q", body)[0]
        return typ, seq, body
