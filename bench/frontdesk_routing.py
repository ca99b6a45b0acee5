"""How often the front desk (一网通办前台) routes a citizen's request to the right place, offline.

    .venv/bin/python bench/frontdesk_routing.py                  # dev and held-out figures
    .venv/bin/python bench/frontdesk_routing.py --set dev --misses
    .venv/bin/python bench/frontdesk_routing.py --set dev --floors 0.08,0.10,0.12,0.15
    .venv/bin/python bench/frontdesk_routing.py --baseline       # as before asks and words

The targets are what the front desk offers when every shipped employee is on duty: the
citizen-facing employees and every catalogue scenario (``FrontDesk.for_citizens``). Requests come
from bench/frontdesk_requests.yaml; tune on ``dev`` only, measure ``heldout`` at the end.

* top-1 accuracy, over all requests: the routing decision (``route``, floor included) is one of
  the accepted targets, or is "nothing fits" when nothing should fit.
* top-3 recall, over requests that have a target: an accepted target is among the three best
  ranked (floor ignored; these are what a model would be offered first).
* "nothing fits" precision and recall: of the requests the desk turned away, how many should have
  been; of those that should have been, how many it turned away.

It also lists held-out requests worded too closely to a scenario's ``asks`` or an employee's
``examples`` (character-pair Jaccard ≥ 0.5): those would measure memory, not routing.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from shuzhi.employees import frontdesk
from shuzhi.employees.definition import builtin_definitions
from shuzhi.employees.frontdesk import FrontDesk
from shuzhi.scenarios import load_catalogue

REQUESTS = Path(__file__).with_name("frontdesk_requests.yaml")


@dataclass(frozen=True)
class Request:
    text: str
    accepted: frozenset[str]  # empty: nothing should fit


@dataclass(frozen=True)
class Scores:
    n: int
    top1: float
    top3: float
    none_precision: float
    none_recall: float
    misses: list[tuple[Request, str | None, list[str]]]


def load_requests(path: Path) -> dict[str, list[Request]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    sets: dict[str, list[Request]] = {}
    for name, rows in data.items():
        sets[name] = [
            Request(
                r["text"],
                frozenset(([r["expect"]] if r["expect"] else []) + list(r.get("also") or [])),
            )
            for r in rows
        ]
    return sets


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else float("nan")


def score(desk: FrontDesk, requests: list[Request]) -> Scores:
    right = top3 = with_target = turned_away = turned_away_right = should_turn = 0
    misses = []
    for r in requests:
        decided = desk.route(r.text)
        best3 = [t.id for t, _ in desk.rank(r.text, k=3)]
        chosen = decided.id if decided else None
        ok = chosen in r.accepted if r.accepted else chosen is None
        right += ok
        if r.accepted:
            with_target += 1
            top3 += any(i in r.accepted for i in best3)
        else:
            should_turn += 1
        if chosen is None:
            turned_away += 1
            turned_away_right += not r.accepted
        if not ok:
            misses.append((r, chosen, best3))
    return Scores(
        len(requests),
        _ratio(right, len(requests)),
        _ratio(top3, with_target),
        _ratio(turned_away_right, turned_away),
        _ratio(turned_away_right, should_turn),
        misses,
    )


def _pairs(text: str) -> set[str]:
    kept = "".join(ch for ch in text if ch.isalnum())
    return {kept[i : i + 2] for i in range(len(kept) - 1)}


def too_close(desk: FrontDesk, requests: list[Request], limit: float = 0.5) -> list[str]:
    """Requests whose character pairs overlap a target's phrasing by ``limit`` or more."""
    phrasings = [_pairs(a) for t in desk.targets for a in t.asks]
    close = []
    for r in requests:
        mine = _pairs(r.text)
        best = max((len(mine & p) / len(mine | p) for p in phrasings if mine | p), default=0.0)
        if best >= limit:
            close.append(f"{r.text}（{best:.2f}）")
    return close


def report(name: str, s: Scores) -> None:
    print(
        f"{name:8s} n={s.n:3d}  top-1 {s.top1:.3f}  top-3 {s.top3:.3f}  "
        f"nothing-fits P {s.none_precision:.3f} R {s.none_recall:.3f}"
    )


def baseline(desk: FrontDesk) -> FrontDesk:
    """The desk as it was before ``asks``: character n-grams only, no phrasings, no rules."""
    frontdesk.FLOOR, frontdesk.CHAR_SHARE, frontdesk.ASK_SHARE = 0.12, 1.0, 0.0
    frontdesk.STAFF_WEIGHT = frontdesk.INTENT_WEIGHT = 1.0
    catalogue = load_catalogue()
    targets = [
        replace(t, asks=(), text=t.text.removesuffix(" ".join(catalogue.get(t.id).asks)).rstrip())
        if t.kind == "scenario"
        else replace(t, asks=())
        for t in desk.targets
    ]
    return FrontDesk(targets, citizens=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=Path, default=REQUESTS)
    parser.add_argument("--set", choices=("dev", "heldout", "all"), default="all")
    parser.add_argument("--misses", action="store_true", help="list the wrongly routed requests")
    parser.add_argument("--floors", default="", help="comma-separated floors to compare")
    parser.add_argument("--baseline", action="store_true", help="routing as before asks")
    args = parser.parse_args()

    sets = load_requests(args.requests)
    if args.set != "all":
        sets = {args.set: sets[args.set]}
    start = time.perf_counter()
    desk = FrontDesk.for_citizens(builtin_definitions(), load_catalogue())
    built = time.perf_counter() - start
    close = too_close(desk, sets["heldout"]) if "heldout" in sets else []
    if args.baseline:
        desk = baseline(desk)
    known = {t.id for t in desk.targets}
    unknown = sorted({i for rs in sets.values() for r in rs for i in r.accepted} - known)
    if unknown:
        raise SystemExit(f"评测集引用了不存在的目标：{'、'.join(unknown)}")
    print(f"{len(desk.targets)} targets, built in {built:.2f} s; floor {frontdesk.FLOOR}")
    if "heldout" in sets:
        print(f"held-out requests close to a phrasing: {len(close)}", *close, sep="\n    ")

    floors = [float(f) for f in args.floors.split(",") if f] or [frontdesk.FLOOR]
    for floor in floors:
        frontdesk.FLOOR = floor  # route() reads the module's floor
        if len(floors) > 1:
            print(f"floor {floor}")
        for name, requests in sets.items():
            start = time.perf_counter()
            s = score(desk, requests)
            per = (time.perf_counter() - start) / max(len(requests), 1) * 1000
            report(name, s)
            if args.misses:
                for r, chosen, best3 in s.misses:
                    want = "/".join(sorted(r.accepted)) or "无"
                    print(f"    {r.text}  应为 {want}  实为 {chosen or '无'}  前三 {best3}")
        print(f"  ({per:.1f} ms per request)")


if __name__ == "__main__":
    main()
