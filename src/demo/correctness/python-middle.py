# A Python thread-per-request middle tier (http.server.ThreadingHTTPServer), knowing nothing of
# tracing: `/work/<id>` sleeps a little, calls the leaf's `/leaf/<id>` once, answers.
# Usage: python3 python-middle.py PORT LEAF_PORT
import http.client
import random
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
LEAF_PORT = int(sys.argv[2])


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        rid = self.path.rsplit('/', 1)[-1]
        time.sleep(random.random() * 0.008)
        conn = http.client.HTTPConnection('127.0.0.1', LEAF_PORT, timeout=10)
        conn.request('GET', '/leaf/' + rid)
        body = conn.getresponse().read()
        conn.close()
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.request_queue_size = 256
ThreadingHTTPServer(('127.0.0.1', PORT), Handler).serve_forever()
