"""Seeds a fresh pretix database for boxoffice's tests, through pretix's own Django models.

Run with pretix's venv python, PRETIX_CONFIG_FILE naming the instance's config:

    python seed.py --orders 300 --seed 7

Creates one organizer (`canary`), two events (`summer`, EUR; `tokyo`, JPY: a currency without
minor digits), two products each, a check-in list, a quota, a team with every permission, API
tokens (team and OAuth), and N orders in every state the connector must tell apart: paid,
pending, expired, canceled (with and without a refund), paid with a partial refund, paid with
one position canceled and refunded, checked in (some also checked out), two in test mode, some
with a payment fee; some buyers order more than once. Every buyer e-mail, phone, attendee name
and invoice address is a canary (`canary.*@example.invalid`, `+00 000 CANARY ...`) so a leak
sweep can look for it.

Prints one JSON object on stdout: organizer, events, the team token, a member's OAuth access
token, and every order and position secret (for the leak sweep). Deterministic for a given
--seed (codes and secrets are not: pretix draws them itself).
"""

import argparse
import datetime as dt
import json
import os
import random
import sys
from decimal import Decimal

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pretix.settings")

import django  # noqa: E402

django.setup()

from django.db import transaction  # noqa: E402
from django.utils.crypto import get_random_string  # noqa: E402
from django.utils.timezone import now  # noqa: E402
from django_scopes import scopes_disabled  # noqa: E402
from pretix.api.models import OAuthAccessToken, OAuthApplication  # noqa: E402
from pretix.base.models import (  # noqa: E402
    Checkin, Event, InvoiceAddress, Item, Order, OrderFee, OrderPayment, OrderPosition,
    OrderRefund, Organizer, Team, User,
)

ORGANIZER = "canary"
EVENTS = [
    # slug, name, currency, time zone, products (name, price)
    ("summer", "Canary Summer Festival", "EUR", "Europe/Berlin",
     [("General admission", Decimal("35.00")), ("VIP", Decimal("89.50"))]),
    ("tokyo", "Canary Tokyo Night", "JPY", "Asia/Tokyo",
     [("Standing", Decimal("3500")), ("Balcony", Decimal("12000"))]),
]
PLUGINS = "pretix.plugins.banktransfer,pretix.plugins.manualpayment"
PAYMENT_FEE = {"EUR": Decimal("1.25"), "JPY": Decimal("150")}


def canary_email(kind, i):
    return f"canary.{kind}{i}@example.invalid"


def canary_phone(i):
    return f"+00 000 CANARY {i:04d}"


def kind_of(i):
    """The state order i is seeded in (a fixed mix, so every state is present)."""
    r = i % 40
    if r < 22:
        return "paid"
    if r < 27:
        return "pending"
    if r < 29:
        return "expired"
    if r < 32:
        return "canceled"
    if r < 35:
        return "refunded"
    if r < 38:
        return "partial_refund"
    return "position_canceled"


def make_events(org):
    events = []
    for slug, name, currency, tz, products in EVENTS:
        ev = Event.objects.create(
            organizer=org, name={"en": name}, slug=slug, currency=currency,
            date_from=now() + dt.timedelta(days=60), live=True,
            plugins=PLUGINS,
        )
        ev.settings.timezone = tz
        ev.settings.payment_banktransfer__enabled = True
        ev.settings.payment_manual__enabled = True
        items = [
            Item.objects.create(event=ev, name={"en": n}, default_price=p, admission=True)
            for n, p in products
        ]
        quota = ev.quotas.create(name="All", size=None)
        quota.items.set(items)
        clist = ev.checkin_lists.create(name="Entrance", all_products=True)
        events.append((ev, items, clist))
    return events


def make_order(rng, i, ev, items, clist, testmode=False):
    kind = "paid" if testmode else kind_of(i)
    currency = ev.currency
    ordered = now() - dt.timedelta(days=30) + dt.timedelta(minutes=97 * i + rng.randint(0, 50))
    npos = rng.choice([1, 1, 1, 2, 2, 3])
    if kind == "position_canceled":
        npos = max(npos, 2)
    chosen = [rng.choice(items) for _ in range(npos)]
    total_pos = sum((it.default_price for it in chosen), Decimal("0"))
    fee = PAYMENT_FEE[currency] if i % 5 == 0 else Decimal("0")
    status = {
        "pending": Order.STATUS_PENDING,
        "expired": Order.STATUS_EXPIRED,
        "canceled": Order.STATUS_CANCELED,
        "refunded": Order.STATUS_CANCELED,
    }.get(kind, Order.STATUS_PAID)
    order = Order.objects.create(
        event=ev, status=status, testmode=testmode, email=canary_email("buyer", i % 113),  # some buyers order twice
        phone=canary_phone(i), locale="en", datetime=ordered,
        expires=ordered + dt.timedelta(days=14), total=total_pos + fee,
        sales_channel=ev.organizer.sales_channels.get(identifier="web"),
        cancellation_date=ordered + dt.timedelta(days=2) if status == Order.STATUS_CANCELED else None,
    )
    InvoiceAddress.objects.create(
        order=order, name_parts={"_scheme": "full", "full_name": f"Canary Buyer {i}"},
        company="Canary GmbH", street=f"{i} Canary Street", zipcode="00000",
        city="Canaryville", country="DE",
    )
    if fee:
        OrderFee.objects.create(order=order, fee_type=OrderFee.FEE_TYPE_PAYMENT, value=fee,
                                tax_rate=Decimal("0"), tax_value=Decimal("0"))
    positions = []
    for n, it in enumerate(chosen, start=1):
        positions.append(OrderPosition.objects.create(
            order=order, positionid=n, item=it, price=it.default_price,
            attendee_name_parts={"_scheme": "full", "full_name": f"Canary Attendee {i}-{n}"},
            attendee_email=canary_email("attendee", i * 10 + n),
            street=f"{i} Canary Lane", zipcode="00000", city="Canaryville", country="DE",
        ))
    paid = kind in ("paid", "refunded", "partial_refund", "position_canceled")
    payment = None
    if paid:
        payment = OrderPayment.objects.create(
            order=order, amount=order.total, provider="banktransfer",
            state=OrderPayment.PAYMENT_STATE_CONFIRMED, payment_date=ordered + dt.timedelta(hours=3),
        )
    done_at = ordered + dt.timedelta(days=2)
    if kind == "refunded":
        OrderRefund.objects.create(
            order=order, payment=payment, amount=order.total, provider="banktransfer",
            source=OrderRefund.REFUND_SOURCE_ADMIN, state=OrderRefund.REFUND_STATE_DONE,
            execution_date=done_at,
        )
    elif kind == "partial_refund":
        part = (positions[0].price / 2).quantize(Decimal("1") if currency == "JPY" else Decimal("0.01"))
        OrderRefund.objects.create(
            order=order, payment=payment, amount=part, provider="banktransfer",
            source=OrderRefund.REFUND_SOURCE_ADMIN, state=OrderRefund.REFUND_STATE_DONE,
            execution_date=done_at,
        )
        # A refund still under way does not count as money returned.
        OrderRefund.objects.create(
            order=order, payment=payment, amount=Decimal("1"), provider="banktransfer",
            source=OrderRefund.REFUND_SOURCE_ADMIN, state=OrderRefund.REFUND_STATE_CREATED,
        )
    elif kind == "position_canceled":
        last = positions[-1]
        last.canceled = True
        last.save()
        order.total -= last.price
        order.save()
        OrderRefund.objects.create(
            order=order, payment=payment, amount=last.price, provider="banktransfer",
            source=OrderRefund.REFUND_SOURCE_ADMIN, state=OrderRefund.REFUND_STATE_DONE,
            execution_date=done_at,
        )
    if kind == "paid" and i % 3 == 0:
        for p in positions:
            at = ordered + dt.timedelta(days=1, minutes=p.positionid)
            Checkin.objects.create(position=p, list=clist, datetime=at, type=Checkin.TYPE_ENTRY)
            if i % 2 == 0:
                Checkin.objects.create(position=p, list=clist, datetime=at + dt.timedelta(hours=2),
                                       type=Checkin.TYPE_EXIT)
                Checkin.objects.create(position=p, list=clist, datetime=at + dt.timedelta(hours=3),
                                       type=Checkin.TYPE_ENTRY)
    # pretix's own bookkeeping of what an order is worth (its reports read it).
    order.create_transactions(is_new=True)
    return order, positions


def backdate(org):
    """Moves every seeded order's `last_modified` (and its refunds' `created`) to when it last
    changed in the story — payment, check-in, refund — as a shop's history has it; pretix's
    `auto_now` would stamp them all with the seeding's minute. `update()` bypasses `auto_now`."""
    for o in Order.objects.filter(event__organizer=org):
        refunds = list(o.refunds.all())
        for r in refunds:
            if r.execution_date:
                OrderRefund.objects.filter(pk=r.pk).update(created=r.execution_date)
        stamps = [o.datetime]
        stamps += [r.execution_date for r in refunds if r.execution_date]
        stamps += [p.payment_date for p in o.payments.all() if p.payment_date]
        stamps += list(Checkin.objects.filter(position__order=o).values_list("datetime", flat=True))
        Order.objects.filter(pk=o.pk).update(last_modified=max(stamps) + dt.timedelta(minutes=1))


def oauth_token(org, team):
    """A read-only OAuth access token of a team member, as pretix's OAuth flow would grant it
    (pretix takes these as `Authorization: Bearer`; team tokens only as `Token`). Minted here
    with a ten-year expiry instead of the flow's 24 hours."""
    user = User.objects.create_user("canary.operator@example.invalid", get_random_string(32))
    team.members.add(user)
    app = OAuthApplication.objects.create(
        name="boxoffice", redirect_uris="https://example.invalid/oauth",
        client_type="confidential", authorization_grant_type="authorization-code",
    )
    tok = OAuthAccessToken.objects.create(
        user=user, application=app, token=get_random_string(48), scope="read",
        expires=now() + dt.timedelta(days=3650),
    )
    tok.organizers.add(org)
    return tok.token


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    # One transaction: SQLite would otherwise sync the file after every row (~50 s vs ~5 s).
    with scopes_disabled(), transaction.atomic():
        org = Organizer.objects.create(name="Canary Events", slug=ORGANIZER)
        # Event plugins only take effect once the organizer has them too.
        org.plugins = PLUGINS
        org.save()
        team = Team.objects.create(
            organizer=org, name="boxoffice", all_events=True, all_event_permissions=True,
            all_organizer_permissions=True,
        )
        token = team.tokens.create(name="boxoffice-test")
        oauth = oauth_token(org, team)
        events = make_events(org)
        secrets = []
        for i in range(args.orders):
            ev, items, clist = events[i % len(events)]
            order, positions = make_order(rng, i, ev, items, clist)
            secrets.append(order.secret)
            secrets.extend(p.secret for p in positions)
        for j in range(2):
            ev, items, clist = events[j % len(events)]
            order, positions = make_order(rng, args.orders + j, ev, items, clist, testmode=True)
            secrets.append(order.secret)
            secrets.extend(p.secret for p in positions)
        backdate(org)
    json.dump({
        "organizer": ORGANIZER,
        "events": [e[0].slug for e in events],
        "checkin_lists": {e[0].slug: e[2].pk for e in events},
        "token": token.token,
        "oauth_token": oauth,
        "secrets": secrets,
    }, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
