"""`python -m support_graph TICKET...`: answer each ticket as its own thread (`ticket-1`, ...)."""

from __future__ import annotations

import argparse
import sys

from support_graph.app import graph


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="support-graph", description=__doc__)
    parser.add_argument("tickets", nargs="+", help="ticket texts")
    parser.add_argument("--prefix", default="ticket", help="thread ids are PREFIX-1, PREFIX-2, ...")
    args = parser.parse_args(argv)
    failed = 0
    for n, text in enumerate(args.tickets, 1):
        thread = f"{args.prefix}-{n}"
        try:
            final = graph.invoke({"ticket": text}, {"configurable": {"thread_id": thread}})
            print(f"{thread}: {final.get('reply')}")
        except Exception as exc:  # one ticket's failure is recorded on its trace; the others still run
            failed += 1
            print(f"{thread}: failed: {exc}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
