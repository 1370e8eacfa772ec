# The correctness topology's client: sends every request given on stdin (one JSON object per
# line: {"path", "traceparent"}) with at most N in flight (a thread each, a new connection per
# request), and prints one JSON line per request: {"path", "status"}.
# Usage: python3 client.py HOST PORT N < requests.jsonl
import http.client
import json
import sys
from concurrent.futures import ThreadPoolExecutor

HOST, PORT, N = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
jobs = [json.loads(line) for line in sys.stdin if line.strip()]


def send(job):
    try:
        conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
        conn.request('GET', job['path'], headers={'traceparent': job['traceparent']})
        resp = conn.getresponse()
        resp.read()
        conn.close()
        return {'path': job['path'], 'status': resp.status}
    except Exception as err:  # reported, not raised: the caller counts failures
        return {'path': job['path'], 'status': 0, 'error': str(err)}


with ThreadPoolExecutor(max_workers=N) as pool:
    for result in pool.map(send, jobs):
        print(json.dumps(result), flush=True)
