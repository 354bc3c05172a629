"""`crossdock copy` and `crossdock sync`: the copy engine from the command line."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click
import structlog

from cli.errors import EXIT_FAILED, fail, run_guarded
from cli.progress import ProgressLine
from shared.copy.engine import CopyEngine, CopyOptions, CopyResult
from shared.copy.events import CopyEvent, human_bytes
from shared.copy.project import ImageOutcome, SyncSummary, sync_project
from shared.errors import ConfigurationError
from shared.reference import parse_image_reference, parse_repository_location
from shared.registry import RegistryClient, RegistryConfig
from shared.settings import Settings

log = structlog.get_logger("crossdock.cli")


def registry_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options both commands take for their two registries."""
    for side, name in (("dest", "destination"), ("src", "source")):
        func = click.option(f"--{side}-ca", type=click.Path(exists=True, dir_okay=False),
                            help=f"CA bundle (PEM) that signs the {name}'s certificate.")(func)
        func = click.option(f"--{side}-tls-verify/--no-{side}-tls-verify", default=True,
                            help=f"Verify the {name}'s TLS certificate (default: on).")(func)
        func = click.option(f"--{side}-creds", metavar="USER:PASS",
                            help=f"Credentials for the {name}.")(func)
    func = click.option("--referrers/--no-referrers", default=None,
                        help="Copy signatures, SBOMs and attestations (default: on).")(func)
    return click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")(func)


def make_client(settings: Settings, url: str, creds: str | None, verify: bool,
                ca: str | None) -> RegistryClient:
    username = password = None
    if creds is not None:
        if ":" not in creds:
            raise ConfigurationError("credentials must be given as USER:PASS")
        username, password = creds.split(":", 1)
    return RegistryClient(RegistryConfig(
        url=url, username=username, password=password, verify_tls=verify, ca_bundle=ca,
        connect_timeout=settings.connect_timeout, read_timeout=settings.read_timeout,
        pool_size=settings.blob_workers + settings.image_workers * 2 + 4,
    ))


def make_engine(settings: Settings, referrers: bool | None, progress: ProgressLine) -> CopyEngine:
    options = CopyOptions(
        blob_workers=settings.blob_workers,
        chunk_size=settings.chunk_size,
        copy_referrers=settings.copy_referrers if referrers is None else referrers,
    )

    def on_event(event: CopyEvent) -> None:
        progress.on_event(event)
        if event.kind == "log":
            # Each step is a debug line (shown with -v); warnings always show.
            level = max(_LEVELS.get(event.level, 20) - 10, 10)
            log.log(level, event.message, repository=event.repository, digest=event.digest)

    return CopyEngine(options, on_event=on_event)


_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


@click.command("copy")
@click.argument("source")
@click.argument("destination")
@registry_options
@click.pass_obj
def copy_command(settings: Settings, /, source: str, destination: str, as_json: bool,
                 referrers: bool | None, **tls: Any) -> None:
    """Copy one image, e.g. http://127.0.0.1:5001/lib/app:v1 https://reg.example/lib/app.

    The destination's tag defaults to the source's; a digest source with no
    destination tag is copied by digest.
    """
    src_ref = run_guarded(lambda: parse_image_reference(source))
    dst_ref = run_guarded(lambda: parse_image_reference(destination, default_tag=None))
    if dst_ref.digest is not None:
        raise fail("the destination takes a tag, not a digest", 2)
    dst_tag = dst_ref.tag or src_ref.tag
    src = run_guarded(lambda: make_client(settings, src_ref.registry_url, tls["src_creds"],
                                          tls["src_tls_verify"], tls["src_ca"]))
    dst = run_guarded(lambda: make_client(settings, dst_ref.registry_url, tls["dest_creds"],
                                          tls["dest_tls_verify"], tls["dest_ca"]))
    progress = ProgressLine(enabled=None if not as_json else False)
    with make_engine(settings, referrers, progress) as engine:
        try:
            result = run_guarded(lambda: engine.copy(src, src_ref.repository, src_ref.reference,
                                                     dst, dst_ref.repository, tag=dst_tag))
        finally:
            progress.finish()
    if as_json:
        click.echo(json.dumps(_result_dict(result), indent=2))
    else:
        click.echo(_result_line(result))


@click.command("sync")
@click.argument("source")
@click.argument("destination")
@registry_options
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Images copied in parallel (default: setting image_workers).")
@click.pass_obj
def sync_command(settings: Settings, /, source: str, destination: str, as_json: bool,
                 referrers: bool | None, workers: int | None, **tls: Any) -> None:
    """Copy every image of a project: SRC_REGISTRY/PROJECT DST_REGISTRY[/NAMESPACE].

    For example: http://127.0.0.1:5001/library https://mirror.example/library-copy
    """
    src_loc = run_guarded(lambda: parse_repository_location(source, require_path=True))
    dst_loc = run_guarded(lambda: parse_repository_location(destination, require_path=False))
    src = run_guarded(lambda: make_client(settings, src_loc.registry_url, tls["src_creds"],
                                          tls["src_tls_verify"], tls["src_ca"]))
    dst = run_guarded(lambda: make_client(settings, dst_loc.registry_url, tls["dest_creds"],
                                          tls["dest_tls_verify"], tls["dest_ca"]))
    progress = ProgressLine(enabled=None if not as_json else False)

    def on_image(outcome: ImageOutcome) -> None:
        progress.image_done()
        if outcome.error is not None:
            log.warning("image failed", repository=outcome.source_repository, tag=outcome.tag,
                        error=outcome.error)

    with make_engine(settings, referrers, progress) as engine:
        try:
            summary = run_guarded(lambda: sync_project(
                engine, src, src_loc.path, dst, dst_loc.path or None,
                image_workers=workers or settings.image_workers,
                on_image=on_image, on_listed=progress.listed,
            ))
        finally:
            progress.finish()
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        click.echo(_summary_text(summary))
    if summary.failed:
        raise click.exceptions.Exit(EXIT_FAILED)


def _result_dict(result: CopyResult) -> dict[str, Any]:
    return {
        "source": result.source,
        "destination": result.destination,
        "digest": result.digest,
        "status": result.status,
        "reason": result.reason,
        "bytes": result.total_bytes_uploaded,
        "blobs_uploaded": result.blobs_uploaded,
        "blobs_mounted": result.blobs_mounted,
        "blobs_present": result.blobs_present,
        "referrers": [_result_dict(r) for r in result.referrers],
        "seconds": round(result.seconds, 3),
    }


def _result_line(result: CopyResult) -> str:
    line = f"{result.status} {result.destination} ({result.digest})"
    if result.reason:
        line += f": {result.reason}"
    line += f", {human_bytes(result.total_bytes_uploaded)} in {result.seconds:.1f}s"
    if result.referrers:
        line += f", {len(result.referrers)} referrer(s)"
    return line


def _summary_text(summary: SyncSummary) -> str:
    lines = [
        f"{summary.images} images: {summary.copied} copied, {summary.skipped} skipped, "
        f"{summary.failed} failed; {human_bytes(summary.bytes_uploaded)} in "
        f"{summary.seconds:.1f}s ({summary.mib_per_second:.1f} MiB/s)"
    ]
    lines += [f"  failed {f.source_repository}:{f.tag}: {f.error}" for f in summary.failures]
    return "\n".join(lines)
