#!/usr/bin/env python3
"""Writes Protocol/vectors/{valid,invalid}/*.json.

The expected states and errors below are written by hand from PROTOCOL.md, not
computed by the Swift implementation: the vectors check it. The canonical encoding
and SHA-256 of each change come from Python's own JSON encoder (sort_keys,
compact separators, ensure_ascii=False), an independent implementation of
PROTOCOL.md §7.1, so the Swift encoder is checked against a second one.

Run from the repository root:  python3 Protocol/tools/make_vectors.py
"""
import base64
import hashlib
import json
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors")
T0 = 1795651200000  # 2026-11-26T00:00:00Z in milliseconds
DAY = 86_400_000
C1 = "0193f1c2-7a00-7000-8000-000000000001"
C2 = "0193f1c2-7a00-7000-8000-000000000002"
E1 = "0193f1c2-7a00-7000-8000-0000000000e1"
E2 = "0193f1c2-7a00-7000-8000-0000000000e2"


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def change(rep, n, fields, ctx=None, wall=0, logical=0, author="李娜", rid=C1, table="cases"):
    return {
        "author": author,
        "context": ctx or {},
        "dot": {"counter": n, "replica": rep},
        "fields": fields,
        "hlc": {"logical": logical, "wall": T0 + wall},
        "record": {"id": rid, "table": table},
    }


def created(rep="ra", n=1, **extra):
    fields = {
        "kind": "complaint",
        "category": "环境卫生",
        "title": "楼道堆放杂物",
        "status": "received",
        "round": 1,
        "phone": "13812341234",
        "created_at": {"ts": T0},
    }
    fields.update(extra.pop("fields", {}))
    return change(rep, n, fields, **extra)


def field(value, *dots):
    return {"value": value, "siblings": list(dots)}


def record(vv, **fields):
    return {"version_vector": vv, "fields": fields}


def base_fields(dot="ra:1", **override):
    """The expected fields of `created()`, each written by `dot`, with overrides."""
    out = {
        "kind": field("complaint", dot),
        "category": field("环境卫生", dot),
        "title": field("楼道堆放杂物", dot),
        "status": field("received", dot),
        "round": field(1, dot),
        "phone": field("13812341234", dot),
        "created_at": field({"ts": T0}, dot),
    }
    out.update(override)
    return out


def conflict(rid, name, siblings, winner, table="cases"):
    return {"record": f"{table}/{rid}", "field": name, "siblings": siblings, "winner": winner}


VALID = []


def valid(name, description, rules, changes, deliveries, records, conflicts, vv, resolve=None):
    VALID.append((name, {
        "name": name,
        "description": description,
        "rules": rules,
        "changes": [
            {
                "change": c,
                "canonical": canonical(c),
                "sha256": hashlib.sha256(canonical(c).encode("utf-8")).hexdigest(),
            }
            for c in changes
        ],
        "deliveries": deliveries,
        "expect": {"records": records, "conflicts": conflicts, "version_vector": vv},
        **({"resolve": resolve} if resolve else {}),
    }))


# --- valid vectors -------------------------------------------------------------

valid("01-single-create", "One change creates a case; every field has one value.", "§3.2",
      [created()], [[0], [0, 0]],
      {f"cases/{C1}": record({"ra": 1}, **base_fields())}, [], {"ra": 1})

a1 = created()
a2 = change("ra", 2, {"title": "楼道堆放杂物已清理"}, {"ra": 1}, wall=1000)
valid("02-sequential-edit", "A later change of the same writer supersedes the earlier value.", "§3.2, §3.3",
      [a1, a2], [[0, 1], [1, 0]],
      {f"cases/{C1}": record({"ra": 2}, **base_fields(title=field("楼道堆放杂物已清理", "ra:2")))}, [], {"ra": 2})

b1 = change("rb", 1, {"title": "东门路灯不亮"}, {"ra": 1}, wall=100, author="王伟")
c1 = change("rc", 1, {"phone": "13900001111"}, {"ra": 1}, wall=200, author="张敏")
valid("03-concurrent-different-fields", "Concurrent writes to different fields merge with no conflict.", "§3.2",
      [a1, b1, c1], [[0, 1, 2], [2, 1, 0], [1, 0, 2]],
      {f"cases/{C1}": record({"ra": 1, "rb": 1, "rc": 1}, **base_fields(
          title=field("东门路灯不亮", "rb:1"), phone=field("13900001111", "rc:1")))},
      [], {"ra": 1, "rb": 1, "rc": 1})

tb = change("rb", 1, {"title": "东门路灯不亮"}, {"ra": 1}, wall=100, author="王伟")
tc = change("rc", 1, {"title": "东门路灯坏了"}, {"ra": 1}, wall=200, author="张敏")
valid("04-concurrent-same-field", "Concurrent writes to the same field leave two siblings: a conflict; the later HLC wins.",
      "§3.2, §5.1, §5.5",
      [a1, tb, tc], [[0, 1, 2], [2, 1, 0], [1, 2, 0]],
      {f"cases/{C1}": record({"ra": 1, "rb": 1, "rc": 1}, **base_fields(
          title=field("东门路灯坏了", "rb:1", "rc:1")))},
      [conflict(C1, "title", ["rb:1", "rc:1"], "rc:1")], {"ra": 1, "rb": 1, "rc": 1})

z = change("Z9", 1, {"title": "东门路灯不亮"}, {"ra": 1}, wall=100, author="王伟")
a = change("a1", 1, {"title": "东门路灯坏了"}, {"ra": 1}, wall=100, author="张敏")
valid("05-lww-tie-broken-by-replica-bytes", "Equal HLCs: the replica id that is larger byte-wise wins ('a1' > 'Z9').",
      "§5.1",
      [a1, z, a], [[0, 1, 2], [0, 2, 1]],
      {f"cases/{C1}": record({"Z9": 1, "a1": 1, "ra": 1}, **base_fields(
          title=field("东门路灯坏了", "Z9:1", "a1:1")))},
      [conflict(C1, "title", ["Z9:1", "a1:1"], "a1:1")], {"Z9": 1, "a1": 1, "ra": 1})

rd = change("rd", 1, {"title": "东门路灯已报修"}, {"ra": 1, "rb": 1, "rc": 1}, wall=300, author="刘洋")
valid("06-resolution-clears-conflict", "A resolution whose context covers every sibling leaves one value and no conflict.",
      "§5.5",
      [a1, tb, tc, rd], [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2]],
      {f"cases/{C1}": record({"ra": 1, "rb": 1, "rc": 1, "rd": 1}, **base_fields(
          title=field("东门路灯已报修", "rd:1")))},
      [], {"ra": 1, "rb": 1, "rc": 1, "rd": 1},
      resolve={"after": [0, 1, 2], "record": f"cases/{C1}", "field": "title", "value": "东门路灯已报修",
               "replica": "rd", "author": "刘洋", "hlc": {"wall": T0 + 300, "logical": 0}, "produces": rd})

rk = change("rd", 1, {"title": "东门路灯不亮"}, {"ra": 1, "rb": 1, "rc": 1}, wall=300, author="刘洋")
valid("07-resolution-keep", "Keeping sibling 1 (in dot order) rewrites its value with a covering context.", "§5.5",
      [a1, tb, tc, rk], [[0, 1, 2, 3], [3, 0, 2, 1]],
      {f"cases/{C1}": record({"ra": 1, "rb": 1, "rc": 1, "rd": 1}, **base_fields(
          title=field("东门路灯不亮", "rd:1")))},
      [], {"ra": 1, "rb": 1, "rc": 1, "rd": 1},
      resolve={"after": [0, 1, 2], "record": f"cases/{C1}", "field": "title", "keep": 1,
               "replica": "rd", "author": "刘洋", "hlc": {"wall": T0 + 300, "logical": 0}, "produces": rk})

valid("08-duplicate-delivery", "Re-delivering changes, even a superseded one after its successor, changes nothing.",
      "§3.1, §3.2",
      [a1, a2], [[0, 1, 0, 1], [1, 0, 0, 1, 1], [0, 0, 0, 1]],
      {f"cases/{C1}": record({"ra": 2}, **base_fields(title=field("楼道堆放杂物已清理", "ra:2")))}, [], {"ra": 2})

ob1 = change("rb", 1, {"title": "东门路灯不亮"}, {"ra": 1}, wall=100, author="王伟")
ob2 = change("rb", 2, {"title": "东门路灯不亮（已核实）"}, {"ra": 1, "rb": 1}, wall=150, author="王伟")
valid("09-out-of-order-supersede", "A later change delivered before the ones it supersedes: they are ignored on arrival.",
      "§3.2",
      [a1, ob1, ob2], [[2, 1, 0], [2, 0, 1], [0, 1, 2]],
      {f"cases/{C1}": record({"ra": 1, "rb": 2}, **base_fields(title=field("东门路灯不亮（已核实）", "rb:2")))},
      [], {"ra": 1, "rb": 2})

hole = change("rb", 2, {"phone": "13900001111"}, {"ra": 1, "rb": 1}, wall=150, author="王伟")
valid("10-record-vector-with-hole", "rb:2 arrives without its predecessor rb:1: the record's and the replica's vectors do "
      "not claim rb (a local write would not supersede what it has not seen).", "§3.4, §6.1",
      [a1, hole], [[0, 1], [1, 0]],
      {f"cases/{C1}": record({"ra": 1}, **base_fields(phone=field("13900001111", "rb:2")))}, [], {"ra": 1})

x1 = created()
x2 = change("ra", 2, {"title": "二号楼电梯故障", "kind": "help", "status": "received", "round": 1}, rid=C2, wall=10)
x3 = change("ra", 3, {"status": "verifying", "round": 1}, {"ra": 1}, wall=20)
valid("11-counters-span-records", "A replica's counter runs across records; a record's vector names its writer's last "
      "change to that record.", "§2.2, §3.4",
      [x1, x2, x3], [[0, 1, 2], [2, 0, 1], [1, 2, 0]],
      {f"cases/{C1}": record({"ra": 3}, **base_fields(status=field("verifying", "ra:3"), round=field(1, "ra:3"))),
       f"cases/{C2}": record({"ra": 2}, title=field("二号楼电梯故障", "ra:2"), kind=field("help", "ra:2"),
                             status=field("received", "ra:2"), round=field(1, "ra:2"))},
      [], {"ra": 3})

sb = change("rb", 1, {"status": "verifying", "round": 1}, {"ra": 1}, wall=500, author="王伟")
sc = change("rc", 1, {"status": "handling", "round": 1}, {"ra": 1}, wall=100, author="张敏")
valid("12-status-furthest-stage", "Concurrent status moves: the furthest stage wins even with an older HLC; the round "
      "field (maximum rule) is not listed.", "§5.2, §5.3",
      [a1, sb, sc], [[0, 1, 2], [2, 1, 0]],
      {f"cases/{C1}": record({"ra": 1, "rb": 1, "rc": 1}, **base_fields(
          status=field("handling", "rb:1", "rc:1"), round=field(1, "rb:1", "rc:1")))},
      [conflict(C1, "status", ["rb:1", "rc:1"], "rc:1")], {"ra": 1, "rb": 1, "rc": 1})

rp = change("ra", 2, {"status": "replied", "round": 1}, {"ra": 1}, wall=50)
cl = change("rb", 1, {"status": "closed", "round": 1}, {"ra": 2}, wall=300, author="王伟")
ro = change("rc", 1, {"status": "handling", "round": 2}, {"ra": 2}, wall=200, author="张敏")
valid("13-status-reopen-round", "A reopen (round 2) beats a concurrent close of round 1: rounds rank before stages.",
      "§5.2",
      [a1, rp, cl, ro], [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2]],
      {f"cases/{C1}": record({"ra": 2, "rb": 1, "rc": 1}, **base_fields(
          status=field("handling", "rb:1", "rc:1"), round=field(2, "rb:1", "rc:1")))},
      [conflict(C1, "status", ["rb:1", "rc:1"], "rc:1")], {"ra": 2, "rb": 1, "rc": 1})

s1 = change("rb", 1, {"status": "closed", "round": 1}, {"ra": 1}, wall=100, author="王伟")
s2 = change("rc", 1, {"status": "closed", "round": 1}, {"ra": 1}, wall=50, author="张敏")
valid("14-status-same-stage", "Same round and stage: last-writer-wins decides which sibling is shown.", "§5.2",
      [a1, s1, s2], [[0, 1, 2], [2, 1, 0]],
      {f"cases/{C1}": record({"ra": 1, "rb": 1, "rc": 1}, **base_fields(
          status=field("closed", "rb:1", "rc:1"), round=field(1, "rb:1", "rc:1")))},
      [conflict(C1, "status", ["rb:1", "rc:1"], "rb:1")], {"ra": 1, "rb": 1, "rc": 1})

u1 = change("rb", 1, {"status": "archived", "round": 1}, {"ra": 1}, wall=900, author="王伟")
u2 = change("rc", 1, {"status": "received", "round": 1}, {"ra": 1}, wall=100, author="张敏")
valid("15-status-unknown-stage", "A stage this schema does not know ranks below every known stage.", "§5.2",
      [a1, u1, u2], [[0, 1, 2], [0, 2, 1]],
      {f"cases/{C1}": record({"ra": 1, "rb": 1, "rc": 1}, **base_fields(
          status=field("received", "rb:1", "rc:1"), round=field(1, "rb:1", "rc:1")))},
      [conflict(C1, "status", ["rb:1", "rc:1"], "rc:1")], {"ra": 1, "rb": 1, "rc": 1})

t3b = change("rb", 1, {"title": "甲"}, {"ra": 1}, wall=300, author="王伟")
t3c = change("rc", 1, {"title": "乙"}, {"ra": 1}, wall=100, author="张敏")
t3d = change("rd", 1, {"title": "丙"}, {"ra": 1}, wall=200, author="刘洋")
valid("16-three-way-concurrency", "Three offices write the same field concurrently: three siblings, latest HLC wins.",
      "§3.2, §5.1",
      [a1, t3b, t3c, t3d], [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]],
      {f"cases/{C1}": record({"ra": 1, "rb": 1, "rc": 1, "rd": 1}, **base_fields(
          title=field("甲", "rb:1", "rc:1", "rd:1")))},
      [conflict(C1, "title", ["rb:1", "rc:1", "rd:1"], "rb:1")], {"ra": 1, "rb": 1, "rc": 1, "rd": 1})

p3c = change("rc", 1, {"title": "乙"}, {"ra": 1}, wall=100, author="张敏")
p3d = change("rd", 1, {"title": "丙"}, {"ra": 1, "rb": 1}, wall=50, author="刘洋")
valid("17-three-way-partial-knowledge", "rd saw rb's write but not rc's: rd supersedes rb only; rc and rd stay siblings.",
      "§3.2",
      [a1, t3b, p3c, p3d], [[0, 1, 2, 3], [3, 2, 1, 0], [0, 3, 1, 2]],
      {f"cases/{C1}": record({"ra": 1, "rb": 1, "rc": 1, "rd": 1}, **base_fields(
          title=field("乙", "rc:1", "rd:1")))},
      [conflict(C1, "title", ["rc:1", "rd:1"], "rc:1")], {"ra": 1, "rb": 1, "rc": 1, "rd": 1})

fut = change("rb", 1, {"title": "未来时钟"}, {"ra": 1}, wall=3 * DAY, author="王伟")
now = change("rc", 1, {"title": "正常时钟"}, {"ra": 1}, wall=1000, author="张敏")
valid("18-skewed-clock-concurrent", "A laptop 3 days ahead wins against a truly concurrent write (its HLC is larger).",
      "§4.3, §5.1",
      [a1, fut, now], [[0, 1, 2], [2, 1, 0]],
      {f"cases/{C1}": record({"ra": 1, "rb": 1, "rc": 1}, **base_fields(title=field("未来时钟", "rb:1", "rc:1")))},
      [conflict(C1, "title", ["rb:1", "rc:1"], "rb:1")], {"ra": 1, "rb": 1, "rc": 1})

after = change("rc", 2, {"title": "看过之后重写"}, {"ra": 1, "rb": 1, "rc": 1}, wall=2000, author="张敏")
valid("19-skewed-clock-causal", "A write made after seeing the far-future write supersedes it, although its HLC is "
      "3 days smaller: causality, not time, decides.", "§4.3",
      [a1, fut, now, after], [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2]],
      {f"cases/{C1}": record({"ra": 1, "rb": 1, "rc": 2}, **base_fields(title=field("看过之后重写", "rc:2")))},
      [], {"ra": 1, "rb": 1, "rc": 2})

zh = change("ra", 1, {
    "title": "“老旧小区”加装电梯\t求助",
    "description": "住户反映：3号楼\n\"电梯\"\\加装🌧进度\u0001与\u2028说明",
    "address": "和平路88号3单元",
}, author="欧阳·娜")
valid("20-chinese-text-and-escapes", "Chinese text, an emoji, quotes, backslash, tab, newline, a control character and "
      "U+2028 encode canonically and survive unchanged.", "§2.4, §7.1",
      [zh], [[0], [0, 0]],
      {f"cases/{C1}": record({"ra": 1}, title=field(zh["fields"]["title"], "ra:1"),
                             description=field(zh["fields"]["description"], "ra:1"),
                             address=field("和平路88号3单元", "ra:1"))}, [], {"ra": 1})

em = change("ra", 1, {"title": "", "description": None, "citizen_name": ""})
valid("21-empty-and-null-values", "The empty text and null are ordinary values.", "§2.4",
      [em], [[0]],
      {f"cases/{C1}": record({"ra": 1}, title=field("", "ra:1"), description=field(None, "ra:1"),
                             citizen_name=field("", "ra:1"))}, [], {"ra": 1})

big = "雨" * 21845 + "a"
assert len(big.encode("utf-8")) == 65536
bg = change("ra", 1, {"description": big})
valid("22-value-of-64-kib", "A text of exactly 65,536 UTF-8 bytes is the largest value allowed.", "§2.4, §7.3",
      [bg], [[0]],
      {f"cases/{C1}": record({"ra": 1}, description=field(big, "ra:1"))}, [], {"ra": 1})

tv = change("ra", 1, {
    "urgent": True, "anonymous": False, "low": -9007199254740991, "high": 9007199254740991, "zero": 0,
    "due_at": {"ts": T0 + 15 * DAY}, "born_at": {"ts": -86400000}, "note": None,
})
valid("23-all-value-types", "Booleans, the extreme integers, zero, timestamps (also before 1970) and null.", "§2.4",
      [tv], [[0]],
      {f"cases/{C1}": record({"ra": 1}, urgent=field(True, "ra:1"), anonymous=field(False, "ra:1"),
                             low=field(-9007199254740991, "ra:1"), high=field(9007199254740991, "ra:1"),
                             zero=field(0, "ra:1"), due_at=field({"ts": T0 + 15 * DAY}, "ra:1"),
                             born_at=field({"ts": -86400000}, "ra:1"), note=field(None, "ra:1"))}, [], {"ra": 1})

ev1 = change("ra", 2, {"case_id": C1, "type": "note", "text": "已电话联系住户"}, rid=E1, table="case_events", wall=10)
ev2 = change("rb", 1, {"case_id": C1, "type": "visit", "text": "上门核实，情况属实"}, rid=E2, table="case_events",
             wall=20, author="王伟")
valid("24-append-only-events", "Notes and visits are append-only records: concurrent events never conflict.", "§5.4",
      [a1, ev1, ev2], [[0, 1, 2], [2, 1, 0]],
      {f"cases/{C1}": record({"ra": 1}, **base_fields()),
       f"case_events/{E1}": record({"ra": 2}, case_id=field(C1, "ra:2"), type=field("note", "ra:2"),
                                   text=field("已电话联系住户", "ra:2")),
       f"case_events/{E2}": record({"rb": 1}, case_id=field(C1, "rb:1"), type=field("visit", "rb:1"),
                                   text=field("上门核实，情况属实", "rb:1"))},
      [], {"ra": 2, "rb": 1})

m1 = change("rb", 1, {"round": 3}, {"ra": 1}, wall=100, author="王伟")
m2 = change("rc", 1, {"round": 2}, {"ra": 1}, wall=200, author="张敏")
valid("25-maximum-rule", "The round field keeps the largest integer and is not listed as a conflict.", "§5.3",
      [a1, m1, m2], [[0, 1, 2], [2, 1, 0]],
      {f"cases/{C1}": record({"ra": 1, "rb": 1, "rc": 1}, **base_fields(round=field(3, "rb:1", "rc:1")))},
      [], {"ra": 1, "rb": 1, "rc": 1})

l0 = change("rb", 1, {"title": "逻辑零"}, {"ra": 1}, wall=100, logical=0, author="王伟")
l1 = change("rc", 1, {"title": "逻辑一"}, {"ra": 1}, wall=100, logical=1, author="张敏")
valid("26-hlc-logical-breaks-tie", "Same wall time: the larger logical counter wins.", "§4.1, §5.1",
      [a1, l0, l1], [[0, 1, 2], [2, 1, 0]],
      {f"cases/{C1}": record({"ra": 1, "rb": 1, "rc": 1}, **base_fields(title=field("逻辑一", "rb:1", "rc:1")))},
      [conflict(C1, "title", ["rb:1", "rc:1"], "rc:1")], {"ra": 1, "rb": 1, "rc": 1})

P = "0193f1c2-7a00-7000-8000-0000000000f1"
pa = change("ra", 1, {"name": "小微企业房租减免", "state": "draft"}, rid=P, table="policies")
pb = change("rb", 1, {"state": "published"}, {"ra": 1}, rid=P, table="policies", wall=100, author="王伟")
pc = change("rc", 1, {"state": "withdrawn"}, {"ra": 1}, rid=P, table="policies", wall=50, author="张敏")
valid("27-unknown-table-merges-lww", "A table the schema does not name is mutable and merges by last-writer-wins, so "
      "older replicas keep newer data.", "§5.4",
      [pa, pb, pc], [[0, 1, 2], [2, 1, 0]],
      {f"policies/{P}": record({"ra": 1, "rb": 1, "rc": 1}, name=field("小微企业房租减免", "ra:1"),
                               state=field("published", "rb:1", "rc:1"))},
      [conflict(P, "state", ["rb:1", "rc:1"], "rb:1", table="policies")], {"ra": 1, "rb": 1, "rc": 1})

d1 = change("ra", 1, {"case_id": C1, "type": "note", "text": "甲"}, rid=E1, table="case_events")
d2 = change("rb", 1, {"case_id": C1, "type": "note", "text": "乙"}, rid=E1, table="case_events", wall=5, author="王伟")
valid("28-append-only-same-id", "Two creations of one append-only id (only possible by mistake) merge "
      "deterministically and are listed for review.", "§5.4",
      [d1, d2], [[0, 1], [1, 0]],
      {f"case_events/{E1}": record({"ra": 1, "rb": 1}, case_id=field(C1, "ra:1", "rb:1"),
                                   type=field("note", "ra:1", "rb:1"), text=field("乙", "ra:1", "rb:1"))},
      [conflict(E1, "case_id", ["ra:1", "rb:1"], "rb:1", table="case_events"),
       conflict(E1, "text", ["ra:1", "rb:1"], "rb:1", table="case_events"),
       conflict(E1, "type", ["ra:1", "rb:1"], "rb:1", table="case_events")],
      {"ra": 1, "rb": 1})

sd = change("rb", 1, {"title": "乙"}, {"ra": 1}, wall=100, author="王伟")
sc_ = change("rc", 1, {"title": "丙"}, {"ra": 1, "rb": 1}, wall=200, author="张敏")
sdd = change("rd", 1, {"title": "丁"}, {"ra": 1, "rc": 1}, wall=300, author="刘洋")
valid("29-superseded-change-still-supersedes", "Regression found by the convergence property test: rc saw rb and "
      "rd saw rc but never rb. Delivered rd, rc, rb, the superseded rc must still retire rb's value; otherwise the "
      "outcome depends on delivery order.", "§3.2",
      [a1, sd, sc_, sdd], [[0, 3, 2, 1], [0, 1, 2, 3], [3, 1, 2, 0], [2, 3, 0, 1]],
      {f"cases/{C1}": record({"ra": 1, "rb": 1, "rc": 1, "rd": 1}, **base_fields(title=field("丁", "rd:1")))},
      [], {"ra": 1, "rb": 1, "rc": 1, "rd": 1})

# --- policy direct: grants (kinds/policy.json) ----------------------------------

G1 = "5d1c0a9e-3b7f-8c21-9e4d-0a6b2c8f1e37"  # a grant's derived id (policy, credit code, period)


def grant(rep="ra", n=1, **extra):
    fields = {
        "policy": "0193f1c2-7a00-7000-8000-0000000000f1",
        "credit_code": "91440300MA5F000007",
        "period": "2026",
        "department": "JRB",
        "street": "JD1",
        "stage": "matched",
        "round": 1,
        "amount_fen": 10000000,
        "computation": "固定金额 100,000.00 元",
        "created_at": {"ts": T0},
    }
    fields.update(extra.pop("fields", {}))
    return change(rep, n, fields, rid=G1, table="grants", **extra)


def grant_fields(dot="ra:1", **override):
    out = {name: field(value, dot) for name, value in grant()["fields"].items()}
    out.update(override)
    return out


g1 = grant(fields={"stage": "confirmed"})
ga = change("rb", 1, {"stage": "approved", "round": 1}, {"ra": 1}, wall=300, author="王伟", rid=G1, table="grants")
gp = change("rc", 1, {"stage": "paid", "round": 1, "payment": "ZF-2026-001"}, {"ra": 1}, wall=100, author="张敏",
            rid=G1, table="grants")
valid("30-grant-stage-furthest", "A grant's stage is a workflow (matched, applied, confirmed, approved, paid): a payment "
      "recorded concurrently with an approval wins though its HLC is older; the stage stays listed.", "§5.2, §5.4",
      [g1, ga, gp], [[0, 1, 2], [2, 1, 0], [0, 2, 1]],
      {f"grants/{G1}": record({"ra": 1, "rb": 1, "rc": 1}, **grant_fields(
          stage=field("paid", "rb:1", "rc:1"), round=field(1, "rb:1", "rc:1"), payment=field("ZF-2026-001", "rc:1")))},
      [conflict(G1, "stage", ["rb:1", "rc:1"], "rc:1", table="grants")], {"ra": 1, "rb": 1, "rc": 1})

g2 = grant(fields={"stage": "approved"})
pb = change("rb", 1, {"stage": "paid", "round": 1, "payment": "ZF-2026-001"}, {"ra": 1}, wall=100, author="王伟",
            rid=G1, table="grants")
pc = change("rc", 1, {"stage": "paid", "round": 1, "payment": "ZF-2026-002"}, {"ra": 1}, wall=200, author="张敏",
            rid=G1, table="grants")
valid("31-grant-two-payments", "Two replicas record a payment of the same grant offline: both references stay as "
      "siblings of `payment`, a listed conflict (a client blocks any further payout of the grant until a person "
      "settles it, §10.3); the later HLC is shown.", "§5.1, §5.5, §10.3",
      [g2, pb, pc], [[0, 1, 2], [2, 1, 0], [1, 0, 2]],
      {f"grants/{G1}": record({"ra": 1, "rb": 1, "rc": 1}, **grant_fields(
          stage=field("paid", "rb:1", "rc:1"), round=field(1, "rb:1", "rc:1"),
          payment=field("ZF-2026-002", "rb:1", "rc:1")))},
      [conflict(G1, "payment", ["rb:1", "rc:1"], "rc:1", table="grants"),
       conflict(G1, "stage", ["rb:1", "rc:1"], "rc:1", table="grants")], {"ra": 1, "rb": 1, "rc": 1})

ma = grant("ra", 1, fields={"stage": "matched"})
mb = grant("rb", 1, fields={"stage": "applied"}, wall=50, author="王伟")
valid("32-one-grant-from-two-offices", "Two offices create the same grant (the same derived id) offline, one by "
      "matching, one by entering the application: one record; equal values still leave siblings (listed), and the "
      "stage shows `applied`, the further stage.", "§3.2, §5.2, §5.5",
      [ma, mb], [[0, 1], [1, 0]],
      {f"grants/{G1}": record({"ra": 1, "rb": 1}, **{
          name: field(value, "ra:1", "rb:1") for name, value in ma["fields"].items()
      } | {"stage": field("applied", "ra:1", "rb:1")})},
      [conflict(G1, name, ["ra:1", "rb:1"], "rb:1" if name != "stage" else "rb:1", table="grants")
       for name in sorted(n for n in ma["fields"] if n != "round")], {"ra": 1, "rb": 1})

# --- suggestions (kinds/suggestions.json) ----------------------------------------

S1 = "0193f1c2-7a00-7000-8000-0000000000a1"  # a suggestion: the id of its case
R1 = "0193f1c2-7a00-7000-8000-0000000000b1"
R2 = "0193f1c2-7a00-7000-8000-0000000000b2"


def suggestion(rep="ra", n=1, **extra):
    fields = {
        "number": "HSM-20261126-1432-K7Q",
        "community": "HSM",
        "department": "JTJ",
        "title": "小区门口增设红绿灯",
        "category": "交通出行",
        "stage": "arguing",
        "round": 1,
        "created_at": {"ts": T0},
    }
    fields.update(extra.pop("fields", {}))
    return change(rep, n, fields, rid=S1, table="suggestions", **extra)


def suggestion_fields(dot="ra:1", **override):
    out = {name: field(value, dot) for name, value in suggestion()["fields"].items()}
    out.update(override)
    return out


sa = suggestion()
rv1 = change("rb", 1, {"suggestion_id": S1, "office": "JTJ", "value": 5, "feasibility": 4, "cost": 3,
                       "text": "价值高，可在明年实施", "at": {"ts": T0 + 100}}, rid=R1, table="suggestion_reviews",
             wall=100, author="王伟")
rv2 = change("rc", 1, {"suggestion_id": S1, "office": "HSD", "value": 3, "feasibility": 4, "cost": 5,
                       "text": "成本低", "at": {"ts": T0 + 100}}, rid=R2, table="suggestion_reviews",
             wall=100, author="张敏")
valid("33-suggestion-reviews-both-count", "Two reviewers score the same suggestion offline: each opinion is an "
      "append-only record of its own, so both are kept and both count (scores are never a last-writer-wins field); "
      "no conflict.", "§3.2, §5.4, §10.4",
      [sa, rv1, rv2], [[0, 1, 2], [0, 2, 1], [2, 1, 0]],
      {f"suggestions/{S1}": record({"ra": 1}, **suggestion_fields()),
       f"suggestion_reviews/{R1}": record({"rb": 1}, **{k: field(v, "rb:1") for k, v in rv1["fields"].items()}),
       f"suggestion_reviews/{R2}": record({"rc": 1}, **{k: field(v, "rc:1") for k, v in rv2["fields"].items()})},
      [], {"ra": 1, "rb": 1, "rc": 1})

ss = change("rb", 1, {"stage": "selected", "round": 1}, {"ra": 1}, wall=100, author="王伟", rid=S1, table="suggestions")
sr = change("rc", 1, {"stage": "not_selected", "round": 1, "decision_reason": "已有同类项目在建"}, {"ra": 1}, wall=300,
            author="张敏", rid=S1, table="suggestions")
valid("34-suggestion-selected-and-rejected", "Two district reviewers decide offline, one selecting the suggestion, "
      "one not (with a reason): the stage is a workflow whose order ranks not_selected below selected, so `selected` "
      "shows though its HLC is older; both siblings stay listed (a client publishes nothing until a person settles "
      "it, §10.4); the reason is kept.", "§5.2, §5.5, §10.4",
      [sa, ss, sr], [[0, 1, 2], [2, 1, 0], [0, 2, 1]],
      {f"suggestions/{S1}": record({"ra": 1, "rb": 1, "rc": 1}, **suggestion_fields(
          stage=field("selected", "rb:1", "rc:1"), round=field(1, "rb:1", "rc:1"),
          decision_reason=field("已有同类项目在建", "rc:1")))},
      [conflict(S1, "stage", ["rb:1", "rc:1"], "rb:1", table="suggestions")], {"ra": 1, "rb": 1, "rc": 1})

# --- invalid vectors -------------------------------------------------------------

INVALID = []


def batch(*changes, protocol=1):
    return {"changes": list(changes), "protocol": protocol}


def invalid(name, description, message, code="invalid", text=None, obj=None, raw=None, repeat=None):
    entry = {"name": name, "description": description}
    if obj is not None:
        entry["input"] = json.dumps(obj, ensure_ascii=False)
    elif text is not None:
        entry["input"] = text
    elif raw is not None:
        entry["input_base64"] = base64.b64encode(raw).decode()
    else:
        entry["input_repeat"] = repeat
    entry["error"] = message
    entry["code"] = code
    INVALID.append((name, entry))


def without(c, key):
    c = json.loads(json.dumps(c))
    del c[key]
    return c


def with_(c, path, value):
    c = json.loads(json.dumps(c))
    target = c
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return c


truncated = '{"changes":[{"author":"李娜"'
invalid("01-malformed-truncated", "The body ends in the middle of an object.",
        f"$: malformed JSON: unexpected end of document at byte {len(truncated.encode())}", "malformed_json",
        text=truncated)
invalid("02-missing-field", "A change without its HLC.", "changes[0].hlc: is required", obj=batch(without(a1, "hlc")))
invalid("03-unknown-field", "A change with a field the protocol does not define.", "changes[0].priority: unknown field",
        obj=batch(with_(a1, ["priority"], 1)))
invalid("04-unknown-top-level-field", "A batch with an extra member.", "extra: unknown field",
        obj={"changes": [], "protocol": 1, "extra": True})
invalid("05-counter-wrong-type", "A counter sent as a string.", "changes[0].dot.counter: must be an integer, not a string",
        obj=batch(with_(a1, ["dot", "counter"], "1")))
invalid("06-counter-zero", "The fourth change has counter 0.", "changes[3].dot.counter: must be ≥ 1",
        obj=batch(a1, tb, tc, with_(rd, ["dot", "counter"], 0)))
invalid("07-counter-negative", "A negative counter.", "changes[0].dot.counter: must be ≥ 1",
        obj=batch(with_(a1, ["dot", "counter"], -1)))
invalid("08-counter-above-2-53", "A counter above 2^53 cannot be carried exactly by JSON.",
        "changes[0].dot.counter: must be ≤ 2^53", obj=batch(with_(a1, ["dot", "counter"], 9007199254740993)))
invalid("09-empty-replica-id", "An empty replica id.", "changes[0].dot.replica: must not be empty",
        obj=batch(with_(a1, ["dot", "replica"], "")))
invalid("10-replica-id-too-long", "A replica id of 65 bytes.", "changes[0].dot.replica: must be at most 64 bytes",
        obj=batch(with_(a1, ["dot", "replica"], "r" * 65)))
invalid("11-value-over-64-kib", "A text value of 65,537 bytes.",
        "changes[0].fields.description: must be at most 65536 bytes (64 KiB), found 65537",
        obj=batch(change("ra", 1, {"description": big + "b"})))
invalid("12-too-many-changes", "A batch of 10,001 changes.", "changes: must hold at most 10000 changes, found 10001",
        repeat={"prefix": '{"protocol":1,"changes":[', "unit": "{}", "separator": ",", "count": 10001, "suffix": "]}"})
invalid("13-same-dot-different-content", "Two different changes share a dot.",
        "changes[1].dot: ra:1 already appears at changes[0] with different content",
        obj=batch(a1, with_(a1, ["fields", "title"], "别的标题")))
invalid("14-context-covers-own-dot", "A change claims to have seen itself.",
        "changes[0].context.ra: must be < the change's own counter 2 (a change cannot be in its own past)",
        obj=batch(change("ra", 2, {"title": "x"}, {"ra": 2})))
invalid("15-unsupported-protocol", "A batch of protocol version 2.", "protocol: version 2 is not supported; supported: 1",
        "unsupported_version", obj=batch(a1, protocol=2))
invalid("16-fractional-counter", "A counter with a fraction.",
        "changes[0].dot.counter: must be an integer, not a fraction or exponent",
        text='{"changes":[' + canonical(a1).replace('"counter":1', '"counter":1.5') + '],"protocol":1}')
invalid("17-duplicate-json-key", "The same key twice in one object.",
        '$: malformed JSON: duplicate key "protocol" at byte 14', "malformed_json",
        text='{"protocol":1,"protocol":1,"changes":[]}')
bad_utf8 = b'{"protocol":1,"changes":[{"author":"\xe6\x9d"}]}'
bad_at = bad_utf8.index(bytes([0xE6]))
invalid("18-invalid-utf8", "A string that is not UTF-8.",
        f"$: malformed JSON: invalid UTF-8 in string at byte {bad_at}", "malformed_json", raw=bad_utf8)
invalid("19-append-only-modified", "A change to an append-only record with a context (an edit of a note).",
        "changes[0].context: must be empty: case_events records are append-only and cannot be modified",
        obj=batch(change("ra", 3, {"text": "改"}, {"ra": 2}, rid=E1, table="case_events")))
invalid("20-bad-field-name", "A field name with an upper-case letter.",
        "changes[0].fields.Title: must be a lower-case name: a–z first, then a–z, 0–9 or '_'",
        obj=batch(change("ra", 1, {"Title": "x"})))
invalid("21-value-array", "A field value that is an array.",
        'changes[0].fields.tags: must be null, a boolean, an integer, a string or {"ts": milliseconds}, not an array',
        obj=batch(change("ra", 1, {"tags": ["a"]})))
invalid("22-logical-too-large", "An HLC logical counter of 2^32.", "changes[0].hlc.logical: must be ≤ 2^32 − 1",
        obj=batch(with_(a1, ["hlc", "logical"], 4294967296)))
invalid("23-no-fields", "A change that sets nothing.", "changes[0].fields: must set at least one field",
        obj=batch(change("ra", 1, {})))
invalid("24-author-control-character", "An author with a newline.",
        "changes[0].author: must not contain control characters", obj=batch(change("ra", 1, {"title": "x"}, author="李\n娜")))
invalid("25-changes-not-array", "changes is an object.", "changes: must be an array, not an object",
        obj={"changes": {}, "protocol": 1})
deep = '{"protocol":1,"changes":[' + "[" * 40 + "]" * 40 + "]}"
invalid("26-nesting-too-deep", "Arrays nested 42 levels deep.",
        f"$: malformed JSON: nesting deeper than 32 levels at byte {deep.index('[') + 31}", "malformed_json", text=deep)
invalid("27-integer-value-out-of-range", "An integer value of 2^53.",
        "changes[0].fields.round: must be an integer between −(2^53 − 1) and 2^53 − 1",
        obj=batch(change("ra", 1, {"round": 9007199254740992})))
invalid("28-bad-record-id", "A record id with a space.",
        "changes[0].record.id: must contain only A–Z, a–z, 0–9, '_', '-', '.' and ':'",
        obj=batch(with_(a1, ["record", "id"], "case 1")))
invalid("29-context-counter-zero", "A context entry of 0 (absent entries are omitted, never 0).",
        "changes[0].context.rb: must be ≥ 1", obj=batch(change("ra", 1, {"title": "x"}, {"rb": 0})))
invalid("33-empty-key", "A member whose key is empty: the path names it as \"\" rather than nothing.",
        "\"\": unknown field", obj={"changes": [], "protocol": 1, "": True})
invalid("30-not-an-object", "The body is a JSON array.", "$: must be an object, not an array", text="[]")
invalid("32-protocol-not-an-integer", "A protocol version that is not an integer is malformed, not merely unsupported.",
        "protocol: must be an integer version", text='{"changes":[],"protocol":1.5}')
invalid("31-audit-event-modified", "An edit of an audit event: a reveal, once recorded, cannot be changed (§5.4).",
        "changes[0].context: must be empty: audit_events records are append-only and cannot be modified",
        obj=batch(change("ra", 3, {"action": "hidden"}, {"ra": 2}, rid=E1, table="audit_events")))


# --- transport vectors (§9) ------------------------------------------------------

TRANSPORT = []


def transport(name, description, message, obj=None, text=None, expect=None, error=None, code=None, canonical_form=True):
    entry = {"name": name, "description": description, "message": message}
    entry["input"] = canonical(obj) if obj is not None else text
    if expect is not None:
        entry["expect"] = expect
        if canonical_form:
            entry["canonical"] = canonical(obj)
    else:
        entry["error"] = error
        entry["code"] = code or "invalid"
    TRANSPORT.append((name, entry))


TOKEN = "0a1b2c3d4e5f." + "7" * 64
enrol = {"protocol": 1, "replica": "0123456789abcdef0123456789abcdef", "staff": "李娜", "token": TOKEN}
transport("01-enrol-request", "POST /enrol: a replica id, the staff member, the one-time token (§9.2).", "enrol_request",
          obj=enrol, expect={"replica": enrol["replica"], "staff": "李娜", "token": TOKEN})
transport("02-enrol-unknown-field", "A request member the protocol does not define is refused (§9.1).", "enrol_request",
          obj=dict(enrol, office="HSM"), error="office: unknown field")
transport("03-enrol-missing-token", "The token is required.", "enrol_request",
          obj={k: v for k, v in enrol.items() if k != "token"}, error="token: is required")
transport("04-enrol-empty-replica", "An empty replica id.", "enrol_request",
          obj=dict(enrol, replica=""), error="replica: must not be empty")
transport("05-enrol-protocol-2", "A request of protocol version 2 (the server answers 426).", "enrol_request",
          obj=dict(enrol, protocol=2), error="protocol: version 2 is not supported; supported: 1", code="unsupported_version")
transport("06-push-response", "The answer to a push: new, already held, and every counter held (§9.4).", "push_response",
          obj={"accepted": 2, "duplicates": 1, "holds": 3, "protocol": 1}, expect={"accepted": 2, "duplicates": 1, "holds": 3})
page = {"changes": [a1, tb], "cursor": "v1.2", "holds": 0, "more": False, "offices": {"ra": "HSM", "rb": "XQ"}, "protocol": 1}
transport("07-pull-response", "A page of two changes in arrival order, the next position, the writers' offices (§9.5).",
          "pull_response", obj=page,
          expect={"dots": ["ra:1", "rb:1"], "cursor": "v1.2", "holds": 0, "more": False, "offices": {"ra": "HSM", "rb": "XQ"}})
transport("08-pull-response-unknown-member", "A client ignores response members it does not know (§9.1).", "pull_response",
          obj={"changes": [], "cursor": "", "holds": 5, "more": False, "offices": {}, "protocol": 1, "server_note": "x"},
          expect={"dots": [], "cursor": "", "holds": 5, "more": False, "offices": {}}, canonical_form=False)
transport("09-pull-response-invalid-change", "Every pulled change is validated as a pushed one.", "pull_response",
          obj={"changes": [with_(a1, ["dot", "counter"], 0)], "cursor": "v1.1", "holds": 0, "more": False, "offices": {},
               "protocol": 1},
          error="changes[0].dot.counter: must be ≥ 1")
transport("10-error-gap", "An error object; `holds` comes with `gap` (§9.4).", "error",
          obj={"error": {"code": "gap", "holds": 4, "message": "cannot accept the changes: counter 5 of this replica is missing; push again from counter 5"}},
          expect={"code": "gap", "holds": 4,
                  "message": "cannot accept the changes: counter 5 of this replica is missing; push again from counter 5"})
transport("12-error-out-of-scope", "Changes outside the writer's jurisdiction, listed; `holds` counts refused counters (§9.6).",
          "error",
          obj={"error": {"code": "out_of_scope", "holds": 1,
                         "message": "cannot accept the changes: 1 change(s) are to records outside office HSM's jurisdiction: cases/c2",
                         "refused": [{"counter": 2, "record": "c2", "table": "cases"}]}},
          expect={"code": "out_of_scope", "holds": 1,
                  "message": "cannot accept the changes: 1 change(s) are to records outside office HSM's jurisdiction: cases/c2",
                  "refused": [{"counter": 2, "record": "c2", "table": "cases"}]})
transport("13-pull-response-purge", "A page telling the caller to purge a case that left its jurisdiction (§9.6).",
          "pull_response",
          obj={"changes": [], "cursor": "v1.9.2", "holds": 3, "more": False, "offices": {}, "protocol": 1,
               "purge": [{"id": "0193f1c2-7a00-7000-8000-000000000001", "table": "cases"}]},
          expect={"dots": [], "cursor": "v1.9.2", "holds": 3, "more": False, "offices": {},
                  "purge": ["cases/0193f1c2-7a00-7000-8000-000000000001"]})
transport("11-rekey-response", "The answer to POST /rekey: the new credential (§9.2).", "rekey_response",
          obj={"credential": "0123456789abcdef0123456789abcdef." + "c" * 64, "protocol": 1},
          expect={"credential": "0123456789abcdef0123456789abcdef." + "c" * 64})

D1 = "a" * 64
D2 = "0123456789abcdef" * 4
reissue = {"after": 2, "digests": [D1, D2], "protocol": 1, "replica": "fedcba9876543210fedcba9876543210"}
transport("14-reissue-request", "POST /reissue: the fresh id, and the digests of own changes 3 and 4 (§9.8).", "reissue_request",
          obj=reissue, expect={"replica": reissue["replica"], "after": 2, "digests": [D1, D2]})
transport("15-reissue-digest-upper-case", "A digest is 64 lower-case hex digits (§9.8).", "reissue_request",
          obj=dict(reissue, digests=[D1.upper()]), error="digests[0]: must be 64 lower-case hex digits")
transport("16-reissue-after-negative", "`after` is a counter: 0 to 2^53.", "reissue_request",
          obj=dict(reissue, after=-1), error="after: must be an integer from 0 to 2^53")
transport("17-reissue-response", "The answer to POST /reissue: the new credential, `same` and `holds` (§9.8).",
          "reissue_response",
          obj={"credential": "fedcba9876543210fedcba9876543210." + "d" * 64, "holds": 5, "protocol": 1,
               "replica": "fedcba9876543210fedcba9876543210", "same": 2},
          expect={"credential": "fedcba9876543210fedcba9876543210." + "d" * 64, "holds": 5,
                  "replica": "fedcba9876543210fedcba9876543210", "same": 2})


def write(kind, items):
    folder = os.path.join(ROOT, kind)
    os.makedirs(folder, exist_ok=True)
    for old in os.listdir(folder):
        if old.endswith(".json"):
            os.remove(os.path.join(folder, old))
    for name, body in items:
        with open(os.path.join(folder, name + ".json"), "w", encoding="utf-8") as f:
            json.dump(body, f, ensure_ascii=False, indent=2)
            f.write("\n")


write("valid", VALID)
write("invalid", INVALID)
write("transport", TRANSPORT)
print(f"{len(VALID)} valid, {len(INVALID)} invalid, {len(TRANSPORT)} transport vectors written to {os.path.normpath(ROOT)}")
