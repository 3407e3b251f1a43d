"""Outside calls from rule code: answered from fixtures offline, recorded always.

Offline (the default) nothing rule code does leaves the machine:
- HTTP through http.client (so urllib, requests/urllib3, xmlrpc...) is
  answered from fixtures by a stand-in socket that never connects, so the
  libraries parse a real HTTP response and raise their usual errors;
- AWS calls through botocore (boto3) are answered by service and operation,
  from fixtures or the built-in answers for STS and Secrets Manager, without
  signing or sending anything;
- any other connection or DNS lookup that would leave the machine fails.
Real: calls go out unchanged, and are recorded the same way.

Every call is recorded for the item being evaluated and sent back with its
result. Hooks are installed on first import of socket, http.client and
botocore.client (a post-import hook), so a worker imports none of them at
boot and a rule that makes no calls pays nothing.
"""

import base64
import functools
import importlib.abc
import io
import ipaddress
import json
import re
import sys
import threading
import time

OFFLINE = "offline"
REAL = "real"
# Records kept per item: a loop making thousands of calls is shown by its
# first ones (the tally still counts every call).
MAX_RECORDS = 1000

mode = OFFLINE
# Records of the current item's calls (None until the first), and secret
# values received from real calls since they were last sent to Go.
calls = None
learned = None

_http = []
_aws = []
_secrets = {}
_secret_sources = {}
_account = "123456789012"
_installed = False
_local = threading.local()
# Calls per (detection, API, function) since the last stats() — a replay
# sends back only matches, but rate limits count every call.
_tally = {}
_sent_secrets = set()
# The harness's evaluation loops (runner, replay) sit right above the
# detection's own frames; this module's hooks sit anywhere below them, and
# panther_core and the helpers are called by rule code.
_LOOP_FILES = "<rulebench>/rulebench/"
_THIS_FILE = _LOOP_FILES + "network.py"

_HOW = "add it to a file in the fixtures directory (or name one with --fixtures), or run with --network real"


class FixtureMissing(ConnectionError):
    """Offline, and no fixture answers this request."""


class NetworkBlocked(ConnectionRefusedError):
    """Offline: a connection that would leave the machine."""


def configure(settings):
    """Apply the network settings Go sent with the worker's configuration."""
    global mode, _http, _aws, _secrets, _secret_sources, _account
    settings = settings or {}
    mode = REAL if settings.get("mode") == REAL else OFFLINE
    _http = [_HTTPFixture(entry) for entry in settings.get("http") or []]
    _aws = list(settings.get("aws") or [])
    _secrets = dict(settings.get("secrets") or {})
    _secret_sources = dict(settings.get("secret_sources") or {})
    _account = settings.get("account") or "123456789012"
    _install()


def attach(reply):
    """Move the recorded calls and learned secrets into a result or load reply."""
    global calls, learned
    taken, calls = calls, None
    secrets, learned = learned, None
    if taken:
        reply["network_calls"] = taken
    if secrets:
        reply["secrets"] = secrets


def discard():
    """Forget the current item's call records (a replay sends back only
    matches); learned secrets stay for the next attach()."""
    global calls
    calls = None


def _record(entry):
    global calls
    function, detection = _caller()
    if function:
        entry["function"] = function
    if calls is None:
        calls = [entry]
    elif len(calls) < MAX_RECORDS:
        calls.append(entry)
    key = (detection or "", _api(entry), function or "")
    row = _tally.get(key)
    if row is None:
        row = _tally[key] = [0, 0, 0]
    row[0] += 1
    if entry.get("error") or entry.get("source") in ("missing", "blocked") or (entry.get("status") or 0) >= 400:
        row[1] += 1
    row[2] += entry.get("duration_ns") or 0


def _api(entry):
    """What a rate limit applies to (as NetworkCall.API in Go)."""
    kind = entry.get("kind")
    if kind == "aws":
        return "%s:%s" % (entry.get("service"), entry.get("operation"))
    if kind == "http":
        url = entry.get("url") or ""
        scheme, sep, rest = url.partition("://")
        if not sep:
            return url
        for i, ch in enumerate(rest):
            if ch in "/?#":
                return scheme + sep + rest[:i]
        return url
    return "%s %s" % (kind, entry.get("host") or entry.get("target"))


def stats():
    """Calls per detection, API and function since the last call, as rows."""
    global _tally
    taken, _tally = _tally, {}
    return [
        {"detection": det, "api": api, "function": fn, "calls": row[0], "failed": row[1], "duration_ns": row[2]}
        for (det, api, fn), row in taken.items()
    ]


def _learn(name, value):
    global learned
    # Go masks a value for good once told: each is sent once per process.
    if isinstance(value, str) and value and value not in _sent_secrets:
        _sent_secrets.add(value)
        item = {"name": str(name or "secret"), "value": value}
        if learned is None:
            learned = [item]
        else:
            learned.append(item)


def _caller():
    """The detection function making the call (rule, alert_context... or
    "import") and the detection's ID, when a detection is running.

    Read from the stack, so evaluation code pays nothing for it: the
    outermost frame below the harness's evaluation loop is the detection
    function itself (or its module's code, during the import), and its
    module is named after the detection ID.
    """
    frame = sys._getframe(2)
    candidate = None
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename == _THIS_FILE:
            pass  # the hooks themselves, anywhere in the stack
        elif filename.startswith(_LOOP_FILES):
            if candidate is not None:
                name = candidate.f_code.co_name
                return ("import" if name == "<module>" else name), candidate.f_globals.get("__name__")
        elif not filename.startswith("<frozen "):
            candidate = frame
        frame = frame.f_back
    # Not under an evaluation: a thread the rule started, say.
    return None, None


def _elapsed(started):
    return int((time.perf_counter() - started) * 1e9)


def _describe(exc):
    text = str(exc)
    return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__


# -- installing the hooks ------------------------------------------------------


class _PostImport(importlib.abc.MetaPathFinder):
    """Runs a hook on a module right after its first import."""

    def __init__(self, hooks):
        self.hooks = hooks

    def find_spec(self, fullname, path=None, target=None):
        hook = self.hooks.get(fullname)
        if hook is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _PatchingLoader(spec.loader, fullname, hook, self)
        return spec


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, loader, name, hook, finder):
        self.loader = loader
        self.name = name
        self.hook = hook
        self.finder = finder

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        # The module looks as if it was imported normally.
        module.__loader__ = self.loader
        if getattr(module, "__spec__", None) is not None:
            module.__spec__.loader = self.loader
        self.finder.hooks.pop(self.name, None)
        self.hook(module)

    def __getattr__(self, name):
        return getattr(self.loader, name)


def _install():
    global _installed
    if _installed:
        return
    _installed = True
    hooks = {"socket": _patch_socket, "http.client": _patch_http, "botocore.client": _patch_botocore}
    for name in list(hooks):
        module = sys.modules.get(name)
        if module is not None:
            hooks.pop(name)(module)
    if hooks:
        sys.meta_path.insert(0, _PostImport(hooks))


# -- raw sockets and DNS -------------------------------------------------------


def _numeric(host):
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    try:
        ipaddress.ip_address(str(host).strip("[]").split("%")[0])
        return True
    except ValueError:
        return False


def _local_host(host):
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]").split("%")[0].lower()
    if host in ("", "localhost") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _blocked(kind, host, what):
    message = (
        "rulebench --network offline: %s blocked: it would leave the machine. Only HTTP (http.client, "
        "urllib, requests) and AWS calls (boto3) are answered offline, from fixtures; "
        "run with --network real to let it out" % what
    )
    _record({"kind": kind, "target": what, "host": host, "source": "blocked", "error": message, "duration_ns": 0})
    return message


def _patch_socket(socket_module):
    cls = socket_module.socket
    inet = (socket_module.AF_INET, getattr(socket_module, "AF_INET6", None))

    def guard(sock, address):
        if mode != OFFLINE or sock.family not in inet or not isinstance(address, tuple) or len(address) < 2:
            return
        host, port = address[0], address[1]
        if _local_host(host):
            return
        proto = "udp" if sock.type == socket_module.SOCK_DGRAM else "tcp"
        target = "%s %s:%s" % (proto, host, port)
        raise NetworkBlocked(_blocked("socket", "%s:%s" % (host, port), "connection to " + target))

    original_connect = cls.connect
    original_connect_ex = cls.connect_ex
    original_sendto = cls.sendto

    @functools.wraps(original_connect)
    def connect(self, address):
        guard(self, address)
        return original_connect(self, address)

    @functools.wraps(original_connect_ex)
    def connect_ex(self, address):
        guard(self, address)
        return original_connect_ex(self, address)

    @functools.wraps(original_sendto)
    def sendto(self, data, *args):
        if args:
            guard(self, args[-1])
        return original_sendto(self, data, *args)

    cls.connect = connect
    cls.connect_ex = connect_ex
    cls.sendto = sendto

    def resolver(original):
        @functools.wraps(original)
        def resolve(host, *args, **kwargs):
            # A numeric address needs no lookup; connect() judges it.
            if mode == OFFLINE and not _numeric(host) and not _local_host(host) and not _is_own_name(socket_module, host):
                message = _blocked("dns", str(host), "DNS lookup of %s" % (host,))
                raise socket_module.gaierror(socket_module.EAI_NONAME, message)
            return original(host, *args, **kwargs)

        return resolve

    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex"):
        setattr(socket_module, name, resolver(getattr(socket_module, name)))


def _is_own_name(socket_module, host):
    try:
        return str(host).lower() == socket_module.gethostname().lower()
    except OSError:
        return False


# -- HTTP through http.client ----------------------------------------------------


class _HTTPFixture:
    def __init__(self, entry):
        self.source = entry.get("source") or ""
        self.name = entry.get("name") or ""
        self.method = (entry.get("method") or "").upper()
        self.url = entry.get("url") or ""
        self.pattern = re.compile(entry.get("pattern") or "^$", re.DOTALL)
        self.request_headers = {k.lower(): re.compile(v, re.DOTALL) for k, v in (entry.get("request_headers") or {}).items()}
        self.status = int(entry.get("status") or 200)
        self.headers = dict(entry.get("headers") or {})
        if entry.get("body_base64"):
            self.body = base64.b64decode(entry["body_base64"])
        else:
            self.body = (entry.get("body") or "").encode("utf-8")
        self.latency = float(entry.get("latency") or 0)

    def misses(self, method, url, headers):
        """Why the fixture does not answer (None when it does)."""
        if not self.pattern.match(url):
            return "url"
        if self.method and self.method != method:
            return "method %s" % self.method
        for name, pattern in self.request_headers.items():
            value = headers.get(name)
            if value is None or not pattern.match(value):
                return "request header %s" % name
        return None


def _scheme(http_client, conn):
    https = getattr(http_client, "HTTPSConnection", None)
    if (https is not None and isinstance(conn, https)) or getattr(conn, "default_port", 80) == 443:
        return "https"
    return "http"


def _origin(http_client, conn, host=None):
    scheme = _scheme(http_client, conn)
    if host is None:
        name = getattr(conn, "_tunnel_host", None) or conn.host
        port = getattr(conn, "_tunnel_port", None) or conn.port
        if ":" in name and not name.startswith("["):
            name = "[%s]" % name
        default = 443 if scheme == "https" else 80
        host = name if not port or port == default else "%s:%s" % (name, port)
    return "%s://%s" % (scheme, host)


def _full_url(http_client, conn, target, host=None):
    if target.startswith("http://") or target.startswith("https://"):
        return target
    if not target.startswith("/"):
        target = "/" + target
    return _origin(http_client, conn, host) + target


class _FixtureSocket:
    """Stands in for the connection's socket offline: collects the request
    http.client writes and answers it from a fixture when the response is
    read. A request no fixture answers fails as soon as its headers are
    written, where a refused connection would fail, so libraries wrap the
    error as they would a network failure (urllib's URLError, requests'
    ConnectionError)."""

    def __init__(self, http_client, conn):
        self._http_client = http_client
        self._conn = conn
        self._out = bytearray()
        self._timeout = None
        self._request = None

    def sendall(self, data, *args):
        self._out += data
        if self._request is None and b"\r\n\r\n" in self._out:
            self._request = _match_http(self._http_client, self._conn, bytes(self._out))

    def send(self, data, *args):
        self.sendall(data)
        return len(data)

    def makefile(self, *args, **kwargs):
        request, self._request, self._out = self._request, None, bytearray()
        if request is None:
            raise FixtureMissing("rulebench --network offline: the response was read before a request was sent")
        return io.BytesIO(_answer_http(request))

    def settimeout(self, value):
        self._timeout = value

    def gettimeout(self):
        return self._timeout

    def setblocking(self, flag):
        pass

    def setsockopt(self, *args):
        pass

    def shutdown(self, how):
        pass

    def close(self):
        pass


def _match_http(http_client, conn, raw):
    """The fixture for a request (by its head), or FixtureMissing."""
    started = time.perf_counter()
    head = raw.partition(b"\r\n\r\n")[0]
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    method = parts[0].upper() if parts else "GET"
    target = parts[1] if len(parts) > 1 else "/"
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    url = _full_url(http_client, conn, target, headers.get("host"))
    record = {"kind": "http", "target": "%s %s" % (method, url), "method": method, "url": url}
    near = None
    for fixture in _http:
        miss = fixture.misses(method, url, headers)
        if miss is None:
            return fixture, record, started
        if near is None and miss != "url":
            near = "%s matches the URL but not its %s" % (fixture.source, miss)
    message = "rulebench --network offline: no fixture for %s %s%s; %s (http: - method: %s, url: %s)" % (
        method,
        url,
        " (%s)" % near if near else "",
        _HOW,
        method,
        url.split("?")[0],
    )
    record.update(source="missing", error=message, duration_ns=_elapsed(started))
    _record(record)
    raise FixtureMissing(message)


def _answer_http(request):
    fixture, record, started = request
    if fixture.latency > 0:
        time.sleep(fixture.latency)
    record.update(status=fixture.status, source="fixture", fixture=fixture.source, duration_ns=_elapsed(started))
    _record(record)
    return _response_bytes(fixture)


def _response_bytes(fixture):
    from http import HTTPStatus  # pylint: disable=import-outside-toplevel

    try:
        reason = HTTPStatus(fixture.status).phrase
    except ValueError:
        reason = ""
    lines = ["HTTP/1.1 %d %s" % (fixture.status, reason)]
    for name, value in fixture.headers.items():
        if name.lower() not in ("content-length", "transfer-encoding", "connection"):
            lines.append("%s: %s" % (name, value))
    # One request per connection: nothing is kept alive between answers.
    lines.append("Content-Length: %d" % len(fixture.body))
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + fixture.body


def _patch_http(http_client):
    base = http_client.HTTPConnection

    def wrap_connect(cls):
        original = cls.__dict__.get("connect")
        if original is None or getattr(original, "_rulebench", False):
            return

        @functools.wraps(original)
        def connect(self, *args, **kwargs):
            if mode == OFFLINE:
                self.sock = _FixtureSocket(http_client, self)
                # urllib3 warns about HTTPS connections it did not verify;
                # there is no TLS to verify here.
                if hasattr(self, "is_verified"):
                    self.is_verified = True
                return None
            self.__dict__.setdefault("_rulebench_started", time.perf_counter())
            try:
                return original(self, *args, **kwargs)
            except BaseException as exc:
                _real_failure(http_client, self, exc)
                raise

        connect._rulebench = True
        cls.connect = connect

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    wrap_connect(base)
    for sub in list(subclasses(base)):
        wrap_connect(sub)

    def __init_subclass__(cls, **kwargs):
        super(base, cls).__init_subclass__(**kwargs)
        # Classes defined later (urllib3's, botocore's) get the same hook.
        wrap_connect(cls)

    base.__init_subclass__ = classmethod(__init_subclass__)

    original_putrequest = base.putrequest
    original_getresponse = base.getresponse

    @functools.wraps(original_putrequest)
    def putrequest(self, method, url, *args, **kwargs):
        if mode == REAL and not getattr(_local, "aws", 0):
            started = self.__dict__.get("_rulebench_started") or time.perf_counter()
            self._rulebench_pending = (str(method).upper(), _full_url(http_client, self, url), started)
        return original_putrequest(self, method, url, *args, **kwargs)

    @functools.wraps(original_getresponse)
    def getresponse(self, *args, **kwargs):
        try:
            response = original_getresponse(self, *args, **kwargs)
        except BaseException as exc:
            _real_failure(http_client, self, exc)
            raise
        pending = self.__dict__.pop("_rulebench_pending", None)
        self.__dict__.pop("_rulebench_started", None)
        if pending is not None:
            method, url, started = pending
            _record(
                {
                    "kind": "http",
                    "target": "%s %s" % (method, url),
                    "method": method,
                    "url": url,
                    "status": getattr(response, "status", 0) or 0,
                    "source": "real",
                    "duration_ns": _elapsed(started),
                }
            )
        return response

    base.putrequest = putrequest
    base.getresponse = getresponse


def _real_failure(http_client, conn, exc):
    """Records a real-mode request that failed before it got a response."""
    started = conn.__dict__.pop("_rulebench_started", None)
    pending = conn.__dict__.pop("_rulebench_pending", None)
    if mode != REAL or getattr(_local, "aws", 0) or getattr(exc, "_rulebench_recorded", False):
        return
    if pending is not None:
        method, url, started = pending
    else:
        method, url = "", _origin(http_client, conn) + "/"
    _record(
        {
            "kind": "http",
            "target": ("%s %s" % (method, url)).strip(),
            "method": method,
            "url": url,
            "source": "real",
            "error": _describe(exc),
            "duration_ns": _elapsed(started) if started else 0,
        }
    )
    try:
        exc._rulebench_recorded = True
    except AttributeError:
        pass


# -- AWS through botocore ----------------------------------------------------------


def _op_key(name):
    return str(name).replace("_", "").lower()


def _matches(expected, actual):
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and _matches(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, (list, tuple)) and len(expected) == len(actual) and all(
            _matches(e, a) for e, a in zip(expected, actual)
        )
    return expected == actual


def _secret_name(secret_id):
    secret_id = str(secret_id or "")
    if secret_id in _secrets:
        return secret_id
    if secret_id.startswith("arn:") and ":secret:" in secret_id:
        name = secret_id.split(":secret:", 1)[1]
        if name in _secrets:
            return name
        # Secret ARNs end in a dash and six random characters.
        if len(name) > 7 and name[-7] == "-" and name[:-7] in _secrets:
            return name[:-7]
        return name
    return secret_id


def _secret_arn(name, region):
    return "arn:aws:secretsmanager:%s:%s:secret:%s-RbFix0" % (region or "us-east-1", _account, name)


def _iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _builtin(service, op, params, region):
    """The answers offline mode gives without a fixture: throwaway STS
    credentials, and fixture secrets through Secrets Manager."""
    if service == "sts" and op == "assumerole":
        role_arn = str(params.get("RoleArn") or "")
        session = str(params.get("RoleSessionName") or "rulebench")
        fields = role_arn.split(":")
        account = fields[4] if len(fields) > 5 and fields[4] else _account
        role = role_arn.rsplit("/", 1)[-1] or "role"
        duration = params.get("DurationSeconds") or 3600
        return {
            "response": {
                "Credentials": {
                    "AccessKeyId": "ASIARULEBENCHOFFLINE",
                    "SecretAccessKey": "rulebench-offline-throwaway-secret-access-key",
                    "SessionToken": "rulebench-offline-throwaway-session-token",
                    "Expiration": _iso(time.time() + int(duration)),
                },
                "AssumedRoleUser": {
                    "AssumedRoleId": "AROARULEBENCHOFFLINE:%s" % session,
                    "Arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (account, role, session),
                },
            },
            "source": "built-in",
        }
    if service == "sts" and op == "getcalleridentity":
        return {
            "response": {
                "UserId": "AIDARULEBENCHOFFLINE",
                "Account": _account,
                "Arn": "arn:aws:iam::%s:user/rulebench-offline" % _account,
            },
            "source": "built-in",
        }
    if service == "secretsmanager" and op in ("getsecretvalue", "describesecret"):
        name = _secret_name(params.get("SecretId"))
        if name not in _secrets:
            return {
                "error": {
                    "code": "ResourceNotFoundException",
                    "message": "Secrets Manager can't find the specified secret. (rulebench --network offline: no "
                    "fixture secret named %r: %s, e.g. secrets: {%s: VALUE})" % (name, _HOW, name),
                    "status": 400,
                },
                "source": "missing",
            }
        created = _iso(1704067200)
        if op == "describesecret":
            response = {
                "ARN": _secret_arn(name, region),
                "Name": name,
                "Description": "rulebench fixture",
                "LastChangedDate": created,
                "VersionIdsToStages": {"rulebench-fixture": ["AWSCURRENT"]},
            }
        else:
            response = {
                "ARN": _secret_arn(name, region),
                "Name": name,
                "VersionId": "rulebench-fixture",
                "SecretString": _secrets[name],
                "VersionStages": ["AWSCURRENT"],
                "CreatedDate": created,
            }
        return {"response": response, "source": _secret_sources.get(name) or "built-in"}
    return None


def _shaped(shape, value):
    """A fixture's JSON value in the types botocore would have parsed it to
    (datetimes for timestamps, bytes for blobs, a stream for streamed bodies)."""
    if shape is None or value is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        members = shape.members
        return {k: _shaped(members.get(k), v) for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        return [_shaped(shape.member, v) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _shaped(shape.value, v) for k, v in value.items()}
    if kind == "timestamp" and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        from botocore.utils import parse_timestamp  # pylint: disable=import-outside-toplevel

        return parse_timestamp(value)
    if kind == "blob":
        if isinstance(value, dict) and set(value) == {"base64"}:
            data = base64.b64decode(value["base64"])
        elif isinstance(value, str):
            data = value.encode("utf-8")
        else:
            return value
        if shape.serialization.get("streaming"):
            from botocore.response import StreamingBody  # pylint: disable=import-outside-toplevel

            return StreamingBody(io.BytesIO(data), len(data))
        return data
    return value


def _answer_aws(client, operation_name, api_params):
    started = time.perf_counter()
    service_model = client.meta.service_model
    service = service_model.service_name
    region = client.meta.region_name
    record = {
        "kind": "aws",
        "target": "%s:%s" % (service, operation_name),
        "service": service,
        "operation": operation_name,
        "region": region or "",
    }
    operation_model = service_model.operation_model(operation_name)
    if client.meta.config.parameter_validation and operation_model.input_shape is not None:
        from botocore.validate import validate_parameters  # pylint: disable=import-outside-toplevel

        validate_parameters(api_params, operation_model.input_shape)
    op = _op_key(operation_name)
    answer = None
    for fixture in _aws:
        if fixture.get("service") == service and fixture.get("key") == op and _matches(fixture.get("params") or {}, api_params):
            answer = {"response": fixture.get("response"), "error": fixture.get("error"), "source": fixture.get("source")}
            if fixture.get("latency"):
                time.sleep(float(fixture["latency"]))
            break
    if answer is None:
        answer = _builtin(service, op, api_params, region)
    if answer is None:
        message = "rulebench --network offline: no fixture for %s:%s; %s (aws: - service: %s, operation: %s, response: {...})" % (
            service,
            operation_name,
            _HOW,
            service,
            operation_name,
        )
        answer = {"error": {"code": "RulebenchNoFixture", "message": message, "status": 0}, "source": "missing"}
    source = answer.get("source") or ""
    if source == "missing":
        record["source"] = "missing"
    else:
        record["source"] = "fixture"
        record["fixture"] = source
    metadata = {"RequestId": "rulebench-fixture", "HTTPHeaders": {}, "RetryAttempts": 0}
    error = answer.get("error")
    if error:
        status = int(error.get("status") or 0)
        code = error.get("code") or "ClientError"
        metadata["HTTPStatusCode"] = status
        record.update(status=status, code=code, error="%s: %s" % (code, error.get("message") or ""))
        record["duration_ns"] = _elapsed(started)
        _record(record)
        response = {"Error": {"Code": code, "Message": error.get("message") or ""}, "ResponseMetadata": metadata}
        raise client.exceptions.from_code(code)(response, operation_name)
    parsed = _shaped(operation_model.output_shape, json.loads(json.dumps(answer.get("response") or {})))
    metadata["HTTPStatusCode"] = 200
    parsed["ResponseMetadata"] = metadata
    record["status"] = 200
    record["duration_ns"] = _elapsed(started)
    _record(record)
    return parsed


def _real_aws(original, client, operation_name, api_params):
    started = time.perf_counter()
    service = client.meta.service_model.service_name
    record = {
        "kind": "aws",
        "target": "%s:%s" % (service, operation_name),
        "service": service,
        "operation": operation_name,
        "region": client.meta.region_name or "",
        "source": "real",
    }
    # botocore's own HTTP request is this call: don't record it twice.
    _local.aws = getattr(_local, "aws", 0) + 1
    try:
        response = original(client, operation_name, api_params)
    except Exception as exc:
        answer = getattr(exc, "response", None)
        if isinstance(answer, dict):
            record["status"] = (answer.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0
            record["code"] = (answer.get("Error") or {}).get("Code") or ""
        record["error"] = _describe(exc)
        record["duration_ns"] = _elapsed(started)
        _record(record)
        raise
    finally:
        _local.aws -= 1
    record["status"] = ((response or {}).get("ResponseMetadata") or {}).get("HTTPStatusCode") or 200
    record["duration_ns"] = _elapsed(started)
    _record(record)
    if service == "secretsmanager" and _op_key(operation_name) == "getsecretvalue" and isinstance(response, dict):
        name = response.get("Name") or api_params.get("SecretId")
        _learn(name, response.get("SecretString"))
        binary = response.get("SecretBinary")
        if isinstance(binary, bytes):
            try:
                _learn(name, binary.decode("utf-8"))
            except UnicodeDecodeError:
                pass
    return response


def _patch_botocore(client_module):
    cls = client_module.BaseClient
    original = cls._make_api_call
    if getattr(original, "_rulebench", False):
        return

    @functools.wraps(original)
    def _make_api_call(self, operation_name, api_params):
        if mode == OFFLINE:
            return _answer_aws(self, operation_name, api_params)
        return _real_aws(original, self, operation_name, api_params)

    _make_api_call._rulebench = True
    cls._make_api_call = _make_api_call
