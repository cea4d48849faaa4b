"""`flask sync once|run`: the sync worker from the command line."""

import gc
import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from .worker import SyncWorker


@click.group("sync")
def sync_cli():
    """Listing sync with the rest of the federation."""


@sync_cli.command("once")
@with_appcontext
def once_command():
    """Push everything waiting, pull national's feed to the end, and say what happened."""
    worker = SyncWorker(current_app._get_current_object())
    waiting = worker.pending()
    with click.progressbar(length=max(waiting, 1), label=f"pushing {waiting} events") as bar:
        summary = worker.once(progress=bar.update)
    click.echo(f"pushed {summary['pushed']} events; received {summary['received']} from national's feed, "
               f"applied {summary['applied']}")  # fmt: skip


@sync_cli.command("watch")
@with_appcontext
def watch_command():
    """One round of the watch: round trips to the parent and national, a lag sample; on national the probe
    of every node, the links they measured, and today's price index."""
    found = SyncWorker(current_app._get_current_object()).watch()
    for key, value in found.items():
        click.echo(f"{key}: {value}")


@sync_cli.command("run")
@click.option("--pull-interval", default=1.0, show_default=True, help="Seconds between pulls of national's feed.")
@click.option(
    "--watch-interval",
    default=60.0,
    show_default=True,
    help="Seconds between rounds of the watch (round trips, lag samples; national's probes).",
)
@with_appcontext
def run_command(pull_interval: float, watch_interval: float):
    """Sync until stopped (SIGTERM or Ctrl-C end it cleanly after the current step)."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    worker = SyncWorker(current_app._get_current_object(), pull_interval=pull_interval, probe_interval=watch_interval)
    gc.freeze()  # what was loaded to run stays for the process's life: full collections need not walk it
    click.echo(f"sync worker of {current_app.config['NODE_CODE']} running; SIGTERM stops it")
    worker.run(stop)
    click.echo("sync worker stopped")
