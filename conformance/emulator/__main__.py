"""``python -m conformance.emulator``: serve a scenario until SIGINT/SIGTERM.

The first stdout line is the base URL; with TLS the second is ``ca: PATH``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from .faults import Fault
from .scenarios import SCENARIOS
from .server import EmulatorServer


def _rate(spec: str) -> tuple[int, float]:
    cap, _, fill = spec.partition("/")
    try:
        return int(cap), float(fill or 1)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"bad rate limit {spec!r}: expected CAPACITY/FILL"
        ) from None


def _fault(spec: str) -> Fault:
    try:
        return Fault.parse(spec)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m conformance.emulator",
        description="Serve the bundled Jira REST v2 emulator.",
    )
    p.add_argument("--scenario", default="dc-healthy", help="scenario name (see --list)")
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--tls", action="store_true", help="HTTPS with a private CA")
    p.add_argument("--latency-ms", type=float, default=0)
    p.add_argument("--projects", type=int)
    p.add_argument("--issues", type=int)
    p.add_argument("--bot-user")
    p.add_argument("--bot-password")
    p.add_argument("--bot-token")
    p.add_argument("--context-path")
    p.add_argument(
        "--fault",
        action="append",
        type=_fault,
        default=[],
        help="'METHOD PATHREGEX=STATUS' or '...=drop' (repeatable)",
    )
    p.add_argument("--rate-limit", type=_rate, help="CAPACITY/FILL_PER_SECOND")
    p.add_argument("--captcha-status", type=int, default=403)
    p.add_argument("--search-max-results", type=int, default=1000)
    p.add_argument("--search-total-offset", type=int, default=0)
    p.add_argument("--search-repeat-page-at", type=int)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.list:
        width = max(len(n) for n in SCENARIOS)
        for name, desc in SCENARIOS.items():
            print(f"{name.ljust(width)}  {desc}")
        return 0
    if args.scenario not in SCENARIOS:
        print(f"unknown scenario {args.scenario!r}; try --list", file=sys.stderr)
        return 4
    server = EmulatorServer(
        args.scenario,
        host=args.host,
        port=args.port,
        tls=args.tls,
        latency_ms=args.latency_ms,
        projects=args.projects,
        issues=args.issues,
        bot_user=args.bot_user,
        bot_password=args.bot_password,
        bot_token=args.bot_token,
        context_path=args.context_path,
        faults=args.fault,
        captcha_status=args.captcha_status,
        rate_limit=args.rate_limit,
        search_max_results=args.search_max_results,
        search_total_offset=args.search_total_offset,
        search_repeat_page_at=args.search_repeat_page_at,
    )
    server.start()
    print(server.url, flush=True)
    if server.ca_path is not None:
        print(f"ca: {server.ca_path}", flush=True)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    while not stop.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
