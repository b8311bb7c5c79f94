"""Changes a seeded pretix instance after boxoffice's first sync, through pretix's REST API
(so pretix's own rules decide what moves `last_modified`).

    python mutate.py BASE_URL ORGANIZER TOKEN '{"refund": 4, "partial_refund": 3, ...}'

Plan keys (each a count per event): `refund` (full refund of a paid order, marking it
canceled), `partial_refund` (a done refund of half the first position's price; the order stays
paid: pretix does not bump `last_modified` for it), `checkin` (every position of a paid order,
not yet checked in, through `checkinrpc/redeem`), `cancel` (a pending order), `pay` (a pending
order marked paid), `new` (new paid orders, canary PII; no phone: the API checks numbers). Targets are picked in order-code order
from orders no earlier step of this run touched. Prints what was done as JSON, with the
secrets of new orders (for the leak sweep).
"""

import json
import sys
from decimal import Decimal

from pretix_api import Api


def main():
    base, organizer, token, plan = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    api = Api(base, organizer, token)
    done = {k: [] for k in ("refund", "partial_refund", "checkin", "cancel", "pay", "new")}
    secrets = []
    lists = {}
    for ev in api.all("/events/"):
        slug = ev["slug"]
        lists[slug] = [cl["id"] for cl in api.all(f"/events/{slug}/checkinlists/")]
        orders = sorted(
            (o for o in api.all(f"/events/{slug}/orders/") if not o["testmode"]),
            key=lambda o: o["code"],
        )
        touched = set()

        def pick(n, pred):
            got = [o for o in orders if o["code"] not in touched and pred(o)][:n]
            touched.update(o["code"] for o in got)
            return got

        def paid_untouched(o):
            return (o["status"] == "p" and not o["refunds"]
                    and all(not p["checkins"] for p in o["positions"]))

        for o in pick(plan.get("refund", 0), paid_untouched):
            api.call("POST", f"/events/{slug}/orders/{o['code']}/refunds/", {
                "state": "done", "source": "admin", "amount": o["total"], "payment": 1,
                "provider": "banktransfer", "mark_canceled": True,
            })
            done["refund"].append(o["code"])
        for o in pick(plan.get("partial_refund", 0), paid_untouched):
            part = Decimal(o["positions"][0]["price"]) / 2
            part = part.quantize(Decimal("1") if ev["currency"] == "JPY" else Decimal("0.01"))
            api.call("POST", f"/events/{slug}/orders/{o['code']}/refunds/", {
                "state": "done", "source": "admin", "amount": str(part), "payment": 1,
                "provider": "banktransfer", "mark_canceled": False,
            })
            done["partial_refund"].append(o["code"])
        for o in pick(plan.get("checkin", 0), paid_untouched):
            for p in o["positions"]:
                api.call("POST", "/checkinrpc/redeem/", {
                    "secret": p["secret"], "lists": lists[slug], "type": "entry",
                })
            done["checkin"].append(o["code"])
        for o in pick(plan.get("cancel", 0), lambda o: o["status"] == "n"):
            api.call("POST", f"/events/{slug}/orders/{o['code']}/mark_canceled/", {"send_email": False})
            done["cancel"].append(o["code"])
        for o in pick(plan.get("pay", 0), lambda o: o["status"] == "n"):
            api.call("POST", f"/events/{slug}/orders/{o['code']}/mark_paid/", {"send_email": False})
            done["pay"].append(o["code"])
        items = api.all(f"/events/{slug}/items/")
        for n in range(plan.get("new", 0)):
            item = items[n % len(items)]
            tag = f"{slug}{n}"
            created = api.call("POST", f"/events/{slug}/orders/", {
                "email": f"canary.new.{tag}@example.invalid",
                "locale": "en", "sales_channel": "web", "payment_provider": "banktransfer",
                "status": "p", "send_email": False,
                "invoice_address": {
                    "name_parts": {"_scheme": "full", "full_name": f"Canary New Buyer {tag}"},
                    "street": "9 Canary Street", "zipcode": "00000", "city": "Canaryville",
                    "country": "DE", "company": "", "is_business": False,
                },
                "positions": [{
                    "item": item["id"], "price": item["default_price"],
                    "attendee_name_parts": {"_scheme": "full", "full_name": f"Canary New Attendee {tag}"},
                    "attendee_email": f"canary.new.attendee.{tag}@example.invalid",
                }],
            })
            secrets.append(created["secret"])
            secrets.extend(p["secret"] for p in created["positions"])
            done["new"].append(created["code"])
    json.dump({"done": done, "secrets": secrets}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
