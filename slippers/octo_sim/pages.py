"""The hosted pay page a buyer is sent to (`octo_pay_url`), with Pay / Fail / Cancel."""

from __future__ import annotations

from flask import Blueprint, abort, render_template_string

from slippers.octo_sim import callbacks
from slippers.octo_sim.web import sim_state

bp = Blueprint("octo_pages", __name__)

OPEN_STATUSES = {"created", "wait_user_action"}
ACTIONS = {"pay": "succeeded", "fail": "failed", "cancel": "canceled"}

STYLE = """
body { font-family: system-ui, sans-serif; background: #f4f5f7; margin: 0; }
main { max-width: 26rem; margin: 3rem auto; background: #fff; padding: 1.5rem 2rem;
       border-radius: .75rem; box-shadow: 0 2px 8px rgba(0,0,0,.08); }
.amount { font-size: 2rem; font-weight: 600; margin: .5rem 0; }
.muted { color: #666; font-size: .9rem; }
.badge { background: #ffe9a8; border-radius: .3rem; padding: .1rem .4rem; font-size: .8rem; }
form { display: inline-block; margin: .75rem .5rem 0 0; }
button { font-size: 1rem; padding: .5rem 1rem; border: 0; border-radius: .4rem; cursor: pointer; }
#pay-button { background: #1a7f37; color: #fff; }
#fail-button { background: #cf222e; color: #fff; }
#cancel-button { background: #ddd; }
"""

PAY_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>OCTO sandbox: pay</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{{ style }}</style></head>
<body><main>
<p class="muted">OCTO sandbox <span class="badge">test payment, no money moves</span></p>
<h1 id="description">{{ p.description }}</h1>
<p class="amount" id="amount">{{ amount }} {{ p.currency }}</p>
<p class="muted">Order reference {{ p.shop_transaction_id }} · status
<span id="status">{{ p.status }}</span></p>
{% if open %}
<form method="post" action="{{ url_for('octo_pages.act', payment_uuid=uuid, action='pay') }}">
<button id="pay-button" type="submit">Pay {{ amount }} {{ p.currency }}</button></form>
<form method="post" action="{{ url_for('octo_pages.act', payment_uuid=uuid, action='fail') }}">
<button id="fail-button" type="submit">Fail</button></form>
<form method="post" action="{{ url_for('octo_pages.act', payment_uuid=uuid, action='cancel') }}">
<button id="cancel-button" type="submit">Cancel</button></form>
{% else %}
<p>This payment is no longer open.</p>
<p><a id="return-link" href="{{ p.return_url }}">Back to the shop</a></p>
{% endif %}
</main></body></html>
"""

RESULT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>OCTO sandbox: {{ p.status }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{{ style }}</style></head>
<body><main>
<p class="muted">OCTO sandbox <span class="badge">test payment</span></p>
<h1 id="result">{{ headline }}</h1>
<p class="amount">{{ amount }} {{ p.currency }}</p>
<p class="muted">Status <span id="status">{{ p.status }}</span>
· callbacks sent: <span id="callbacks-sent">{{ sent }}</span></p>
<p><a id="return-link" href="{{ p.return_url }}">Back to the shop</a></p>
</main></body></html>
"""

HEADLINES = {
    "succeeded": "Payment succeeded",
    "waiting_for_capture": "Payment authorised, waiting for the shop to capture it",
    "failed": "Payment failed",
    "canceled": "Payment canceled",
}


@bp.get("/pay/<payment_uuid>")
def pay_page(payment_uuid: str) -> str:
    """Opening the page is the buyer's first action: created -> wait_user_action."""
    state = sim_state()
    payment = state.get_payment(payment_uuid)
    if payment is None:
        abort(404)
    state.move_status(payment, {"created"}, "wait_user_action")
    with state.lock:
        return render_template_string(
            PAY_PAGE,
            p=payment,
            uuid=payment_uuid,
            amount=f"{payment.total_sum:,.2f}",
            open=payment.status in OPEN_STATUSES,
            style=STYLE,
        )


@bp.post("/pay/<payment_uuid>/<action>")
def act(payment_uuid: str, action: str) -> tuple[str, int]:
    """The buyer's choice; with auto_capture off, Pay only holds the money."""
    state = sim_state()
    payment = state.get_payment(payment_uuid)
    if payment is None or action not in ACTIONS:
        abort(404)
    target = ACTIONS[action]
    if target == "succeeded" and not payment.auto_capture:
        target = "waiting_for_capture"
    moved = state.move_status(payment, OPEN_STATUSES, target)
    records = callbacks.notify_status_change(state, payment_uuid) if moved else []
    with state.lock:
        headline = HEADLINES.get(payment.status, payment.status)
        if not moved:
            headline = f"Nothing done: the payment is already {payment.status}"
        page = render_template_string(
            RESULT_PAGE,
            p=payment,
            headline=headline,
            amount=f"{payment.total_sum:,.2f}",
            sent=len(records),
            style=STYLE,
        )
    return page, 200 if moved else 409
