"""``python -m passport``: run the service, and issue, list and revoke reader tokens.

Until ``bpl serve`` and ``bpl token`` exist (the command line's to add, docs/service.md),
this is how the operator runs the service and hands out tokens::

    python -m passport serve [--host 127.0.0.1] [--port 8000] [--workers 1]
    python -m passport token issue DID [--role ROLE]... [--days 90] [--label TEXT]
    python -m passport token list
    python -m passport token revoke TOKEN_ID

The ledger is the one in ``$BPL_DATA_DIR`` (default ``~/.local/share/bpl``), its
database there or at ``$DATABASE_URL``; the tokens are in its ``tokens.json``.
"""

from __future__ import annotations

import argparse
import json
import sys

from ledger.defaults import default_data_dir
from passport.tokens import DEFAULT_DAYS, TokenError, TokenStore


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m passport", description=__doc__.split("\n")[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    serve = verbs.add_parser("serve", help="run the service (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    token = verbs.add_parser("token", help="reader tokens")
    token_verbs = token.add_subparsers(dest="action", required=True)
    issue = token_verbs.add_parser("issue", help="issue a token for a registered actor")
    issue.add_argument("did")
    issue.add_argument("--role", action="append", dest="roles", help="narrow to these roles")
    issue.add_argument("--days", type=int, default=DEFAULT_DAYS)
    issue.add_argument("--label", default="")
    token_verbs.add_parser("list", help="the tokens issued (never the secrets)")
    revoke = token_verbs.add_parser("revoke", help="revoke tokens by id")
    revoke.add_argument("token_id")
    args = parser.parse_args(argv)

    if args.verb == "serve":
        import uvicorn  # noqa: PLC0415 (only the server needs it)

        uvicorn.run(
            "passport.app:from_environment",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            proxy_headers=True,
        )
        return 0
    store = TokenStore.in_directory(default_data_dir())
    try:
        if args.action == "issue":
            secret, entry = store.issue(
                args.did, roles=args.roles, days=args.days, label=args.label
            )
            print(json.dumps({"token": secret, "id": entry.token_id, **entry.to_dict()}))
        elif args.action == "list":
            for entry in store.entries():
                print(json.dumps({"id": entry.token_id, **entry.to_dict()}))
        else:
            removed = store.revoke(args.token_id)
            print(json.dumps({"revoked": removed}))
            return 0 if removed else 1
    except TokenError as exc:
        print(f"python -m passport: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
