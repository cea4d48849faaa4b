"""Where national spends its CPU per pushed event, old code vs new: py-spy over bench/house.py's sync push.

    .venv/bin/python bench/house_profile.py --old /work/wt-old --new . [--events 10000] [--rounds 2] [--top 30]

Run after bench/house.py (it reuses the data that script prepared, with the same --events). For each version
in turn, py-spy samples national's gunicorn workers (`record --subprocesses --function`, idle threads left
out) during the measured push; samples of each function, inclusive and self, are added up across the
rounds and shown per 1,000 events side by side, largest growth first. Profiled rounds are not timed
rounds: py-spy takes CPU of its own.
"""

import argparse
import collections
import re
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import house

PY_SPY = house.PYTHON.parent / "py-spy"
RATE = 200  # samples per second and process


@contextmanager
def sampled(national, output: Path):
    """py-spy records national's master and workers (on CPU only) while the block runs."""
    command = [str(PY_SPY), "record", "--pid", str(national.process.pid), "--subprocesses", "--function",
               "--format", "raw", "--rate", str(RATE), "--output", str(output), "--nonblocking"]  # fmt: skip
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)  # py-spy attaches
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        _out, err = spy.communicate(timeout=60)
        if not output.exists():
            raise RuntimeError(f"py-spy wrote no profile: {err.decode(errors='replace')[-2000:]}")


_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*)\)$")


def _name(frame: str) -> str:
    """`function (path)` with the checkout's directory left out, so that both versions' frames compare."""
    match = _FRAME.match(frame)
    if not match:
        return frame
    path = match["file"]
    for marker in ("/marketplace/", "/site-packages/", "/lib/python3"):
        if marker in path:
            path = marker.strip("/") + "/" + path.split(marker, 1)[1]
            break
    return f"{match['func']} ({path.rsplit(':', 1)[0]})"  # without the line: the versions' lines differ


def load(path: Path) -> tuple[collections.Counter, collections.Counter, int]:
    """Inclusive and self samples per function of a py-spy raw (collapsed) profile, and the total."""
    inclusive, own, total = collections.Counter(), collections.Counter(), 0
    for line in path.read_text(errors="replace").splitlines():  # py-spy may cut a name mid-character
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_name(f) for f in stack.split(";") if not f.startswith("process ")]
        n = int(count)
        total += n
        for name in set(frames):
            inclusive[name] += n
        if frames:
            own[frames[-1]] += n
    return inclusive, own, total


def main() -> int:
    """Profile both versions' national over the push; print the functions whose cost grew most."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", type=Path, required=True)
    parser.add_argument("--new", type=Path, default=house.ROOT)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--again", action="store_true", help="only compare the profiles of the last run")
    args = parser.parse_args()
    dirs = {"old": args.old.resolve(), "new": args.new.resolve()}
    if not (house.WORK / "R46.outbox.sqlite3").exists():
        raise SystemExit("run bench/house.py first: it prepares the catalogue and the outboxes")
    totals = {side: [collections.Counter(), collections.Counter(), 0] for side in dirs}
    for n in range(1, args.rounds + 1):
        for side in ["old", "new"] if n % 2 else ["new", "old"]:
            output = house.WORK / f"profile-{side}-{n}.txt"
            if not args.again:
                house.sync_round(side, dirs[side], args.events, around=lambda nat, o=output: sampled(nat, o))
            inclusive, own, total = load(output)
            totals[side][0].update(inclusive)
            totals[side][1].update(own)
            totals[side][2] += total
    events = args.events * args.rounds
    scale = 1000 / RATE / events * 1000  # samples → sampled ms per 1,000 events
    print(f"\nsampled ms per 1,000 events (py-spy, {RATE} Hz, {args.rounds} × {args.events:,} events per version)")
    # py-spy also samples a worker blocked in C (waiting for PostgreSQL), so all samples exceed the CPU used:
    # compare functions with each other, and take the CPU per event from bench/house.py.
    print(f"all samples: old {totals['old'][2] * scale:.0f}, new {totals['new'][2] * scale:.0f}")
    for kind, index in (("inclusive", 0), ("self", 1)):
        old, new = totals["old"][index], totals["new"][index]
        names = sorted(set(old) | set(new), key=lambda k: new[k] - old[k], reverse=True)[: args.top]
        print(f"\n{kind}: grew most        old      new    new-old")
        for name in names:
            grew = (new[name] - old[name]) * scale
            print(f"  {old[name] * scale:9.1f} {new[name] * scale:9.1f} {grew:+9.1f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
