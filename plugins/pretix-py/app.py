"""The pretix connector in Python: the WIT 0.3 `plugin` world's `connector` export, built with
componentize-py (`plugins/pretix-py/build.sh`).

Owns only the binding glue: WIT values in, `pretix_core` (plain Python, tested natively) in
the middle, WIT values out — records on the typed path (`page-records.typed(list<item>)`),
errors as `plugin-error`, logs through the host's `log` import.
"""

import pretix_core as core
from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host, types

VERSION = "0.1.0"

_LEVELS = {
    "debug": host.Level.DEBUG,
    "info": host.Level.INFO,
    "warn": host.Level.WARN,
    "error": host.Level.ERROR,
}

_STATUS = {
    "valid": types.TicketStatus.VALID,
    "refunded": types.TicketStatus.REFUNDED,
    "canceled": types.TicketStatus.CANCELED,
    "resold": types.TicketStatus.RESOLD,
    "pending": types.TicketStatus.PENDING,
}

_ERRORS = {
    "bad-response": types.PluginError_BadResponse,
    "unauthorized": types.PluginError_Unauthorized,
    "retry-later": types.PluginError_RetryLater,
    "fatal": types.PluginError_Fatal,
}


def _log(level, message):
    host.log(_LEVELS[level], message)


def _ctx(c):
    return {
        "account": c.account,
        "settings": [(k, v) for k, v in c.settings],
        "cursor": c.cursor,
        "since_ms": c.since_ms,
        "until_ms": c.until_ms,
        "now_ms": c.now_ms,
    }


def _auth(a):
    kind, value = a
    if kind == "authorization-header":
        return types.Auth_AuthorizationHeader(value)
    if kind == "bearer-header":
        return types.Auth_BearerHeader(value)
    if kind == "query-param":
        return types.Auth_QueryParam(value)
    return types.Auth_None_()


def _to_wit_request(r):
    return types.HttpRequest(
        id=r["id"],
        method=r["method"],
        url=r["url"],
        query=list(r["query"]),
        headers=list(r["headers"]),
        body=None,
        auth=_auth(r["auth"]),
    )


def _from_wit_request(r):
    return {
        "id": r.id,
        "method": r.method,
        "url": r.url,
        "query": list(r.query),
        "headers": list(r.headers),
    }


def _item(kind, rec):
    if kind == "event":
        return types.Item_Event(types.Event(**rec))
    t = dict(rec)
    t["status"] = _STATUS[t["status"]]
    if t["buyer"] is not None:
        t["buyer"] = types.PersonalId(**t["buyer"])
    return types.Item_Ticket(types.Ticket(**t))


def _call(f, *args):
    try:
        return f(*args)
    except core.PluginFail as e:
        raise Err(_ERRORS[e.kind](e.value)) from None


class Connector(exports.Connector):
    def manifest(self) -> types.Manifest:
        m = core.manifest(VERSION)
        m["settings"] = [types.Setting(**s) for s in m["settings"]]
        return types.Manifest(**m)

    def begin(self, ctx: types.RunContext):
        return [_to_wit_request(r) for r in _call(core.begin, _ctx(ctx))]

    def handle(self, ctx: types.RunContext, request: types.HttpRequest, response: types.HttpResponse) -> types.Page:
        resp = {"status": response.status, "headers": list(response.headers), "body": bytes(response.body)}
        records, nxt, cursor = _call(core.handle, _log, _ctx(ctx), _from_wit_request(request), resp)
        return types.Page(
            records=types.PageRecords_Typed([_item(k, r) for k, r in records]),
            next=[_to_wit_request(r) for r in nxt],
            cursor=cursor,
        )
