"""The pretix connector's logic in plain Python (no bindings): the same requests, cursor and
records as the Rust connector (`plugins/pretix/src/`), so both replay the same fixtures.

Owns: settings, request planning, the committed cursor (byte-identical JSON to the Rust
side's serde output), parsing the parts of pretix's responses the mapping reads, and the
order -> ticket mapping (see docs/pretix.md). Records are plain dicts keyed by the WIT field
names, `("event" | "ticket", dict)`; `app.py` turns them into the generated WIT types.
Money is exact: decimal strings to integer minor units with `decimal.Decimal`, by the
currency's ISO 4217 exponent (JPY 0, KWD 3); a digit the currency cannot hold is an error.
Nothing about a person but the order's e-mail (the buyer, pseudonymized by the host) is read.
"""

import copy
import json
import re
from decimal import Decimal, localcontext

I64_MAX = (1 << 63) - 1
I64_MIN = -(1 << 63)

# ---------------------------------------------------------------------------- errors


class PluginFail(Exception):
    """A `plugin-error`: kind is bad-response | unauthorized | retry-later | fatal."""

    def __init__(self, kind, value):
        super().__init__(f"{kind}: {value}")
        self.kind = kind
        self.value = value


def bad_response(msg):
    return PluginFail("bad-response", msg)


def fatal(msg):
    return PluginFail("fatal", msg)


class WireError(Exception):
    """A response that does not have the shape this connector reads."""


# ---------------------------------------------------------------------------- time


def _tdiv(a, b):
    """Integer division truncating toward zero (Rust's `/`)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def days_from_civil(y, m, d):
    y = y - 1 if m <= 2 else y
    era = _tdiv(y if y >= 0 else y - 399, 400)
    yoe = y - era * 400
    doy = _tdiv(153 * (m - 3 if m > 2 else m + 9) + 2, 5) + d - 1
    doe = yoe * 365 + _tdiv(yoe, 4) - _tdiv(yoe, 100) + doy
    return era * 146097 + doe - 719468


def civil_from_days(z):
    z = z + 719468
    era = _tdiv(z if z >= 0 else z - 146096, 146097)
    doe = z - era * 146097
    yoe = _tdiv(doe - _tdiv(doe, 1460) + _tdiv(doe, 36524) - _tdiv(doe, 146096), 365)
    y = yoe + era * 400
    doy = doe - (365 * yoe + _tdiv(yoe, 4) - _tdiv(yoe, 100))
    mp = _tdiv(5 * doy + 2, 153)
    d = doy - _tdiv(153 * mp + 2, 5) + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + 1 if m <= 2 else y, m, d)


def _num(s):
    if not s or not all(48 <= c <= 57 for c in s):
        return None
    v = 0
    for c in s:
        v = v * 10 + c - 48
    return v


def parse_ms(s):
    """A vendor timestamp (`2026-03-02T10:15:03.207Z`, a space for the `T`, an offset) to
    UTC epoch ms; None when it is not one of those shapes."""
    if not isinstance(s, str):
        return None
    b = s.strip().encode()
    if len(b) < 19 or b[4] != 0x2D or b[7] != 0x2D or b[10] not in (0x54, 0x20):
        return None
    if b[13] != 0x3A or b[16] != 0x3A:
        return None
    parts = [_num(b[0:4]), _num(b[5:7]), _num(b[8:10]), _num(b[11:13]), _num(b[14:16]), _num(b[17:19])]
    if any(p is None for p in parts):
        return None
    y, mo, d, h, mi, se = parts
    if not (1 <= mo <= 12) or not (1 <= d <= 31) or h > 23 or mi > 59 or se > 60:
        return None
    i = 19
    ms = 0
    if i < len(b) and b[i] == 0x2E:
        i += 1
        start = i
        while i < len(b) and 48 <= b[i] <= 57:
            i += 1
        if i == start:
            return None
        frac = b[start:i]
        for k in range(3):
            ms = ms * 10 + (frac[k] - 48 if k < len(frac) else 0)
    rest = b[i:]
    if rest in (b"", b"Z", b"z"):
        offset = 0
    elif rest[:1] in (b"+", b"-"):
        r = rest[1:]
        if len(r) == 5 and r[2] == 0x3A:
            hh, mm = _num(r[0:2]), _num(r[3:5])
        elif len(r) == 4:
            hh, mm = _num(r[0:2]), _num(r[2:4])
        elif len(r) == 2:
            hh, mm = _num(r[0:2]), 0
        else:
            return None
        if hh is None or mm is None:
            return None
        offset = hh * 60 + mm
        if rest[:1] == b"-":
            offset = -offset
    else:
        return None
    days = days_from_civil(y, mo, d)
    secs = days * 86_400 + h * 3600 + mi * 60 + se - offset * 60
    return secs * 1000 + ms


def parse_us(s):
    """A pretix timestamp to µs since the epoch (`last_modified` needs the microseconds)."""
    ms = parse_ms(s)
    if ms is None:
        return None
    b = s.strip().encode()
    extra = 0
    if len(b) > 19 and b[19] == 0x2E:
        frac = []
        for c in b[20:]:
            if not 48 <= c <= 57:
                break
            frac.append(c - 48)
        for k in range(3, 6):
            extra = extra * 10 + (frac[k] if k < len(frac) else 0)
    return ms * 1000 + extra


def format_utc_ms(ms):
    days, rem = ms // 86_400_000, ms % 86_400_000
    y, m, d = civil_from_days(days)
    h, mi, s, milli = rem // 3_600_000, rem // 60_000 % 60, rem // 1000 % 60, rem % 1000
    return f"{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z"


def format_us(us):
    """µs -> `YYYY-MM-DDTHH:MM:SS.ffffffZ`, the shape pretix's filters accept."""
    return format_utc_ms(us // 1000)[:-1] + f"{us % 1000:03}Z"


# ---------------------------------------------------------------------------- money

_EXPONENT = {
    **{c: 0 for c in "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split()},
    **{c: 3 for c in "BHD IQD JOD KWD LYD OMR TND".split()},
    "CLF": 4,
    "UYW": 4,
}


def exponent(currency):
    """Minor digits of an ISO 4217 code (2 for codes not listed)."""
    return _EXPONENT.get(currency, 2)


_DECIMAL = re.compile(r"[+-]?([0-9]+)(?:\.([0-9]*))?")


def decimal_to_minor(s, exp):
    """`"-12.340"` with exponent 2 -> -1234, exactly. None for anything that is not a plain
    decimal, for nonzero digits beyond the exponent, and outside i64."""
    if not isinstance(s, str):
        return None
    t = s.strip()
    if len(t) > 64 or not t.isascii() or not _DECIMAL.fullmatch(t):
        return None
    with localcontext() as dc:
        dc.prec = 100  # exact for every string accepted above
        minor = Decimal(t).scaleb(exp)
        if minor != minor.to_integral_value():
            return None
        v = int(minor)
    return v if I64_MIN <= v <= I64_MAX else None


def norm_currency(code):
    code = code.strip()
    return code.upper() if any("a" <= c <= "z" for c in code) else code


# ---------------------------------------------------------------------------- cursor


def new_state():
    return {"cur": "", "items": {}, "vars": {}, "lm": None, "seen": [], "full_at": None, "scan": None}


def _int(v):
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError
    return v


def _state_from(raw):
    if not isinstance(raw, dict):
        raise ValueError
    st = new_state()
    cur = raw.get("cur", "")
    if not isinstance(cur, str):
        raise ValueError
    st["cur"] = cur
    for key in ("items", "vars"):
        m = raw.get(key, {})
        if not isinstance(m, dict) or not all(isinstance(v, str) for v in m.values()):
            raise ValueError
        st[key] = {int(k): v for k, v in m.items()}
    for key in ("lm", "full_at"):
        if raw.get(key) is not None:
            st[key] = _int(raw[key])
    seen = raw.get("seen", [])
    if not isinstance(seen, list) or not all(isinstance(c, str) for c in seen):
        raise ValueError
    st["seen"] = list(seen)
    scan = raw.get("scan")
    if scan is not None:
        if not isinstance(scan, dict):
            raise ValueError
        st["scan"] = {
            "at": _int(scan["at"]),
            "from": None if scan.get("from") is None else _int(scan["from"]),
            "page": _int(scan["page"]),
        }
    return st


def parse_cursor(raw):
    """The committed cursor; an unreadable one starts over (a full scan: idempotent)."""
    if raw is None:
        return {}
    try:
        c = json.loads(raw)
        evs = c.get("events", {}) if isinstance(c, dict) else None
        if not isinstance(evs, dict):
            return {}
        return {slug: _state_from(st) for slug, st in evs.items()}
    except (ValueError, KeyError, TypeError, OverflowError):
        return {}


def encode_cursor(events):
    """The same bytes serde_json writes for the Rust side's `Cursor`."""
    out = {}
    for slug in sorted(events, key=lambda s: s.encode()):
        st = events[slug]
        o = {"cur": st["cur"]}
        if st["items"]:
            o["items"] = {str(k): st["items"][k] for k in sorted(st["items"])}
        if st["vars"]:
            o["vars"] = {str(k): st["vars"][k] for k in sorted(st["vars"])}
        if st["lm"] is not None:
            o["lm"] = st["lm"]
        if st["seen"]:
            o["seen"] = st["seen"]
        if st["full_at"] is not None:
            o["full_at"] = st["full_at"]
        if st["scan"] is not None:
            sc = st["scan"]
            so = {"at": sc["at"]}
            if sc["from"] is not None:
                so["from"] = sc["from"]
            so["page"] = sc["page"]
            o["scan"] = so
        out[slug] = o
    return json.dumps({"events": out}, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------------------- settings and plan

PAGE_SIZE = 50
FULL_SCAN_EVERY_SECS = 6 * 3600
FULL_SCAN_DEFAULT = "21600"
OVERLAP_US = 120 * 1_000_000

ORDER_FIELDS = [
    "code", "status", "testmode", "email", "datetime", "last_modified", "cancellation_date",
    "payment_provider", "sales_channel", "fees.value", "refunds.state", "refunds.amount",
    "refunds.created", "refunds.execution_date", "positions.positionid", "positions.item",
    "positions.variation", "positions.price", "positions.canceled", "positions.subevent",
    "positions.checkins",
]

EVENTS, EVENT, ITEMS, FULL, SINCE, WINDOW = "events", "event", "items", "full", "since", "window"


def manifest(version):
    def setting(name, description, required, default=None):
        return {"name": name, "description": description, "required": required, "default_value": default}

    return {
        "id": "pretix-py",
        "vendor": "pretix",
        "version": version,
        "allowed_hosts": ["pretix.eu"],
        "secrets": ["token"],
        "settings": [
            setting("base_url", "the pretix instance, e.g. https://pretix.eu", True),
            setting("organizer", "the organizer's short form (as in /control/organizer/<short form>/)", True),
            setting("events", "comma-separated event short forms to read (default: every event)", False),
            setting(
                "full_scan_every_secs",
                "how often every order is read again, for refunds (pretix does not mark them as changes)",
                False,
                FULL_SCAN_DEFAULT,
            ),
        ],
        "default_interval_secs": 300,
        "max_requests_per_minute": 120,
    }


def setting(ctx, name):
    for k, v in ctx["settings"]:
        if k == name:
            return v
    return None


def slug_ok(s):
    return 0 < len(s) <= 64 and s.isascii() and all(c.isalnum() or c in "-._" for c in s)


_I64 = re.compile(r"[+-]?[0-9]+")


def settings(ctx):
    base = setting(ctx, "base_url")
    base = base.strip().rstrip("/") if base is not None else ""
    if not base:
        raise fatal("setting `base_url` is required (e.g. https://pretix.eu)")
    if not (base.startswith("https://") or base.startswith("http://")):
        raise fatal(f"setting `base_url` must be an http(s) URL such as https://pretix.eu (got `{base}`)")
    org = (setting(ctx, "organizer") or "").strip()
    if not org:
        raise fatal("setting `organizer` is required (the organizer's short form)")
    if not slug_ok(org):
        raise fatal("setting `organizer` must be pretix's short form (letters, digits, `-`, `.`)")
    events = (setting(ctx, "events") or "").strip()
    if not events:
        events = None
    else:
        events = [s.strip() for s in events.split(",") if s.strip()]
        for bad in events:
            if not slug_ok(bad):
                raise fatal(f"setting `events`: `{bad}` is not an event short form (a comma-separated list)")
    every = setting(ctx, "full_scan_every_secs")
    if every is None or not every.strip():
        secs = FULL_SCAN_EVERY_SECS
    else:
        v = every.strip()
        secs = int(v) if _I64.fullmatch(v) and v.isascii() else -1
        if not (0 <= secs <= I64_MAX):
            raise fatal(f"setting `full_scan_every_secs` must be a number of seconds (got `{v}`)")
    return {"base_url": base, "organizer": org, "events": events, "every_ms": min(secs * 1000, I64_MAX)}


def selects(s, slug):
    return s["events"] is None or slug in s["events"]


def _request(s, rid, url, query):
    # pretix's team API tokens need `Authorization: Token <token>` (WIT 0.3's
    # authorization-header), as in the Rust twin.
    return {
        "id": rid,
        "method": "GET",
        "url": url,
        "query": query,
        "headers": [("Accept", "application/json")],
        "auth": ("authorization-header", ("Token", "token")),
    }


def _org_url(s):
    return f"{s['base_url']}/api/v1/organizers/{s['organizer']}"


def paging(page):
    q = [("page_size", str(PAGE_SIZE))]
    if page > 1:
        q.append(("page", str(page)))
    return q


def tag(kind, slug):
    return f"{kind}:{slug}"


def untag(rid):
    kind, sep, slug = rid.partition(":")
    return (kind, slug if sep else None)


def events_request(s, page):
    return _request(s, EVENTS, f"{_org_url(s)}/events/", paging(page))


def event_request(s, slug):
    return _request(s, tag(EVENT, slug), f"{_org_url(s)}/events/{slug}/", [])


def items_request(s, slug, page):
    return _request(s, tag(ITEMS, slug), f"{_org_url(s)}/events/{slug}/items/", paging(page))


def _orders_query(page):
    q = paging(page)
    q.append(("include_canceled_positions", "true"))
    q.extend(("include", f) for f in ORDER_FIELDS)
    return q


def _orders_url(s, slug):
    return f"{_org_url(s)}/events/{slug}/orders/"


def full_request(s, slug, page):
    q = _orders_query(page) + [("ordering", "datetime")]
    return _request(s, tag(FULL, slug), _orders_url(s, slug), q)


def since_request(s, slug, since_us, page):
    q = _orders_query(page) + [("ordering", "last_modified"), ("modified_since", format_us(since_us))]
    return _request(s, tag(SINCE, slug), _orders_url(s, slug), q)


def window_request(s, slug, since_ms, until_ms, page):
    q = _orders_query(page) + [("ordering", "datetime"), ("created_since", format_us(since_ms * 1000))]
    if until_ms is not None:
        q.append(("created_before", format_us(until_ms * 1000)))
    return _request(s, tag(WINDOW, slug), _orders_url(s, slug), q)


def orders_start(s, ctx, slug, st):
    if ctx["since_ms"] is not None:
        return window_request(s, slug, ctx["since_ms"], ctx["until_ms"], 1)
    if st["scan"] is not None:
        return full_request(s, slug, max(st["scan"]["page"], 1))
    if st["lm"] is not None and st["full_at"] is not None:
        due = ctx["now_ms"] - st["full_at"] >= s["every_ms"]
    else:
        due = True
    if st["lm"] is not None and not due:
        return since_request(s, slug, st["lm"] - OVERLAP_US, 1)
    st["scan"] = {"at": ctx["now_ms"], "from": None, "page": 1}
    return full_request(s, slug, 1)


def begin(ctx):
    s = settings(ctx)
    if s["events"] is None:
        return [events_request(s, 1)]
    return [event_request(s, slug) for slug in s["events"]]


def query(req, name):
    for k, v in req["query"]:
        if k == name:
            return v
    return None


def page_of(req):
    p = query(req, "page")
    try:
        n = int(p) if p is not None and p.isascii() and p.lstrip("+").isdigit() else 1
    except ValueError:
        n = 1
    return n if 0 <= n <= 0xFFFF_FFFF else 1


def header(resp, name):
    for k, v in resp["headers"]:
        if k.lower() == name.lower():
            return v
    return None


def status_error(resp):
    snippet = resp["body"][:300].decode("utf-8", "replace")
    st = resp["status"]
    if st in (401, 403):
        return PluginFail("unauthorized", f"HTTP {st}: {snippet}")
    if st == 429 or 500 <= st <= 599:
        ra = (header(resp, "retry-after") or "").strip()
        secs = int(ra) if ra.isascii() and ra.lstrip("+").isdigit() and int(ra) <= 0xFFFF_FFFF else 60
        return PluginFail("retry-later", secs)
    return bad_response(f"HTTP {st}: {snippet}")


# ---------------------------------------------------------------------------- wire model


def _field(obj, name, kind, required=True, default=None):
    if not isinstance(obj, dict):
        raise WireError(f"expected an object, got {type(obj).__name__}")
    if name not in obj:
        if required:
            raise WireError(f"missing field `{name}`")
        return default
    v = obj[name]
    if v is None and not required:
        return default
    if kind == "str" and isinstance(v, str):
        return v
    if kind == "bool" and isinstance(v, bool):
        return v
    if kind in ("u64", "u32") and isinstance(v, int) and not isinstance(v, bool):
        if 0 <= v < (1 << (64 if kind == "u64" else 32)):
            return v
    if kind == "list" and isinstance(v, list):
        return v
    if kind == "any":
        return v
    raise WireError(f"field `{name}`: expected {kind}")


def i18n_text(v, name):
    """English when there is one, else the first non-empty language (in code order)."""
    if isinstance(v, str):
        return v
    if isinstance(v, dict) and all(isinstance(x, str) for x in v.values()):
        if "en" in v:
            return v["en"]
        for k in sorted(v, key=lambda s: s.encode()):
            if v[k]:
                return v[k]
        return ""
    raise WireError(f"field `{name}`: expected a string or a map of languages")


def listing(body, item):
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise WireError(f"not JSON: {e}") from None
    nxt = _field(doc, "next", "any", required=False)
    if nxt is not None and not isinstance(nxt, str):
        raise WireError("field `next`: expected a string")
    return nxt, [item(r) for r in _field(doc, "results", "list")]


def wire_event(o):
    return {
        "slug": _field(o, "slug", "str"),
        "name": i18n_text(_field(o, "name", "any"), "name"),
        "currency": _field(o, "currency", "str"),
        "date_from": _field(o, "date_from", "str", required=False),
        "date_to": _field(o, "date_to", "str", required=False),
    }


def wire_item(o):
    return {
        "id": _field(o, "id", "u64"),
        "name": i18n_text(_field(o, "name", "any"), "name"),
        "variations": [
            {"id": _field(v, "id", "u64"), "value": i18n_text(_field(v, "value", "any"), "value")}
            for v in _field(o, "variations", "list", required=False, default=[])
        ],
    }


def wire_order(o):
    return {
        "code": _field(o, "code", "str"),
        "status": _field(o, "status", "str"),
        "testmode": _field(o, "testmode", "bool", required=False, default=False),
        "email": _field(o, "email", "str", required=False),
        "datetime": _field(o, "datetime", "str"),
        "last_modified": _field(o, "last_modified", "str"),
        "cancellation_date": _field(o, "cancellation_date", "str", required=False),
        "payment_provider": _field(o, "payment_provider", "str", required=False),
        "sales_channel": _field(o, "sales_channel", "str", required=False),
        "fees": [_field(f, "value", "str") for f in _field(o, "fees", "list", required=False, default=[])],
        "refunds": [
            {
                "state": _field(r, "state", "str"),
                "amount": _field(r, "amount", "str"),
                "created": _field(r, "created", "str", required=False),
                "execution_date": _field(r, "execution_date", "str", required=False),
            }
            for r in _field(o, "refunds", "list", required=False, default=[])
        ],
        "positions": [
            {
                "positionid": _field(p, "positionid", "u32"),
                "item": _field(p, "item", "u64"),
                "variation": _field(p, "variation", "u64", required=False),
                "price": _field(p, "price", "str"),
                "canceled": _field(p, "canceled", "bool", required=False, default=False),
                "subevent": _field(p, "subevent", "u64", required=False),
                "checkins": [
                    {"datetime": _field(c, "datetime", "str"), "type": _field(c, "type", "str", required=False)}
                    for c in _field(p, "checkins", "list", required=False, default=[])
                ],
            }
            for p in _field(o, "positions", "list")
        ],
    }


# ---------------------------------------------------------------------------- catalogue


def _bad_body(req, e):
    return bad_response(f"GET {req['url']}: unexpected body: {e}")


def _take_event(ctx, s, e, records, events, nxt):
    cur = norm_currency(e["currency"])
    if len(cur) != 3 or not all("A" <= c <= "Z" for c in cur):
        raise bad_response(f"event `{e['slug']}`: currency `{cur}` is not an ISO 4217 code")
    records.append(
        (
            "event",
            {
                "event_id": e["slug"],
                "name": e["name"],
                "city": None,
                "venue": None,
                "starts_at_ms": parse_ms(e["date_from"]),
                "ends_at_ms": parse_ms(e["date_to"]),
                "canceled_at_ms": None,
                "updated_at_ms": ctx["now_ms"],
            },
        )
    )
    events.setdefault(e["slug"], new_state())["cur"] = cur
    nxt.append(items_request(s, e["slug"], 1))


def events_page(ctx, req, body):
    s = settings(ctx)
    try:
        more, results = listing(body, wire_event)
    except WireError as e:
        raise _bad_body(req, e) from None
    events = parse_cursor(ctx["cursor"])
    records, nxt = [], []
    for e in results:
        if selects(s, e["slug"]):
            _take_event(ctx, s, e, records, events, nxt)
    if more is not None and results:
        nxt.append(events_request(s, page_of(req) + 1))
    return records, nxt, encode_cursor(events)


def event_page(ctx, req, body):
    s = settings(ctx)
    try:
        e = wire_event(json.loads(body))
    except (ValueError, UnicodeDecodeError, WireError) as err:
        raise _bad_body(req, err) from None
    events = parse_cursor(ctx["cursor"])
    records, nxt = [], []
    _take_event(ctx, s, e, records, events, nxt)
    return records, nxt, encode_cursor(events)


def items_page(ctx, req, slug, body):
    s = settings(ctx)
    try:
        more, results = listing(body, wire_item)
    except WireError as e:
        raise _bad_body(req, e) from None
    events = parse_cursor(ctx["cursor"])
    st = events.get(slug)
    if st is None:
        raise fatal(f"products of event `{slug}` arrived before the event")
    for item in results:
        st["items"][item["id"]] = item["name"]
        for v in item["variations"]:
            st["vars"][v["id"]] = v["value"]
    if more is not None and results:
        nxt = items_request(s, slug, page_of(req) + 1)
    else:
        nxt = orders_start(s, ctx, slug, st)
    return [], [nxt], encode_cursor(events)


# ---------------------------------------------------------------------------- orders

_ORDER_STATUS = {"n": "pending", "p": "paid", "e": "expired", "c": "canceled"}


def _order_tickets(slug, cur, exp, st, o, records, counts):
    """The tickets of one order into `records`; False for a test-mode order."""
    if o["testmode"]:
        return False
    code = o["code"]

    def bad(what):
        return bad_response(f"event `{slug}`, order {code}: {what}")

    def ms(field, v):
        t = parse_ms(v)
        if t is None:
            raise bad(f"`{field}` is not a timestamp")
        return t

    def money(field, v):
        m = decimal_to_minor(v, exp)
        if m is None:
            raise bad(f"`{field}` = `{v}` is not an amount in {cur}")
        return m

    status = _ORDER_STATUS.get(o["status"])
    if status is None:
        counts["unknown"] += 1
        status = "pending"
    returned = 0
    version = ms("last_modified", o["last_modified"])
    refunded_at = None
    for r in o["refunds"]:
        for t in (r["created"], r["execution_date"]):
            if t is not None:
                version = max(version, ms("refunds.created", t))
        if r["state"] == "done":
            returned += money("refunds.amount", r["amount"])
            at = r["execution_date"] if r["execution_date"] is not None else r["created"]
            if at is not None:
                at = ms("refunds.execution_date", at)
                refunded_at = at if refunded_at is None else max(refunded_at, at)
    fees = sum(money("fees.value", f) for f in o["fees"])
    pos = o["positions"]
    prices = [money("positions.price", p["price"]) for p in pos]
    shares = [0] * len(pos)
    if status in ("paid", "canceled"):
        for i in sorted(range(len(pos)), key=lambda i: (not pos[i]["canceled"], pos[i]["positionid"])):
            take = max(min(returned, prices[i]), 0)
            shares[i] = take
            returned -= take
    first = min((p["positionid"] for p in pos), default=None)
    ordered_at = ms("datetime", o["datetime"])
    canceled_at = None if o["cancellation_date"] is None else ms("cancellation_date", o["cancellation_date"])
    email = (o["email"] or "").strip()
    buyer = {"kind": "email", "value": email.lower()} if email else None
    full_code = f"{slug.upper()}-{code}"
    for i, p in enumerate(pos):
        share = shares[i]
        if status == "pending":
            ts = "pending"
        elif status == "expired":
            ts = "canceled"
        elif status == "canceled":
            ts = "refunded" if share > 0 else "canceled"
        elif share > 0:
            ts = "refunded"
        elif p["canceled"]:
            ts = "canceled"
        else:
            ts = "valid"
        scanned = None
        for c in p["checkins"]:
            if c["type"] is None or c["type"] == "entry":
                at = ms("checkins.datetime", c["datetime"])
                scanned = at if scanned is None else min(scanned, at)
        item = st["items"].get(p["item"])
        var = st["vars"].get(p["variation"]) if p["variation"] is not None else None
        if item is not None and var is not None:
            category = f"{item} – {var}"
        elif item is not None:
            category = item
        else:
            category = f"product {p['item']}"
        records.append(
            (
                "ticket",
                {
                    "ticket_id": f"{full_code}-{p['positionid']}",
                    "order_id": full_code,
                    "event_id": slug,
                    "show_id": None if p["subevent"] is None else str(p["subevent"]),
                    "category": category,
                    "channel": o["sales_channel"] if o["sales_channel"] is not None else "web",
                    "status": ts,
                    "price_minor": prices[i],
                    "service_fee_minor": 0,
                    "buyer_fee_minor": fees if p["positionid"] == first else 0,
                    "producer_cost_minor": 0,
                    "refunded_minor": share if ts == "refunded" else 0,
                    "currency": cur,
                    "ordered_at_ms": ordered_at,
                    "updated_at_ms": version,
                    "scanned_at_ms": scanned,
                    "refunded_at_ms": refunded_at if ts == "refunded" else canceled_at if ts == "canceled" else None,
                    "buyer": dict(buyer) if buyer else None,
                    "region": None,
                    "utm_source": None,
                    "utm_medium": None,
                    "utm_campaign": None,
                    "payment_method": o["payment_provider"],
                    "visibility": [],
                },
            )
        )
    return True


def orders_page(log, ctx, req, kind, slug, resp):
    s = settings(ctx)
    events = parse_cursor(ctx["cursor"])
    if slug not in events:
        raise fatal(f"orders of event `{slug}` arrived before the event")
    state = copy.deepcopy(events[slug])
    page_no = page_of(req)
    past_end = resp["status"] == 404 and page_no > 1
    if not past_end and not 200 <= resp["status"] < 300:
        raise status_error(resp)
    if past_end:
        more, results = None, []
    else:
        try:
            more, results = listing(resp["body"], wire_order)
        except WireError as e:
            raise bad_response(f"event `{slug}`: orders page: unexpected body: {e}") from None
    cur = state["cur"]
    exp = exponent(cur)
    records = []
    counts = {"unknown": 0, "test": 0}
    stamps = []
    for o in results:
        lm = parse_us(o["last_modified"])
        if lm is None:
            raise bad_response(f"event `{slug}`, order {o['code']}: `last_modified` is not a timestamp")
        stamps.append(lm)
        if kind == SINCE and state["lm"] == lm and o["code"] in state["seen"]:
            continue
        if not _order_tickets(slug, cur, exp, state, o, records, counts):
            counts["test"] += 1
    if counts["unknown"]:
        log("warn", f"event `{slug}`: {counts['unknown']} orders with an unknown status, counted as pending")
    if counts["test"]:
        log("debug", f"event `{slug}`: {counts['test']} test-mode orders skipped")
    has_more = more is not None and bool(results)
    nxt = []
    st = events[slug]
    now_ms = ctx["now_ms"]
    if kind == FULL:
        scan = st["scan"] or {"at": now_ms, "from": None, "page": page_no}
        if scan["from"] is None:
            gen = parse_us(header(resp, "x-page-generated"))
            scan["from"] = gen if gen is not None else now_ms * 1000
        if has_more:
            scan["page"] = page_no + 1
            st["scan"] = scan
            nxt.append(full_request(s, slug, page_no + 1))
        else:
            start = scan["from"]
            st["scan"] = None
            st["full_at"] = scan["at"]
            st["lm"] = start
            st["seen"] = []
            nxt.append(since_request(s, slug, start - OVERLAP_US, 1))
    elif kind == SINCE:
        asked = parse_us(query(req, "modified_since"))
        if asked is None:
            raise fatal("since request without modified_since")
        if results:
            last = stamps[-1]
            at_last = [o["code"] for o, lm in zip(results, stamps) if lm == last]
            if st["lm"] == last:
                for c in at_last:
                    if c not in st["seen"]:
                        st["seen"].append(c)
            else:
                st["lm"] = last
                st["seen"] = at_last
            if has_more:
                if last > asked:
                    nxt.append(since_request(s, slug, last, 1))
                else:
                    nxt.append(since_request(s, slug, asked, page_no + 1))
    elif has_more:
        since = ctx["since_ms"] if ctx["since_ms"] is not None else 0
        nxt.append(window_request(s, slug, since, ctx["until_ms"], page_no + 1))
    return records, nxt, encode_cursor(events)


# ---------------------------------------------------------------------------- entry points


def handle(log, ctx, req, resp):
    """One response in: `(records, next requests, cursor)`, or raises `PluginFail`."""
    kind, slug = untag(req["id"])
    ok = 200 <= resp["status"] < 300
    if kind in (FULL, SINCE, WINDOW) and slug is not None:
        return orders_page(log, ctx, req, kind, slug, resp)
    if not ok:
        if kind == EVENT and slug is not None and resp["status"] in (403, 404):
            raise fatal(
                f"event `{slug}` (setting `events`): pretix answered {resp['status']}: "
                "no such event, or the token may not read it"
            )
        raise status_error(resp)
    if kind == EVENTS and slug is None:
        return events_page(ctx, req, resp["body"])
    if kind == EVENT and slug is not None:
        return event_page(ctx, req, resp["body"])
    if kind == ITEMS and slug is not None:
        return items_page(ctx, req, slug, resp["body"])
    raise fatal(f"unknown request id `{req['id']}`")
