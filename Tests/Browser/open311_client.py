#!/usr/bin/env python3
"""A third-party GeoReport v2 client library, unchanged, against rain-server: civicbot
(PyPI, pinned in .ci/run). Lists services, posts a request, reads it back. Prints one
JSON line. Called by Tests/SyncEndToEndTests/ResidentAPITests.swift.

  open311_client.py BASE_URL COMMUNITY PHONE
"""
import json
import sys

from civicbot import Endpoint, HttpTransport, Open311Client
from civicbot.http import RateLimiter

base, community, phone = sys.argv[1], sys.argv[2], sys.argv[3]
endpoint = Endpoint(id="rain", name="rain-server", base_url=base, write=True, api_key_required_for_write=False)
client = Open311Client(endpoint, HttpTransport(rate_limiter=RateLimiter(0)), jurisdiction_id=community)
services = client.list_services()
code = next(s["service_code"] for s in services if s["group"] == "help")
posted = client.create_request(code, dry_run=False, confirm="SEND", api_key="unused",
                               description="独居老人家中水管漏水，需要上门帮助", address_string="和平路 3 号 2 单元",
                               first_name="建国", last_name="李", phone=phone, lat=31.23, lng=121.47)
answer = posted.response
rid = (answer[0] if isinstance(answer, list) else answer)["service_request_id"]
fetched = client.get_request(rid)
several = client.list_requests(service_request_ids=[rid])
print(json.dumps(dict(ok=True, services=len(services), code=code, id=rid, fetched=fetched, several=several),
                 ensure_ascii=False))
