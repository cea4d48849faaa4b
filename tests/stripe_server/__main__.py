"""`python -m tests.stripe_server --port 12111 --webhook-url URL --webhook-secret whsec_…` for the demo."""

import argparse
import time

from .server import DEFAULT_API_KEY, DEFAULT_WEBHOOK_SECRET, StripeServer


def main() -> None:
    parser = argparse.ArgumentParser(description="A local Stripe-compatible test server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--public-url", default=None, help="the address browsers use (default: http://HOST:PORT)")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="the secret key clients must send")
    parser.add_argument("--webhook-url", default=None, help="where events are POSTed (none: not sent)")
    parser.add_argument("--webhook-secret", default=DEFAULT_WEBHOOK_SECRET)
    args = parser.parse_args()
    server = StripeServer(api_key=args.api_key, webhook_url=args.webhook_url, webhook_secret=args.webhook_secret,
                          host=args.host, port=args.port, public_url=args.public_url, quiet=False).start()  # fmt: skip
    print(f"Stripe test server on {server.url} (key {args.api_key}); events to {args.webhook_url or 'nowhere'}",
          flush=True)  # fmt: skip
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
