"""A webhook receiver: verifies each delivery with the endpoint's secret before acting on it. Listens
on 127.0.0.1:$PORT and stops after the first delivery. OAKAUTH_WEBHOOK_SECRET is the whsec_… secret
that OakAuth showed when the endpoint was created."""

import os
from http.server import BaseHTTPRequestHandler, HTTPServer

from oakauth import WebhookVerificationError, WebhookVerifier

webhooks = WebhookVerifier(os.environ["OAKAUTH_WEBHOOK_SECRET"])


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))  # the raw body
        try:
            event = webhooks.verify(body, dict(self.headers.items()))
        except WebhookVerificationError:
            self.send_response(400)
            self.end_headers()
            return
        print(f"{event.type}: {event.data.get('id')}", flush=True)
        self.send_response(204)
        self.end_headers()


server = HTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8790"))), Receiver)
print(f"listening on http://127.0.0.1:{server.server_port}", flush=True)
server.handle_request()
