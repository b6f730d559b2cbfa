"""Makes a live call with 40 entries through the pipeline API and prints its public
debug link (scripts/bench.sh, the public endpoint's load test). With --append, then keeps
appending one entry every 100 ms to that call until killed (a call that changes while it
is read). Standard library only; talks to the server on loopback.

usage: live_link.py BASE API_KEY PIPELINE_TOKEN [--append CALL_ID]
"""
import json
import sys
import time
import urllib.request


def call(base, method, path, token, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        base + path,
        method=method,
        data=data,
        headers={"Content-Type": "application/json", "Authorization": "Bearer " + token},
    )
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def entry(seq):
    if seq % 2:
        return {"seq": seq, "role": "assistant", "timestamp": seq * 2.5,
                "content": f"Reply {seq}: your claim number is 4471 and I will text +31612345678.",
                "llm_ttfb_ms": 200 + seq, "tts_start_ms": 320 + seq, "tts_ttfb_ms": 90 + seq}
    return {"seq": seq, "role": "user", "timestamp": seq * 2.5,
            "content": f"Question {seq}: can you call me back on 06 1234 5678?"}


def main():
    base, key, pipeline = sys.argv[1:4]
    if len(sys.argv) > 5 and sys.argv[4] == "--append":
        call_id = sys.argv[5]
        seq = 41
        while True:
            call(base, "POST", f"/pipeline/v1/calls/{call_id}/turns", pipeline, {"turns": [entry(seq)]})
            seq += 1
            time.sleep(0.1)
    agent = call(base, "GET", "/v1/calls?limit=1", key)["calls"][0]["agent_id"]
    created = call(base, "POST", "/pipeline/v1/calls", pipeline, {
        "agent_id": agent, "from_number": "+31612345678", "to_number": "+31850012345",
        "status": "in-progress"})
    call_id = created["call_id"]
    call(base, "POST", f"/pipeline/v1/calls/{call_id}/turns", pipeline,
         {"turns": [entry(s) for s in range(1, 41)]})
    link = call(base, "GET", f"/v1/calls/{call_id}/debug-link", key)
    print(call_id, base + link["url"])


main()
