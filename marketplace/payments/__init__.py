"""Payments (PROTOCOL.md §9): providers behind one interface, Stripe's webhooks, the ledger, refunds, payouts."""
