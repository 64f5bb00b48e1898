"""The pytest plugin (``pytest11`` entry point): a thin runner over ``conformance.engine``.

With ``--jira-url`` (or ``JIRA_URL``, or ``--jira-demo``) and no test paths, a run collects the
packaged checks only; otherwise the plugin stays out of the way, so ``pytest`` in the repository
runs the project's own self-tests. The run's state lives in one :class:`ConformanceRun` object
registered at configure (the shape of pytest's own junitxml plugin); these hooks only translate
between pytest's items and the engine's planned checks. Informational runs (``--collect-only``,
``--help``, ``--markers``, ``--fixtures``, ``--version``) send no request, write no report and
print no verdict.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import functools
import gc
import os
from collections.abc import Callable, Generator, Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from conformance import nodeids
from conformance.check import AREAS, CheckRecord, Outcome, requirement_of
from conformance.engine import fetch
from conformance.engine.plan import EACH_PROJECT, PlannedCheck, discover_checks
from conformance.engine.result import RunResult
from conformance.engine.run import Run, start
from conformance.engine.verdict import STRICT_BLOCKERS, row_fails
from conformance.options import add_options, is_active, resolve_settings
from conformance.profile import load_profile
from conformance.report import compare, progress, summary, writers
from conformance.report.terminal import terminal_width, wrap
from conformance.report.terminal_text import failure_text, skip_reason, terminal_safe
from conformance.secrets import Redactor
from conformance.settings import SettingsError, describe_settings
from conformance.signals import StopSignals, held_interrupts, process_is_pytests
from conformance.target import JiraTarget

CHECKS_DIR = Path(__file__).parent / "checks"
PLUGIN_NAME = "conformance-run"
# For drivers (the customer command) that read the run after pytest returns.
TARGET_KEY = pytest.StashKey[JiraTarget]()
PATHS_KEY = pytest.StashKey[dict[str, Path]]()
RUN_KEY = pytest.StashKey["ConformanceRun"]()
# The hold on Ctrl-C, SIGTERM and SIGHUP from the run's end on: a driver releases it.
HOLD_KEY = pytest.StashKey[held_interrupts]()
_FILE_KEY = pytest.StashKey[str]()  # a module's file, as its rows' locations give it
AREA_HELP = {
    "reachability": "DNS, TCP, TLS, proxy and a running Jira at the URL",
    "api": "REST API v2 answers as Jira",
    "auth": "the bot account logs in as itself",
    "version": "the Jira version is supported",
    "permissions": "the bot's permissions in each project",
    "import": "the test import of each project",
    "write": "the opt-in write round trip",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def informational(config: pytest.Config) -> bool:
    """Runs that only show something: they must not touch Jira or write a report."""
    option = config.option
    return bool(
        getattr(option, "collectonly", False)
        or getattr(option, "help", False)
        or getattr(option, "version", False)
        or getattr(option, "markers", False)
        or getattr(option, "showfixtures", False)
        or getattr(option, "show_fixtures_per_test", False)
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, args: list[str]
) -> Generator[None, object, object]:
    """A conformance run captures output at the ``sys`` level, unless ``--capture`` says.

    The checks print nothing (what they find goes into their rows); pytest's default ``fd``
    capture costs six system calls per phase of each of thousands of rows, a second of a
    1,644-row run. Runs inside before pytest's capture plugin reads the choice.
    """
    options = early_config.known_args_namespace
    chosen = any(arg == "--capture" or arg.startswith("--capture=") for arg in args)
    if options.capture == "fd" and not chosen and is_active(early_config, options):
        options.capture = "sys"
    return (yield)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance(requirement): a Visor Jira conformance check")
    for area in AREAS:
        config.addinivalue_line("markers", f"{area}: Visor conformance checks of {AREA_HELP[area]}")
    if not is_active(config) or hasattr(config, "workerinput"):
        return
    selections = _selections(config)
    if informational(config):
        config.pluginmanager.register(CollectOnly(config, selections), PLUGIN_NAME)
        return
    run = ConformanceRun.configure(config, selections)
    config.stash[RUN_KEY] = run
    config.pluginmanager.register(run, PLUGIN_NAME)


def _selections(config: pytest.Config) -> list[nodeids.Selection]:
    """The packaged checks as what pytest collects, and the node ids among the arguments as
    selections of their rows: a node id the suite printed selects that row from any directory.
    An argument that is neither a path nor a node id of a check is a usage error, before
    anything is sent or written."""
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args[:] = [str(CHECKS_DIR)]
        return []
    try:
        kept, selections = nodeids.split_arguments(
            config.args, config.invocation_params.dir, CHECKS_DIR, discover_checks()
        )
    except nodeids.SelectionError as exc:
        raise pytest.UsageError(str(exc)) from None
    if selections or not kept:
        config.args[:] = [*kept, str(CHECKS_DIR)]
    return selections


@pytest.hookimpl(optionalhook=True)
def pytest_metadata(metadata: dict[str, Any], config: pytest.Config) -> None:
    """Keep an allowlist: pytest-metadata adds CI variables such as GIT_URL and JAVA_HOME."""
    from conformance.report import hygiene

    hygiene.filter_metadata(metadata)


@pytest.fixture(scope="session")
def jira(request: pytest.FixtureRequest) -> JiraTarget:
    """The Jira under test: settings, HTTP layer, profile and the probe cache."""
    run = request.config.stash.get(RUN_KEY, None)
    if run is None:
        pytest.skip("no Jira to check: give --jira-url URL (or --jira-demo)")
    return run.target


# -- collection, shared by real and informational runs --------------------------------------------


class CheckItem(pytest.Item):
    """One planned row as a pytest item: a check, for one project or for the whole instance.

    Not a ``pytest.Function``: a row takes no fixtures and needs no parametrisation (the engine
    hands the check its target and project), and pytest's fixture machinery would be a third of
    its cost per item on a run of 1,600 rows. Node ids stay ``test_module.py::check[PROJECT]``,
    so ``-k``, ``-m`` (the area markers), node ids and ``--deselect`` select rows as before.
    """

    def __init__(
        self, *, function: Callable[..., None], project: str | None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.function = function
        self.project = project
        for mark in _marks_of(function):
            self.add_marker(mark)

    @property
    def param(self) -> str | None:
        """What the node id holds in brackets: the project key (or a placeholder), if any."""
        return self.name.partition("[")[2].removesuffix("]") or None

    def runtest(self) -> None:
        self.config.stash[RUN_KEY].judge(self)  # its outcome is set in makereport

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.function.__code__.co_firstlineno - 1, self.name

    @functools.cached_property
    def location(self) -> tuple[str, int | None, str]:
        """pytest's own location, its file part worked out once per module: a module's rows
        share the file, and pytest's path arithmetic for each item was 3% of a large run."""
        module = self.parent
        assert module is not None
        file = module.stash.get(_FILE_KEY, None)
        if file is None:
            file = module.stash[_FILE_KEY] = super().location[0]
        _, line, name = self.reportinfo()
        return file, line, name


@functools.cache
def _marks_of(function: Callable[..., None]) -> tuple[pytest.MarkDecorator, ...]:
    """A check's markers (its requirement, its area), made once for all its rows."""
    req = requirement_of(function)
    return () if req is None else (pytest.mark.conformance(req), getattr(pytest.mark, req.area))


class _Collection:
    """One row per project for checks taking ``project``; ids are the project keys themselves."""

    def __init__(self, config: pytest.Config, selections: list[nodeids.Selection]) -> None:
        self.config = config
        self.selections = selections
        self._specs = {spec.id: spec for spec in discover_checks()}

    def projects(self) -> list[str]:
        raise NotImplementedError

    no_project_id = "no-visible-project"

    @pytest.hookimpl(tryfirst=True)
    def pytest_pycollect_makeitem(
        self, collector: pytest.Module | pytest.Class, name: str, obj: object
    ) -> list[CheckItem] | None:
        req = requirement_of(obj) if callable(obj) else None
        spec = self._specs.get(req.id) if req is not None else None
        module = getattr(collector, "obj", None)
        if spec is None or getattr(obj, "__module__", None) != getattr(module, "__name__", ""):
            return None  # not a check, or a check imported into another module
        keys: list[str | None] = ([*self.projects()] or [None]) if spec.per_project else [None]
        items = []
        for key in keys:
            item_name = f"{name}[{key or self.no_project_id}]" if spec.per_project else name
            # The node id given as text, so that pytest reads "[OPS]" as the row's parameter,
            # as it does in the ids its cache keeps (--lf, --ff, --sw compare the two).
            items.append(
                CheckItem.from_parent(
                    collector,
                    name=item_name,
                    nodeid=f"{collector.nodeid}::{item_name}",
                    function=spec.function,
                    project=key,
                )
            )
        return items

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Rows the node ids among the arguments do not name are deselected."""
        if not self.selections:
            return
        kept: list[pytest.Item] = []
        dropped: list[pytest.Item] = []
        for item in items:
            chosen = not isinstance(item, CheckItem) or any(
                s.selects(item.path.name, item.function.__name__, item.param)
                for s in self.selections
            )
            (kept if chosen else dropped).append(item)
        if dropped:
            items[:] = kept
            config.hook.pytest_deselected(items=dropped)


class CollectOnly(_Collection):
    """``--collect-only`` and friends: the projects known without asking Jira, or a placeholder."""

    no_project_id = EACH_PROJECT

    def projects(self) -> list[str]:
        keys = list(self.config.getoption("jira_project", None) or [])
        keys = keys or nodeids.project_keys(self.selections, self._specs.values()) or []
        if not keys:
            try:
                profile = load_profile(self.config.getoption("jira_profile", None))
            except SettingsError:
                return []
            keys = [spec.key for spec in profile.projects or []]
        return keys


# -- the run ---------------------------------------------------------------------------------------


class ConformanceRun(_Collection):
    """A conformance run: its target, its engine run, its report paths, its signals."""

    def __init__(
        self,
        config: pytest.Config,
        selections: list[nodeids.Selection],
        target: JiraTarget,
        paths: dict[str, Path],
        emulator: Any,
    ) -> None:
        super().__init__(config, selections)
        self.target = target
        self.paths = paths
        self.emulator = emulator
        self.run: Run | None = None
        self._keys: list[str] | None = None
        self._items: dict[str, PlannedCheck] = {}
        self._selected: list[PlannedCheck] = []
        self.signals = StopSignals(self._interrupted)
        self.prefetch: fetch.Prefetch | None = None
        self.result: RunResult | None = None
        self._signal: str | None = None
        self._hold: held_interrupts | None = None
        self.reports_wanted = True
        # A run inside another pytest's test (pytester in-process) leaves its host's garbage
        # collector alone: only the host is testing then, and it sets this variable.
        self._nested = "PYTEST_CURRENT_TEST" in os.environ
        self.plan = summary.Plan()  # the fix numbers, as the rows come: "fix #2" in FAILURES
        self.progress: progress.PytestProgress | None = None

    @classmethod
    def configure(
        cls, config: pytest.Config, selections: list[nodeids.Selection]
    ) -> ConformanceRun:
        from conformance.report import files

        demo = config.getoption("jira_demo", None)
        setup = _demo_setup(demo) if demo else None
        emulator = _start_emulator(demo, setup.projects) if demo and setup else None
        try:
            settings = resolve_settings(
                config,
                demo_url=emulator.url if emulator is not None else None,
                demo_env=setup.env if setup is not None else None,
            )
            profile = load_profile(settings.profile or (setup.profile if setup else None))
            compare.check_profile(settings.compare, profile)
            paths = writers.plan_paths(config, files.report_paths(settings))
        except SettingsError as exc:
            if emulator is not None:
                emulator.stop()
            raise pytest.UsageError(str(exc)) from None
        redactor = Redactor()
        if settings.credentials is not None:
            redactor.register(settings.credentials.secret)
        target = JiraTarget(settings, redactor, profile)
        if settings.handoff is not None:
            target.notices += filter(None, [settings.handoff.profile_notice(profile)])
        if getattr(config.option, "dist", "no") != "no" or getattr(
            config.option, "numprocesses", None
        ):
            # One process: the run shares one HTTP layer, one login latch and one result (xdist
            # would give each worker its own, and so multiply failed logins).
            config.option.dist, config.option.numprocesses = "no", None
            target.notices.append(
                "-n was ignored: a conformance run is one process, so that the bot logs in once"
            )
        run = cls(config, selections, target, paths, emulator)
        _no_collection_at_exit()
        config.stash[TARGET_KEY] = target
        config.stash[PATHS_KEY] = paths
        writers.register(config, target)
        # From here on a stop signal ends the run like Ctrl-C, with its reports: the dependent
        # chain and the first fetches run while pytest still collects.
        run.signals.trap()
        return run

    # -- collection ------------------------------------------------------------------------------

    def projects(self) -> list[str]:
        if self._keys is None:
            named = nodeids.project_keys(self.selections, self._specs.values())
            try:
                self._keys = fetch.discover_projects(self.target, named)
            except KeyboardInterrupt:
                # Ctrl-C during the chain: pytest's collection ends in its own finally
                # (pytest_collection_finish), which must not call this an empty selection.
                self._interrupted("SIGINT")
                raise
            self.run = start(self.target, self._keys)
            if self._signal is not None:  # Ctrl-C while the projects were being found
                self.run.interrupted(self._signal)
            elif _selects_everything(self.config):
                # Every planned row will run: fetch their evidence while pytest still collects.
                self._start_prefetch(self.run.plan)
        return self._keys

    def _start_prefetch(self, rows: Iterable[PlannedCheck]) -> None:
        self.prefetch = fetch.Prefetch(self.target, fetch.tasks_for(rows)).start()

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        """What the run will use, each line wrapped to the terminal's width; the settings that
        are not defaults only (the HTML report's "This run" lists every one)."""
        s = self.target.settings
        creds = s.credentials
        chosen = [line for line in describe_settings(s) if not line.endswith("(from default)")]
        lines = [
            f"jira: {s.url} (from {s.sources.get('url')})",
            f"bot: {creds.describe() if creds else 'none'}",
            f"profile: {self.target.profile.source}",
            f"proxy: {self.target.http.proxy.describe()}",
            f"mode: {'write round trip in ' + s.write_project if s.write_project else 'read-only'}",
            "settings: " + ("; ".join(chosen) or "all defaults"),
            *self.target.notices,
            *self.target.http.notes,  # e.g. a REQUESTS_CA_BUNDLE naming a missing file
        ]
        width = terminal_width()
        return [
            wrapped
            for line in lines
            for wrapped in wrap(terminal_safe(self.target.redactor.scrub(line)), width, "", "  ")
        ]

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Items in plan order, each tied to its planned row, before anything else narrows or
        reorders them (-k, -m, --deselect, --lf, --ff, --sw work on the plan's order)."""
        _Collection.pytest_collection_modifyitems(self, session, config, items)
        run = self._engine()
        position = {planned.label: n for n, planned in enumerate(run.plan)}
        by_label = {planned.label: planned for planned in run.plan}
        mine: list[tuple[int, pytest.Item]] = []
        for item in items:
            label = _label(item, self.target)
            if label in by_label:
                self._items[item.nodeid] = by_label[label]
                mine.append((position[label], item))
        others = [item for item in items if item.nodeid not in self._items]
        items[:] = [item for _, item in sorted(mine, key=lambda pair: pair[0])] + others

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """The rows left once every plugin has narrowed the selection; none is a usage error."""
        self._selected = [self._items[i.nodeid] for i in session.items if i.nodeid in self._items]
        if (
            not self._selected and self._signal is None
        ):  # an interrupted collection is no usage error
            total = len(self._engine().plan)
            self.reports_wanted = False  # a usage error writes no report
            pytest.exit(
                f"the selection (-k, -m, node ids, --deselect or --lf) matches none of the "
                f"{total} checks; areas you can select with -m: {', '.join(AREAS)}",
                returncode=int(pytest.ExitCode.USAGE_ERROR),
            )
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and progress.grouped(self.config):
            self.progress = progress.PytestProgress(reporter, self._selected)
            self.config.pluginmanager.register(self.progress, "conformance-progress")

    @property
    def selected(self) -> list[PlannedCheck]:
        """The planned rows this run judges, in order (once collection is done)."""
        return list(self._selected)

    def _engine(self) -> Run:
        self.projects()
        assert self.run is not None
        return self.run

    # -- running ---------------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        """Start fetching the selected rows' evidence (concurrently, in the background), then let
        pytest judge each item as its evidence arrives."""
        if self.prefetch is None:
            self._start_prefetch(self._selected)  # only what the selection kept
        try:
            return (yield)
        finally:
            self._stop_prefetch()

    def _stop_prefetch(self) -> None:
        """Probes not started yet are dropped (the run ended, or ended early)."""
        if self.prefetch is not None:
            self.prefetch.close()

    def judge(self, item: CheckItem) -> CheckRecord:
        """Judge the item's planned row; the row's outcome becomes pytest's in ``makereport``."""
        planned = self._items.get(item.nodeid)
        if planned is None:
            pytest.skip("not a row of this run's plan")
        run = self._engine()
        record = run.judge(planned, item.nodeid)
        item.stash[RECORD_KEY] = record
        if self.target.http.remaining_s() <= 0 and not item.session.shouldstop:
            # The deadline bounds the whole run, its reports included: the rows not judged yet
            # are left out (the verdict names them), not each taken through pytest's protocol
            # and the reports only to say "incomplete".
            run.state.deadline_passed = True
            item.session.shouldstop = DEADLINE_STOP
        return record

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> bool | None:
        """A row's protocol: the check judged once, inside the run's output capture, then the
        call and teardown reports.

        A row has nothing to set up or tear down (no fixtures; what a check finds goes into its
        row, and it logs nothing), and pytest's three phases, each with its own hooks, output
        capture, log capture and fixture bookkeeping, were most of a row's cost for nothing. So a
        row does not go through ``pytest_runtest_setup``, ``_call`` and ``_teardown``; the hooks
        the report writers and pytest's plugins listen to still run: ``logstart``,
        ``makereport`` (where the row's outcome is set), ``logreport`` for the call and for the
        teardown (JUnit and pytest-html finish a test case there; ``-x``, ``--lf`` and ``--sw``
        read the call's) and ``logfinish``. Live logging (``--log-cli-level``) is the session's
        and still shows. Items that are not rows keep pytest's own protocol.
        """
        if not isinstance(item, CheckItem):
            return None
        ihook = item.ihook
        ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        capture = item.config.pluginmanager.get_plugin("capturemanager")
        with capture.item_capture("call", item) if capture else contextlib.nullcontext():
            call = pytest.CallInfo.from_call(
                item.runtest, when="call", reraise=(pytest.exit.Exception, KeyboardInterrupt)
            )
        report: pytest.TestReport = ihook.pytest_runtest_makereport(item=item, call=call)
        ihook.pytest_runtest_logreport(report=report)
        # The teardown report names the row as the call's does (pytest 9's structured id, which
        # JUnit keys its test cases by; the node id string on older pytest).
        same_row = getattr(report, "id", report.nodeid)
        done = pytest.TestReport(
            same_row, item.location, report.keywords, "passed", None, "teardown", [], 0.0
        )
        ihook.pytest_runtest_logreport(report=done)
        os.environ.pop("PYTEST_CURRENT_TEST", None)  # what pytest's teardown phase would do
        ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """pytest's outcome of a row is the row's: failed for fail and error (the row's
        findings are the failure text), skipped for skipped, blocked and incomplete."""
        report = yield
        record = item.stash.get(RECORD_KEY, None)
        if record is None or report.when != "call" or report.outcome != "passed":
            return report
        report.conformance_record = record  # type: ignore[attr-defined]
        report.duration = record.duration_s
        # A certification run does not accept a warning or a blocked row: a failure to pytest,
        # JUnit and CI too, as the verdict counts it.
        strict = self.target.settings.strict and record.outcome in STRICT_BLOCKERS
        if row_fails(record.outcome, strict=self.target.settings.strict):
            report.outcome = "failed"
            # The finding once, wrapped, and which numbered fix of the closing block changes
            # it: the remediation itself is printed once, there.
            found = self.plan.update(self.target.records)
            text = failure_text(
                record, found.fix_for(record), strict=strict, width=terminal_width()
            )
            report.longrepr = FailureText(  # type: ignore[assignment]
                self.target.redactor.scrub(text), _crash_line(item.nodeid, record)
            )
        elif record.outcome in (Outcome.SKIPPED, Outcome.BLOCKED, Outcome.INCOMPLETE):
            path, line, _ = item.reportinfo()
            report.outcome = "skipped"
            report.longrepr = (str(path), (line or 0) + 1, f"Skipped: {skip_reason(record)}")
        return report

    def pytest_report_teststatus(
        self, report: pytest.TestReport, config: pytest.Config
    ) -> tuple[str, str, str | tuple[str, dict[str, bool]]] | None:
        """Our outcome words in pytest's counts ("35 passed, 1 warn, 5 blocked"), so that its
        summary line and the closing block's agree; nothing per row while rows are grouped."""
        record: CheckRecord | None = getattr(report, "conformance_record", None)
        if record is None or report.when != "call":
            return None
        category, letter, word = progress.status(record, failed=report.failed)
        if self.progress is not None and self.progress.in_loop:
            return category, "", ""
        return category, letter, word

    def _interrupted(self, signal_name: str) -> None:
        self._signal = self._signal or signal_name
        self.target.http.stop()  # nothing more is sent, not even the rest of the chain
        if self.run is not None:
            self.run.interrupted(signal_name)

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        if self._signal is None and isinstance(excinfo.value, pytest.Session.Interrupted):
            return  # pytest stopped itself (errors during collection, -x): nobody sent SIGINT
        self._interrupted("SIGINT")
        if self.prefetch is not None:
            self.prefetch.stop()  # Ctrl-C during collection: nothing more is sent

    # -- the end ---------------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        from conformance import handoff
        from conformance.report import files, json_result

        self._stop_prefetch()  # the session ended before the loop (a collection error, say)
        if exitstatus == pytest.ExitCode.USAGE_ERROR and self.run is None:
            self.reports_wanted = False  # e.g. a path pytest cannot find: nothing sent, no report
        if not self.reports_wanted:
            return
        self._hold_to_the_end()

        if self.run is not None and (stop := _stopped_by(session)) is not None:
            self.run.stopped(stop)
        # The run's one result: the finishers run (the round trip's safety net), then the verdict
        # is decided once; the JSON, JUnit, HTML, terminal and exit code all read it.
        result = self.result = self._engine().finish()
        self.config.stash[writers.RESULT_KEY] = result
        with held_interrupts():
            data = json_result.build(result)
            for kind, path in (
                ("json", self.paths["json"]),
                ("json_copy", result.settings.json_path),
            ):
                if path is not None:
                    writers.write_whole(
                        self.config,
                        kind,
                        path,
                        lambda where: json_result.write(data, where),
                    )
            writers.write_junit(self.config, result, self.paths)
            # The hand-over, sealed with the JSON result as written, before pytest-html renders
            # the page (its session end comes after this one): the result then says what was done.
            sealed = handoff.seal_after_run(
                login=result.http.login,
                result=data,
                settings=result.settings,
                profile=result.profile,
                path=files.beside(self.paths, handoff.SUFFIX),
            )
            if sealed is not None:
                result = self.result = dataclasses.replace(result, handoff=sealed)
                self.config.stash[writers.RESULT_KEY] = result
            writers.write_html(self.config, result, self.paths)
        if exitstatus in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR):
            return
        session.exitstatus = int(result.verdict.exit_code)

    def _hold_to_the_end(self) -> None:
        """From now on (the safety net, the verdict, every report, the closing words) Ctrl-C,
        SIGTERM and SIGHUP are held: the rows are judged, and what remains is finished whole.
        The hold ends after pytest's last unconfigure; when this process is the ``pytest``
        command, it lasts until the process exits, so that a signal in its last milliseconds
        changes neither the exit code nor the output (nothing remains to interrupt)."""
        from conformance.report import terminal

        if self._hold is not None:
            return
        self.signals.restore()  # the run-time handlers go; the hold keeps the originals
        self._hold = self.config.stash[HOLD_KEY] = held_interrupts().__enter__()
        # A driver that prints the verdict itself (the customer command) ends the hold.
        driven = self.config.stash.get(terminal.VERDICT_OWNED, False)
        if process_is_pytests():
            self.config.add_cleanup(self._hold.ignore_to_the_exit)
        elif not driven:
            self.config.add_cleanup(self._hold.release)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        from conformance.report import terminal

        with held_interrupts():
            if self._hold is not None and self._hold.received:
                terminal.write_held(config, self._hold.received)
            if self.reports_wanted and self.result is not None:
                # After pytest's own summary: the closing block, then the verdict line, last.
                terminal.write_closing(config, self.result, self.paths)
                terminal.write_last_line(config, self.result, self.paths)
            self.signals.restore()
            self.target.close()
            if self.emulator is not None:
                self.emulator.stop()
        if not self._nested:
            # Everything the run built (rows, evidence, items) lives until the process ends;
            # pytest's own clean-up then collects garbage twice (looking for unraisable
            # exceptions), walking all of it each time: seconds at 10,000 projects, for nothing.
            gc.freeze()


RECORD_KEY = pytest.StashKey[CheckRecord]()
DEADLINE_STOP = "the run's deadline passed: the rows not judged by then are reported as not run"


def _no_collection_at_exit() -> None:
    """The interpreter's last act is a full garbage collection of all the run built (rows,
    reports, evidence): about 70 ms at the end of a 1,644-row run, for memory the system takes
    back anyway. An exit handler freezes the heap first. An exit handler, not a hook: a run
    inside another pytest (pytester) must leave its host's collector alone until it exits."""
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


class FailureText:
    """A failing row's text for pytest: printed whole under FAILURES and in JUnit's failure,
    with the finding codes as its one-line message (the short summary and JUnit's ``message``)
    only when ``FAILED <node id> - <codes>`` fits the terminal. pytest would otherwise trim the
    text's first line to a width it miscounts when colours are on."""

    def __init__(self, text: str, crash: str | None) -> None:
        self.text = text
        if crash is not None:
            self.reprcrash = SimpleNamespace(message=crash)

    def toterminal(self, out: Any) -> None:
        for line in self.text.splitlines():
            out.line(line)

    def __str__(self) -> str:
        return self.text


def _crash_line(nodeid: str, record: CheckRecord) -> str | None:
    codes = ", ".join(f.code for f in record.findings) or record.outcome.value
    fits = len(f"FAILED {nodeid} - {codes}") <= terminal_width()
    return codes if fits else None


def _stopped_by(session: pytest.Session) -> str | None:
    """The option that made pytest stop at a failure: -x, --maxfail=N, or --sw."""
    if session.shouldfail:
        maxfail = int(session.config.getoption("maxfail", 0) or 0)
        return "-x" if maxfail == 1 else f"--maxfail={maxfail}"
    if session.shouldstop and session.config.getoption("stepwise", False):
        return "--sw"
    return None


def _selects_everything(config: pytest.Config) -> bool:
    """No -k, -m, --deselect, --ignore, node ids or last-failed: every planned row will run."""
    option = config.option
    narrowed = (
        getattr(option, name, None)
        for name in (
            "keyword",
            "markexpr",
            "deselect",
            "ignore",
            "ignore_glob",
            "lf",
            "stepwise",
        )
    )
    return config.args_source != pytest.Config.ArgsSource.ARGS and not any(narrowed)


def _label(item: pytest.Item, target: JiraTarget) -> str:
    if not isinstance(item, CheckItem):
        return ""
    req = requirement_of(item.function)
    if req is None:
        return ""
    project = item.project
    if project is None and req.area == "write":
        project = target.settings.write_project  # the write round trip's row is its project's
    return f"{req.id}[{project}]" if project else req.id


def _demo_setup(scenario: str) -> Any:
    """What the demo of ``scenario`` needs to show its problem (credentials, profile, size)."""
    from conformance.emulator import SCENARIOS
    from conformance.emulator.demo import demo_setup

    if scenario not in SCENARIOS:
        raise pytest.UsageError(
            f"--jira-demo {scenario!r} is not a scenario; choose one of: {', '.join(sorted(SCENARIOS))}"
        )
    return demo_setup(scenario)


def _start_emulator(scenario: str, projects: int | None) -> Any:
    from conformance.emulator import EmulatorServer

    return EmulatorServer(scenario, projects=projects).start()


__all__ = ["CHECKS_DIR", "PATHS_KEY", "TARGET_KEY", "discover_checks", "pytest_addoption"]
