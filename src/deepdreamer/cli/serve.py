"""`deepdreamer serve`: run the web page and its API with uvicorn."""

from __future__ import annotations

import click

from ..server.options import ServeConfig
from ._common import friendly_errors

_S = ServeConfig()


@click.command()
@click.option("--host", default=_S.host, show_default=True, help="Address to listen on; anything but loopback lets others use it.")
@click.option("--port", type=int, default=_S.port, show_default=True)
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the default browser.")
@click.option("--results", type=click.Path(file_okay=False), default=str(_S.results), show_default=True, help="Folder the gallery is kept in (survives restarts).")
@click.option("--queue", type=int, default=_S.queue, show_default=True, help="Jobs accepted and not finished; more get 429.")
@click.option("--max-upload-mb", type=float, default=_S.max_upload_mb, show_default=True, help="Largest request body; more gets 413.")
@click.option("--workers", type=int, default=_S.workers, show_default=True, help="Jobs dreaming at once (one already uses every core).")
@click.option("--keep", type=int, default=_S.keep, show_default=True, help="Results kept in the gallery; the oldest are pruned.")
@click.option("--live-sessions", type=int, default=_S.live_sessions, show_default=True,
              help="Live webcam sessions at once (one already uses every core); 0 turns live mode off.")
@click.option("--model", "models", multiple=True, metavar="SPEC",
              help="Also serve this model (repeatable): torchvision:NAME, timm:NAME or FILE.py:FACTORY, "
              "loaded at start. The page offers only these and the curated ones.")
@friendly_errors
def serve(host, port, open_browser, results, queue, max_upload_mb, workers, keep, live_sessions, models):
    """A local web page that dreams while you watch (and its JSON API under /api/)."""
    from ..server.run import run_server

    config = ServeConfig(host=host, port=port, results=results, queue=queue, max_upload_mb=max_upload_mb,
                         workers=workers, keep=keep, open_browser=open_browser, models=models,
                         live_sessions=live_sessions)
    if not config.loopback:
        click.echo(f"warning: listening on {host}: anyone who can reach this address can use the server "
                   "and its gallery", err=True)
    run_server(config, announce=lambda url: click.echo(f"deepdreamer serving on {url} (Ctrl-C stops)", err=True))
