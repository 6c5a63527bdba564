#!/usr/bin/env python3
# Recomputes the golden hashes in tests/unit/test_chain.c from chain.h's
# canonical encoding, independently of daemon/chain.c: hash_a, hash_b and
# chain3_hex there must match what this prints.
import hashlib
import struct

MAGIC = b"nwd-audit-v1\n"


def put(fields):
    out = b""
    for f in fields:
        if f is None:
            out += b"\xff\xff\xff\xff"
        else:
            b = f.encode("utf-8")
            out += struct.pack(">I", len(b)) + b
    return out


def canon(fields):
    # 16 fields, then the optional ones, route (since migration 008) and
    # message_hash (since 010), up to the last that is not None.
    assert 16 <= len(fields) <= 18
    fields = list(fields)
    while len(fields) > 16 and fields[-1] is None:
        fields.pop()
    return MAGIC + put(fields)


def message_hash(fields, allocs):
    # 13 fields of the message row, then 5 per allocation row.
    assert len(fields) == 13
    out = b"nwd-message-v1\n" + put(fields)
    for a in allocs:
        assert len(a) == 5
        out += put(a)
    return hashlib.sha256(out).digest()


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

# A message row and its allocation, as the store writes them.
BODY = bytes(range(40))
M = ["0f8fad5b-d9cb-469f-a165-70867728950e", "14", "YP-0042", "sw-ben",
     "norfolk-cs", "1", "2", "3", "1700000000123", "a1b2c3", "nwdd-1",
     "0123456789abcdef/2", hashlib.sha256(BODY).hexdigest()]
MA = [["YP-0042", "hub:norwich", "", "1700000000000", None]]
# The same with no body (purged is not none: body_sha256 stays) and none
# of the optional fields.
M0 = ["7c9e6679-7425-40de-944b-e07fc1f90ae7", "3", "YP-0001", "plo-ana",
      None, "1", "0", "0", "-5", None, "nwdd-1", None, None]

mh = message_hash(M, MA)
print("body_sha256", hashlib.sha256(BODY).hexdigest())
print("msg_hash_m", mh.hex())
print("msg_hash_m_no_alloc", message_hash(M, []).hex())
print("msg_hash_m0", message_hash(M0, []).hex())

print("hash_a", h(ZERO, A).hex())
# Row A as a publish row with a message hash and no route; and with both.
print("hash_am", h(ZERO, A + [None, mh.hex()]).hex())
print("hash_arm", h(ZERO, A + ["live,queued", mh.hex()]).hex())
print("hash_a with route None", h(ZERO, A + [None]).hex())
print("hash_ar", h(ZERO, AR).hex())
print("hash_b", h(bytes(range(1, 33)), B).hex())
h1 = h(ZERO, A)
h2 = h(h1, R2)
h3 = h(h2, R3)
print("chain3_hex", h1.hex(), h2.hex(), h3.hex())
