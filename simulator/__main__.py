"""`python -m simulator serve|certs|customers|buy`: run the Microsoft simulator, or only make its
certificates; or, against a running one, list its customers and buy as a customer user (customer_cli.py)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_STATE = Path(__file__).resolve().parent.parent / ".simulator"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve Partner Center, ARM, Graph and the identity platform")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8001, help="0 picks a free port")
    serve.add_argument("--state", type=Path, default=DEFAULT_STATE, help="certificates, key and state.json")
    serve.add_argument("--key", default=os.environ.get("SIMULATOR_KEY"),
                       help="the control API's key (default: $SIMULATOR_KEY, else made up into DIR/key)")
    certs = commands.add_parser("certs", help="make the certificate authority and certificates, then exit")
    certs.add_argument("--state", type=Path, default=DEFAULT_STATE)
    from .customer_cli import add_commands
    add_commands(commands, DEFAULT_STATE)
    args = parser.parse_args(argv)
    if args.command in ("customers", "buy"):
        from .customer_cli import run as run_customer
        return run_customer(args)
    if args.command == "certs":
        from .certs import ensure_certificates
        ensure_certificates(args.state)
        print(args.state / "ca.pem")
        return 0
    from .server import serve as run
    run(args.state, host=args.host, port=args.port, key=args.key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
