"""``python -m conformance.emulator``: serve a scenario until SIGINT/SIGTERM.

The first stdout line is the base URL (a contract); with TLS the second is ``ca: PATH``; the
next names the accounts.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

from .blockpages import VENDORS
from .demo import demo_setup
from .faults import Fault
from .proxy import PROXY_MODES
from .scenarios import BOT_USER, SCENARIOS, project_layout
from .server import EmulatorServer
from .tlsfaults import TLS_FAULTS


def _rate(spec: str) -> tuple[int, float]:
    cap, _, fill = spec.partition("/")
    try:
        capacity, rate = int(cap), float(fill or 1)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"bad rate limit {spec!r}: expected CAPACITY/FILL"
        ) from None
    if capacity < 1 or not rate > 0:
        raise argparse.ArgumentTypeError(
            f"bad rate limit {spec!r}: CAPACITY must be at least 1 and FILL above 0"
        )
    return capacity, rate


def _fault(spec: str) -> Fault:
    try:
        return Fault.parse(spec)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from e


def _bounded(low: int, high: int | None = None, what: str = "") -> Callable[[str], int]:
    """An argparse type: an integer in [low, high]; anything else is a usage error."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            bound = f"{low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{value} is out of range ({bound}){what}")
        return value

    return parse


def _latency(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 60000:
        raise argparse.ArgumentTypeError(f"{value:g} is out of range (0 to 60000 ms)")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m conformance.emulator",
        description="Serve the bundled Jira REST v2 emulator. The first line on stdout is the "
        "base URL; with --tls the next is 'ca: PATH'; then the accounts.",
    )
    p.add_argument("--scenario", default="dc-healthy", help="scenario name (see --list)")
    p.add_argument(
        "--list", action="store_true", help="list the scenarios and what each shows, then exit"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument(
        "--port",
        type=_bounded(0, 65535, "; 0 picks any free port"),
        default=0,
        help="TCP port, 1-65535; 0 (the default) picks any free port",
    )
    p.add_argument("--tls", action="store_true", help="HTTPS with a private CA")
    p.add_argument(
        "--latency-ms",
        type=_latency,
        default=0,
        help="time to answer every request, the emulator's own work included, in ms (0)",
    )
    p.add_argument(
        "--projects",
        type=_bounded(1),
        help="serve N generated projects P001... instead of VIS/OPS/MKT; the scenario's "
        "broken projects stay among the N",
    )
    p.add_argument(
        "--broken-projects",
        type=_bounded(0),
        metavar="K",
        help="make K projects broken the way the scenario breaks one (read-only-bot, "
        "no-project-access, mixed-permissions)",
    )
    p.add_argument(
        "--issues",
        type=_bounded(0),
        help="issues in the first project (VIS or P001); default 1200",
    )
    p.add_argument("--bot-user", help=f"the bot's user name ({BOT_USER})")
    p.add_argument("--bot-password", help="the bot's password")
    p.add_argument("--bot-token", help="the bot's personal access token (Cloud: API token)")
    p.add_argument("--context-path", help="serve Jira under this path, e.g. /jira")
    p.add_argument(
        "--fault",
        action="append",
        type=_fault,
        default=[],
        help="'METHOD PATHREGEX=STATUS' or '...=drop' (repeatable)",
    )
    p.add_argument(
        "--rate-limit",
        type=_rate,
        help="per-user token bucket CAPACITY/FILL_PER_SECOND, e.g. 10/5",
    )
    p.add_argument(
        "--captcha-status",
        type=_bounded(400, 499),
        default=403,
        help="status of a CAPTCHA refusal (403; some Jira answer 401)",
    )
    p.add_argument(
        "--search-max-results",
        type=_bounded(1),
        default=1000,
        help="the server's search page cap (1000, Jira's default)",
    )
    p.add_argument(
        "--search-total-offset",
        type=int,
        default=0,
        help="make /search report total off by N (a paging fault)",
    )
    p.add_argument(
        "--tls-fault",
        choices=TLS_FAULTS,
        help="break the HTTPS this way (implies --tls): " + ", ".join(TLS_FAULTS),
    )
    p.add_argument(
        "--front",
        choices=sorted(VENDORS),
        help="a firewall of this vendor in front refuses every credentialed /rest/ call",
    )
    p.add_argument(
        "--forward-proxy",
        metavar="MODE[:VENDOR]",
        help=f"also serve a forward proxy ({', '.join(PROXY_MODES)}); its URL is printed as "
        "'proxy: URL'",
    )
    p.add_argument(
        "--reset-reused",
        type=_bounded(0),
        metavar="N",
        help="reset the first N requests that arrive on kept-alive connections",
    )
    p.add_argument(
        "--search-repeat-page-at",
        type=_bounded(0),
        metavar="STARTAT",
        help="make the search page at STARTAT repeat the previous page (a paging fault)",
    )
    return p


def accounts_line(server: EmulatorServer) -> str:
    """One line naming the accounts the scenario serves, e.g. for the demo or a manual test."""
    cfg = server.config
    cloud = cfg.personality.cloud
    parts = []
    for u in sorted(cfg.world.users.values(), key=lambda u: u.admin):  # the bot first
        role = "admin" if u.admin else "bot"
        if cloud:
            token = u.tokens[0].raw if u.tokens else ""
            parts.append(f"{role} {u.email} API token {token}")
            continue
        text = f"{role} {u.name} password {u.password}"
        if u.tokens and cfg.personality.pats:  # 7.x has no personal access tokens
            text += f" token {u.tokens[0].raw}"
        parts.append(text)
    if not parts:
        return "accounts: none yet (first run: the setup wizard creates the administrator)"
    return "accounts: " + "; ".join(parts)


def _list() -> None:
    width = max(len(n) for n in SCENARIOS)
    for name, desc in SCENARIOS.items():
        print(f"{name.ljust(width)}  {desc}. Demo: {demo_setup(name).description}")


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.list:
        _list()
        return 0
    if args.scenario not in SCENARIOS:
        print(f"unknown scenario {args.scenario!r}; try --list", file=sys.stderr)
        return 4
    try:
        project_layout(args.scenario, args.projects, args.issues, args.broken_projects)
    except ValueError as e:
        p.error(str(e))
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
        broken_projects=args.broken_projects,
        tls_fault=args.tls_fault,
        front=args.front,
        forward_proxy=args.forward_proxy,
        reset_reused=args.reset_reused,
    )
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # before the URL is printed: a caller may signal as soon as it has read the first lines
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.start()
    except (OSError, SystemExit) as e:  # werkzeug exits (after saying why) when the port is taken
        why = getattr(e, "strerror", None) or "the address is in use or not available"
        print(f"cannot listen on {args.host}:{args.port}: {why}", file=sys.stderr)
        return 4
    print(server.url, flush=True)
    if server.ca_path is not None:
        print(f"ca: {server.ca_path}", flush=True)
    if server.client_cert_path is not None:
        print(f"client certificate: {server.client_cert_path} {server.client_key_path}")
    if server.proxy_url is not None:
        print(f"proxy: {server.proxy_url}", flush=True)
    print(accounts_line(server), flush=True)
    while not stop.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
