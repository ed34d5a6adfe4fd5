"""Stand-in for SSM and STS that produces the faults moto cannot.

The SSM parameter name (first of Names, or Name) selects the behaviour:
/fault/<behaviour>/<id>, where <id> makes each test's attempt log its own.

  ok            a GetParameters reply with one parameter (or a
                GetParameter reply when that is the operation)
  throttle      always ThrottlingException (HTTP 400)
  throttle-N    ThrottlingException for the first N attempts, then ok
  error500-N    InternalServerError (HTTP 500) for the first N attempts, then ok
  denied        AccessDeniedException (HTTP 400)
  hang          accept the request and never reply (until the client gives up)
  truncated     promise 500 body bytes, send 40, close the connection
  truncated-N   truncated for the first N attempts, then ok
  skew          the server clock runs one hour ahead. A request whose
                X-Amz-Date is more than 5 minutes off gets InvalidSignatureException
                "Signature expired", with that clock in the Date header.
  expired-N     ExpiredTokenException for the first N attempts, then ok

GetParametersByPath on any path returns four pages of 2, 0, 1 and 0
parameters, linked by NextToken, with the log key being the path.

STS: AssumeRole and AssumeRoleWithWebIdentity return fresh credentials that
expire in one hour; the log key is the RoleArn.

GET /attempts?key=K returns the attempt log of a key as JSON: time,
whether Authorization and X-Amz-Security-Token were present, X-Amz-Date, and
for web identity the token. Usage: fault_server.py PORT_FILE (binds port 0 on
127.0.0.1 and writes the port).
"""

import email.utils
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

SKEW_SECONDS = 3600
HANG_SECONDS = 30

attempts = {}
lock = threading.Lock()


def record(key, entry):
    with lock:
        attempts.setdefault(key, []).append(entry)
        return len(attempts[key])


def parse_amz_date(text):
    try:
        return time.mktime(time.strptime(text, "%Y%m%dT%H%M%SZ")) - time.timezone
    except (TypeError, ValueError):
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    clock_offset = 0
    # One buffered write per reply and no Nagle delay, so keep-alive requests
    # do not wait for delayed ACKs.
    wbufsize = -1
    disable_nagle_algorithm = True

    def log_message(self, format, *args):  # keep test output quiet
        pass

    def date_time_string(self, timestamp=None):
        return email.utils.formatdate(time.time() + self.clock_offset, usegmt=True)

    def reply(self, status, body, content_type="application/x-amz-json-1.1"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(data)

    def json_error(self, status, code, message):
        self.reply(status, json.dumps({"__type": code, "message": message}))

    def do_GET(self):
        url = urlparse(self.path)
        if url.path != "/attempts":
            self.reply(404, "{}")
            return
        key = parse_qs(url.query).get("key", [""])[0]
        with lock:
            body = json.dumps(attempts.get(key, []))
        self.reply(200, body, "application/json")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self.clock_offset = 0
        if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            self.sts(parse_qs(body.decode()))
        else:
            self.ssm(json.loads(body or b"{}"))

    def entry(self):
        return {
            "time": time.time(),
            "authorization": "Authorization" in self.headers,
            "security_token": "X-Amz-Security-Token" in self.headers,
            "amz_date": self.headers.get("X-Amz-Date"),
            "target": self.headers.get("X-Amz-Target"),
        }

    def sts(self, form):
        action = form.get("Action", [""])[0]
        role_arn = form.get("RoleArn", [""])[0]
        entry = self.entry()
        entry["action"] = action
        if action == "AssumeRoleWithWebIdentity":
            entry["web_identity_token"] = form.get("WebIdentityToken", [""])[0]
        entry["external_id"] = form.get("ExternalId", [None])[0]
        record(role_arn, entry)
        expiration = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        suffix = uuid.uuid4().hex[:16].upper()
        xml = (f"<{action}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><{action}Result>"
               f"<Credentials><AccessKeyId>ASIAFAULT{suffix}</AccessKeyId>"
               f"<SecretAccessKey>fault-role-secret-{suffix}</SecretAccessKey>"
               f"<SessionToken>fault-role-token-{suffix}</SessionToken>"
               f"<Expiration>{expiration}</Expiration></Credentials></{action}Result></{action}Response>")
        self.reply(200, xml, "text/xml")

    def ssm(self, request):
        if "Path" in request:
            self.pages(request)
            return
        names = request.get("Names") or [request.get("Name", "")]
        name = names[0]
        parts = name.split("/")
        behaviour = parts[2] if len(parts) > 3 and parts[1] == "fault" else "ok"
        count = record(name, self.entry())
        kind, _, limit_text = behaviour.partition("-")
        limit = int(limit_text) if limit_text.isdigit() else None
        failing = limit is None or count <= limit

        if kind == "throttle" and failing:
            self.json_error(400, "ThrottlingException", "Rate exceeded")
        elif kind == "error500" and failing:
            self.json_error(500, "InternalServerError", "internal failure")
        elif kind == "denied":
            self.json_error(400, "AccessDeniedException", "not authorized to perform ssm:GetParameters")
        elif kind == "expired" and failing:
            self.json_error(400, "ExpiredTokenException", "The security token included in the request is expired")
        elif kind == "hang":
            time.sleep(HANG_SECONDS)
            self.close_connection = True
        elif kind == "truncated" and failing:
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", "500")
            self.end_headers()
            self.wfile.write(b'{"Parameters":[{"Name":"/fault/truncated",')
            self.wfile.flush()
            self.close_connection = True
        elif kind == "skew":
            self.clock_offset = SKEW_SECONDS
            signed_at = parse_amz_date(self.headers.get("X-Amz-Date"))
            server_now = time.time() + SKEW_SECONDS
            if signed_at is None or abs(signed_at - server_now) > 300:
                self.json_error(400, "InvalidSignatureException",
                                "Signature expired: request time is now earlier than server time (- 5 min.)")
            else:
                self.ok(names)
        else:
            self.ok(names)

    def pages(self, request):
        """GetParametersByPath in four pages of 2, 0, 1 and 0 parameters; only the last has no NextToken."""
        path = request["Path"]
        record(path, self.entry())
        layout = {None: (["a", "b"], "t1"), "t1": ([], "t2"), "t2": (["c"], "t3"), "t3": ([], None)}
        token = request.get("NextToken")
        if token not in layout:
            self.json_error(400, "InvalidNextToken", "The token is invalid")
            return
        leaves, next_token = layout[token]
        reply = {"Parameters": [{"Name": f"{path}/{leaf}", "Type": "String", "Value": f"page-value-{leaf}",
                                 "Version": 1, "LastModifiedDate": 1.7e9} for leaf in leaves]}
        if next_token:
            reply["NextToken"] = next_token
        self.reply(200, json.dumps(reply))

    def ok(self, names):
        parameters = [{"Name": n, "Type": "SecureString", "Value": "fault-standin-value-61d2", "Version": 1,
                       "LastModifiedDate": 1.7e9, "ARN": f"arn:aws:ssm:us-east-1:123456789012:parameter{n}",
                       "DataType": "text"} for n in names]
        if self.headers.get("X-Amz-Target") == "AmazonSSM.GetParameter":
            self.reply(200, json.dumps({"Parameter": parameters[0]}))
        else:
            self.reply(200, json.dumps({"Parameters": parameters, "InvalidParameters": []}))


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
