"""The order workflow's step: charging the card.

A real deployment calls a payment provider here, passing the step run's idempotency key
(`statewright.runtime.current_step().idempotency_key`) so a retried charge is never taken
twice. This one declines amounts over 5000 and otherwise returns
a payment id derived from the order, so runs are reproducible.
"""

from __future__ import annotations


class PaymentDeclined(Exception):
    """The provider refused the charge."""


def charge_card(input: dict[str, object]) -> dict[str, object]:
    """Charge `input["amount"]` for `input["orderId"]`; returns the payment id."""
    amount = input["amount"]
    if not isinstance(amount, (int, float)) or amount > 5000:
        raise PaymentDeclined(f"card declined for {amount}")
    return {"paymentId": f"pay-{input['orderId']}"}


ACTORS = {"chargeCard": charge_card}
