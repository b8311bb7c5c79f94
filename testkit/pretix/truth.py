"""What pretix itself says a connector must report, read through pretix's REST API.

    python truth.py BASE_URL ORGANIZER TOKEN

An oracle independent of the connector's code: it reads every order of every event (all
fields, canceled positions included) and applies the mapping documented in docs/pretix.md:
- a ticket per order position; test-mode orders are not sales and are left out;
- money returned = the order's refunds in state `done`; it is spread over the order's
  positions, canceled positions first, then by position number, each taking at most its price;
- status: pending order -> pending; expired -> canceled; canceled order or canceled position ->
  refunded when it took a share of the money returned, else canceled; a live position of a paid
  order -> refunded when it took a share, else valid;
- amounts in the currency's minor units (JPY has none), from pretix's decimal strings;
- the order's fees ride on its first position.

Prints JSON: per event `{status: {count, price_minor, refunded_minor}}`, `kept_minor`,
`scanned` (an entry check-in), `scanned_held` (of those, valid), `buyer_fee_minor`, `tickets`,
`orders`, `buyers` (distinct e-mails), `currency`.
"""

import json
import sys
from decimal import Decimal

from pretix_api import Api

# ISO 4217 minor digits where they are not 2 (pretix's own table is larger; these suffice here).
EXPONENT = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3}


def minor(amount, currency):
    v = Decimal(amount) * (Decimal(10) ** EXPONENT.get(currency, 2))
    if v != v.to_integral_value():
        raise ValueError(f"{amount} {currency} has more digits than the currency")
    return int(v)


def tickets(order, currency):
    cur = currency
    returned = sum(minor(r["amount"], cur) for r in order["refunds"] if r["state"] == "done")
    positions = sorted(order["positions"], key=lambda p: (not p["canceled"], p["positionid"]))
    shares = {}
    for p in positions:
        take = min(returned, minor(p["price"], cur)) if order["status"] in ("p", "c") else 0
        shares[p["id"]] = take
        returned -= take
    fees = sum(minor(f["value"], cur) for f in order["fees"])
    first = min(p["positionid"] for p in order["positions"])
    for p in order["positions"]:
        share = shares[p["id"]]
        if order["status"] == "n":
            status = "pending"
        elif order["status"] == "e":
            status = "canceled"
        elif order["status"] == "c" or p["canceled"]:
            status = "refunded" if share > 0 else "canceled"
        else:
            status = "refunded" if share > 0 else "valid"
        price = minor(p["price"], cur)
        yield {
            "status": status,
            "price_minor": price,
            "refunded_minor": share if status == "refunded" else 0,
            "scanned": any(c["type"] == "entry" for c in p["checkins"]),
            "buyer_fee_minor": fees if p["positionid"] == first else 0,
        }


def main():
    api = Api(sys.argv[1], sys.argv[2], sys.argv[3])
    out = {}
    for ev in api.all("/events/"):
        slug, cur = ev["slug"], ev["currency"]
        orders = [o for o in api.all(f"/events/{slug}/orders/?include_canceled_positions=true")
                  if not o["testmode"]]
        agg = {
            "currency": cur, "statuses": {}, "kept_minor": 0, "scanned": 0, "scanned_held": 0,
            "buyer_fee_minor": 0, "tickets": 0, "orders": len(orders),
            "buyers": len({o["email"].strip().lower() for o in orders if o["email"]}),
        }
        for o in orders:
            for t in tickets(o, cur):
                s = agg["statuses"].setdefault(t["status"], {"count": 0, "price_minor": 0, "refunded_minor": 0})
                s["count"] += 1
                s["price_minor"] += t["price_minor"]
                s["refunded_minor"] += t["refunded_minor"]
                if t["status"] == "valid":
                    agg["kept_minor"] += t["price_minor"]
                elif t["status"] == "refunded":
                    agg["kept_minor"] += max(t["price_minor"] - t["refunded_minor"], 0)
                agg["scanned"] += t["scanned"]
                agg["scanned_held"] += t["scanned"] and t["status"] == "valid"
                agg["buyer_fee_minor"] += t["buyer_fee_minor"]
                agg["tickets"] += 1
        out[slug] = agg
    json.dump(out, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
