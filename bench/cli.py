"""The command line: refuse bad input in one line, then run the job, through Hydra where it
needs Hydra."""

from __future__ import annotations

import contextlib
import signal
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hydra
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.core.utils import JobReturn, JobStatus
from hydra.errors import HydraException
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from bench.argv import report_only
from bench.config import (
    ConfigError,
    check_writable,
    is_report,
    is_sweep,
    register,
    register_for_reports,
    validate,
)
from bench.names import check_name

if TYPE_CHECKING:
    from bench.report.drawing import Workers

__all__ = ["MultirunReport", "main"]

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
GROUPS = ("task", "optimizer", "sweep", "storage", "report", "experiment")
_PASS_THROUGH = ("--help", "-h", "--hydra-help", "--cfg", "-c", "--info", "--version")


def _choices(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def check_arguments(argv: list[str]) -> DictConfig | None:
    """Compose the configuration once per choice named on the command line, and validate it.

    Returns the composed configuration where the command is one job that Hydra's own run would
    only hand to ``_job`` (see ``_needs_hydra``), else None.
    """
    _register(argv)
    overrides = [a for a in argv if not a.startswith("-")]
    # One composition with every sweep at its first value, then one per further value of each
    # sweep: every value is checked, in a number of compositions that adds up rather than
    # multiplies.
    choices: list[list[str]] = []
    for override in _parse(overrides):
        key = override.key_or_group
        if not override.is_sweep_override():
            choices.append([override.input_line])
            continue
        prefix = override.input_line.split(key)[0]
        choices.append([f"{prefix}{key}={v}" for v in override.sweep_string_iterator()])
    first = [options[0] for options in choices]
    variants = [first] + [
        first[:i] + [option] + first[i + 1 :]
        for i, options in enumerate(choices)
        for option in options[1:]
    ]
    for plain in variants:
        _check_groups(plain)
        try:
            with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
                cfg = compose("config", overrides=plain, return_hydra_config=True)
            with open_dict(cfg):
                hydra_cfg = cfg.pop("hydra")
            # Interpolations (``steps=${x}``) resolve here, not halfway through a run.
            OmegaConf.resolve(cfg)
        except Exception as error:  # noqa: BLE001 - Hydra and OmegaConf raise many kinds
            raise ConfigError(_one_line(error)) from None
        try:
            _check(cfg)
        except OmegaConfBaseException as error:  # a schema key removed with ``~key``
            raise ConfigError(_one_line(error)) from None
    if len(variants) > 1 or len(overrides) < len(argv) or _needs_hydra(hydra_cfg):
        return None
    return cfg  # the one variant's


def _needs_hydra(hydra_cfg: DictConfig) -> bool:
    """Whether Hydra's run of this configuration does more than call the job with it: a
    multirun, callbacks, a run directory or files of its own, another working directory or
    environment. ``conf/config.yaml`` sets none of these; Hydra's two further compositions of
    the same configuration (one to learn the mode, one to run) take half a second."""
    try:
        return (
            hydra_cfg.mode == RunMode.MULTIRUN
            or bool(hydra_cfg.callbacks)
            or hydra_cfg.output_subdir is not None
            or hydra_cfg.run.dir != "."
            or bool(hydra_cfg.job.chdir)
            or bool(hydra_cfg.job.env_set)
        )
    except OmegaConfBaseException:  # an interpolation only Hydra's run can resolve
        return True


def _register(argv: list[str]) -> None:
    """The schemas the command composes against: without torch for a report alone."""
    if report_only(argv):
        register_for_reports(_choices("task"), _choices("optimizer"))
    else:
        register()


def _check(cfg: DictConfig) -> None:
    """Validate one composed configuration, as its run would use it (a report reads results
    only: its task, optimizer and run settings are not used)."""
    _check_names(cfg)
    check_writable(cfg.results_dir)
    if is_report(cfg):
        studies = cfg.report.studies
        _check_studies(cfg.results_dir, None if studies is None else list(studies))
        return
    from bench.sweep import quiet_optuna, validate_sweep
    from bench.sweep.storage import check_storage

    quiet_optuna()
    validate(cfg)
    if is_sweep(cfg):
        validate_sweep(cfg)
    check_storage(cfg.storage, cfg.results_dir)


def _check_studies(results_dir: str, studies: list[str] | None) -> None:
    """Refuse a report over studies that are not there, before Hydra writes anything."""
    from bench.report.load import check_studies

    try:
        check_studies(results_dir, studies)
    except ValueError as error:
        raise ConfigError(str(error)) from None


def _parse(overrides: list[str]) -> list[Override]:
    """Hydra's parse of the overrides; a syntax error is refused in one line."""
    try:
        return OverridesParser.create().parse_overrides(overrides)
    except HydraException as error:
        raise ConfigError(_one_line(error)) from None


def _check_groups(overrides: list[str]) -> None:
    """Refuse a config group choice (``task=…``, ``+sweep=…``) that has no file."""
    for override in _parse(overrides):
        key = override.key_or_group
        if key in GROUPS:
            value = override.get_value_element_as_str()
            allowed = _choices(key)
            if value not in allowed:
                raise ConfigError(
                    f"{key}={value!r} is unknown; allowed: {', '.join(allowed) or 'none yet'}"
                )


def _check_names(cfg: DictConfig) -> None:
    """Refuse a study or report name that no directory can hold (any other name is mapped to
    one directory right below results_dir / reports_dir by ``bench.names``)."""
    named = [("study_name", cfg.study_name)] if cfg.study_name else []
    if is_report(cfg):
        named.append(("report.name", cfg.report.name))
        named.extend(("report.studies", study) for study in cfg.report.studies or [])
    for key, name in named:
        try:
            check_name(name, key)
        except ValueError as error:
            raise ConfigError(str(error)) from None


def _one_line(error: BaseException) -> str:
    """The first informative line of a Hydra/OmegaConf error and its cause."""
    lines = [str(error).strip().splitlines()[0].rstrip(".")]
    if error.__cause__ is not None and str(error.__cause__).strip():
        lines.append(str(error.__cause__).strip().splitlines()[0])
    return ": ".join(lines)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def _hydra_main(cfg: DictConfig) -> str | None:
    """Run the job as Hydra composed it (in a multirun, once per job)."""
    return _job(cfg)


def _job(cfg: DictConfig, workers: Workers | None = None) -> str | None:
    """Run the job: a report, a sweep (and its report) or a single run; returns its study.

    ``workers``: drawing processes for the report, started before the job (``bench.argv``)."""
    try:
        if is_report(cfg):
            _report(cfg, cfg.report.name, cfg.report.studies, cfg.report.experiment, workers)
            return None
        return _run(cfg, workers)
    except ConfigError as error:
        print(f"bench: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        _interrupted(cfg)


def _run(cfg: DictConfig, workers: Workers | None = None) -> str:
    """A sweep (and its report) or a single run; returns its study. ``workers``: the report's
    drawing processes, where the caller started them."""
    import torch

    from bench.sweep import STORAGE_ERRORS, error_line, quiet_optuna, run_single, run_sweep

    quiet_optuna()  # here too: launchers may run the job in another process
    # A converged run's gradients and second moments decay into subnormal numbers, which cost
    # the CPU up to 100x per operation (Adam on wilson_separable: 10x slower in all); flushing
    # them to zero changes no value above 1e-308 (float64) or 1e-38 (float32). Process-wide,
    # so it is set for the command's job, not inside the engine that tests and libraries call.
    torch.set_flush_denormal(True)
    try:
        if is_sweep(cfg):
            if not cfg.auto_report:
                return run_sweep(cfg).study_name
            # The report's drawing processes start up beside the sweep, on the core its
            # start-up leaves idle (``python -m bench`` started them before its imports).
            with nullcontext(workers) if workers is not None else _drawing() as drawing:
                name = run_sweep(cfg).study_name
                _report(cfg, name, [name], workers=drawing)
            return name
        return str(run_single(cfg).study.iloc[0])
    except STORAGE_ERRORS as error:
        print(
            f"bench: the storage failed during the run ({error_line(error)}); re-run the same "
            "command to resume: finished trials are kept, this run's unfinished ones retried",
            file=sys.stderr,
        )
        raise SystemExit(3) from None


def _interrupted(cfg: DictConfig) -> None:
    """Ctrl-C: fail this process's running trials at once (a report: none), say so in one line,
    exit 130."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not stop the clean-up
    if is_report(cfg):
        # A page is written whole or not at all (bench.report.build): an earlier one stays.
        print("bench: interrupted; the report was not written", file=sys.stderr)
        raise SystemExit(130)
    from bench.sweep import STORAGE_ERRORS
    from bench.sweep.interrupt import fail_own_trials

    failed = "no"
    with contextlib.suppress(ConfigError, *STORAGE_ERRORS):
        failed = str(fail_own_trials(cfg))
    print(
        f"bench: interrupted; {failed} running trial(s) marked failed: re-run the same command "
        "to finish them",
        file=sys.stderr,
    )
    raise SystemExit(130)


def _report(
    cfg: DictConfig,
    name: str,
    studies: list[str] | None,
    experiment: str | None = None,
    workers: Workers | None = None,
) -> None:
    from bench.report import build_report

    check_writable(cfg.reports_dir, "reports_dir")
    try:
        path = build_report(
            cfg.results_dir,
            cfg.reports_dir,
            name,
            studies,
            experiment,
            parallel=True,
            workers=workers,
        )
    except ValueError as error:
        raise ConfigError(str(error)) from None
    print(f"report in {path}")


class MultirunReport(Callback):
    """After a multirun (``+experiment=paper``), one report over the studies its jobs ran;
    with ``experiment``, its findings and ``verdicts.json`` open the report."""

    def __init__(self, name: str, experiment: str | None = None) -> None:
        self.name = name
        self.experiment = experiment
        self.studies: list[str] = []

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        """Note the job's study."""
        if job_return.status == JobStatus.COMPLETED and job_return.return_value:
            self.studies.append(job_return.return_value)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        """Build the report over every study of the multirun."""
        if not self.studies:
            return
        try:
            _report(config, self.name, sorted(set(self.studies)), self.experiment)
        except ConfigError as error:
            print(f"bench: {error}", file=sys.stderr)
            raise SystemExit(2) from None


def main(workers: Workers | None = None) -> None:
    """``python -m bench``: check the arguments, then run the job (through Hydra where it does
    more than compose one configuration: a multirun, ``hydra.*`` settings, its own flags).

    ``workers``: drawing processes for the job's report, which the caller started and stops
    (``python -m bench`` does, before its imports, where ``bench.argv.draws_a_report``).
    """
    argv = sys.argv[1:]
    if any(a in _PASS_THROUGH or a.startswith("hydra.") for a in argv):
        _register(argv)
        _hydra_main()
        return
    try:
        cfg = check_arguments(argv)
    except ConfigError as error:
        print(f"bench: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    if cfg is None:
        _hydra_main()
    else:
        _job(cfg, workers)


def _drawing() -> Workers:
    """Processes that draw a report's figures (none on one CPU), their fork server started now:
    its start-up (importing matplotlib and the figures, a second) overlaps the work before the
    report."""
    from bench.report.drawing import Workers

    return Workers()
