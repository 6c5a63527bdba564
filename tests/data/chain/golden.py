#!/usr/bin/env python3
# Recomputes the golden hashes in tests/unit/test_chain.c from chain.h's
# canonical encoding, independently of daemon/chain.c: hash_a, hash_b and
# chain3_hex there must match what this prints.
import hashlib
import struct

MAGIC = b"nwd-audit-v1\n"


def canon(fields):
    # 16 fields, and a 17th (route, since migration 008) only when it is
    # not None.
    assert len(fields) in (16, 17)
    if len(fields) == 17 and fields[16] is None:
        fields = fields[:16]
    out = MAGIC
    for f in fields:
        if f is None:
            out += b"\xff\xff\xff\xff"
        else:
            b = f.encode("utf-8")
            out += struct.pack(">I", len(b)) + b
    return out


def h(prev, fields):
    return hashlib.sha256(prev + canon(fields)).digest()


ZERO = bytes(32)
A = ["nwdd-1", "1", "1700000000123", "alice@north", "deliver",
     "0f8fad5b-d9cb-469f-a165-70867728950e", "YP-0042", "3", "bob@south",
     "name,dob", "", "share-health", "a1b2c3", "Zo\u00eb's plan",
     "10.0.0.7:4433", "s-17"]
B = ["nwdd-1", "2", "1700000000456", "carol@east", "refuse", None, None,
     None, None, "", "", None, "a1b2c3", "no rule matched", None, None]
R2 = ["nwdd-1", "2", "1700000000200", "alice@north", "receive",
      "0f8fad5b-d9cb-469f-a165-70867728950e", "YP-0042", "3", "bob@south",
      "name,dob", "address", "share-health", "a1b2c3", "", "10.0.0.8:4433",
      "s-18"]
R3 = ["nwdd-1", "3", "1700000000300", "dave@west", "refuse", None,
      "YP-0042", None, None, "", "", None, "a1b2c3", "no rule matched",
      "10.0.0.9:4433", "s-19"]

# Row A as a delivery decision with its route.
AR = A + ["live,queued"]

print("hash_a", h(ZERO, A).hex())
print("hash_a with route None", h(ZERO, A + [None]).hex())
print("hash_ar", h(ZERO, AR).hex())
print("hash_b", h(bytes(range(1, 33)), B).hex())
h1 = h(ZERO, A)
h2 = h(h1, R2)
h3 = h(h2, R3)
print("chain3_hex", h1.hex(), h2.hex(), h3.hex())
