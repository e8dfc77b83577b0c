#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora from Protocol/vectors (run after changing vectors).

Fuzz/corpus/batch/   push bodies: every valid vector's changes as one batch, every
                     invalid vector's input.
Fuzz/corpus/server/  one request per file for fuzz-server: a selector byte (0 push,
                     1 pull query, 2 enrol, 3 re-issue, 4 rekey, 5 raw HTTP) and the body.
"""
import base64
import glob
import hashlib
import json
import os

ROOT = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(ROOT, "..", "Protocol", "vectors")


def canonical(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def write(folder, data):
    path = os.path.join(ROOT, "corpus", folder)
    os.makedirs(path, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(path, name), "wb") as f:
        f.write(data)


batches = []
for file in sorted(glob.glob(os.path.join(VECTORS, "valid", "*.json"))):
    vector = json.load(open(file, encoding="utf-8"))
    batches.append(canonical({"changes": vector["changes"], "protocol": 1}).encode())
for file in sorted(glob.glob(os.path.join(VECTORS, "invalid", "*.json"))):
    vector = json.load(open(file, encoding="utf-8"))
    if "input" in vector:
        batches.append(vector["input"].encode())
    elif "input_base64" in vector:
        batches.append(base64.b64decode(vector["input_base64"]))
    # `input_repeat` (10,001 changes) is too big to be a useful seed.
for batch in batches:
    write("batch", batch)

# The server: pushes of the caller's own changes (its id is `ra`), pulls, enrolments,
# re-issues, rotations, and raw requests.
def own(batch):
    try:
        obj = json.loads(batch)
        for change in obj.get("changes", []):
            change["dot"]["replica"] = "ra"
        return canonical(obj).encode()
    except Exception:
        return batch


for batch in batches[:20]:
    write("server", bytes([0]) + own(batch))
for query in ["", "after=&limit=1", "limit=10000&max_bytes=4194304", "after=v1.0.0", "after=v1.99999999999", "limit=0", "x=1"]:
    write("server", bytes([1]) + query.encode())
for file in sorted(glob.glob(os.path.join(VECTORS, "transport", "*.json"))):
    vector = json.load(open(file, encoding="utf-8"))
    if vector["message"] == "enrol_request":
        write("server", bytes([2]) + vector["input"].encode())
    if vector["message"] == "reissue_request":
        write("server", bytes([3]) + vector["input"].encode())
write("server", bytes([4]))
for raw in [
    b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /changes HTTP/1.1\r\nHost: x\r\nRain-Protocol: 1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n0\r\n\r\n",
    b"DELETE /changes HTTP/1.1\r\nHost: x\r\nRain-Protocol: 2\r\nContent-Length: 0\r\n\r\n",
]:
    write("server", bytes([5]) + raw)
print("corpus written to", os.path.join(ROOT, "corpus"))
