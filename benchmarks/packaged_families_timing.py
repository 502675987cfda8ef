"""Usage: PYTHONPATH=. python benchmarks/packaged_families_timing.py FAMILY

Build each proposed packaged recipe; print images, classes, seconds (cold = includes discovery)."""
import sys, time, json
from hyperstar.suite import TaskRecipe, make_task

def _r(name, family, **params):
    return TaskRecipe(family=family, params=params, seed=0, name=name)

R = {
"tuxpaint_stamps": [
    _r("tuxpaint-l1-12c-all", "tuxpaint_stamps", level=1, min_per_class=10),
    _r("tuxpaint-l1-6c-34s", "tuxpaint_stamps", level=1, classes=["animals", "food", "household", "plants", "town", "vehicles"], per_class=34),
    _r("tuxpaint-l2-10c-15s", "tuxpaint_stamps", level=2, classes=["animals/birds", "animals/insects", "animals/mammals", "food/fruit", "food/vegetables", "plants/flowers", "symbols/math", "symbols/money", "town/houses", "town/roadsigns"], per_class=15),
    _r("tuxpaint-l1-4c-60s", "tuxpaint_stamps", level=1, classes=["animals", "food", "seasonal", "town"], per_class=60),
],
"openclipart": [
    _r("openclipart-l1-8c-150s", "openclipart", level=1, classes=["animals", "computer", "food", "people", "recreation", "shapes", "signs_and_symbols", "transportation"], per_class=150),
    _r("openclipart-l2-20c-25s", "openclipart", level=2, classes=["animals/birds", "animals/bugs", "animals/mammals", "buildings/homes", "computer/hardware", "food/beverages", "food/desserts", "food/fruit", "people/clothing", "people/stickmen", "plants/flowers", "recreation/music", "recreation/sports", "shapes/arrows", "shapes/jigsaw", "signs_and_symbols/led", "tools/weapons", "transportation/boating", "transportation/roadsigns", "transportation/vehicles"], per_class=25),
    _r("openclipart-l1-14c-max150", "openclipart", level=1, min_per_class=60, max_per_class=150),
    _r("openclipart-l2-6c-40s", "openclipart", level=2, classes=["animals/birds", "animals/bugs", "animals/mammals", "food/beverages", "food/desserts", "food/fruit"], per_class=40),
],
"wesnoth_units": [
    _r("wesnoth-units-12c-all", "wesnoth_units", min_per_class=10),
    _r("wesnoth-units-6c-15s", "wesnoth_units", classes=["drakes", "dunefolk", "dwarves", "elves-wood", "human-loyalists", "monsters"], per_class=15),
    _r("wesnoth-units-4c-20s", "wesnoth_units", classes=["dunefolk", "elves-wood", "human-loyalists", "monsters"], per_class=20),
    _r("wesnoth-units-8c-10s", "wesnoth_units", classes=["drakes", "dwarves", "human-magi", "human-outlaws", "merfolk", "nagas", "orcs", "undead"], per_class=10),
],
"wesnoth_portraits": [
    _r("wesnoth-portraits-8c-all", "wesnoth_portraits", min_per_class=10),
    _r("wesnoth-portraits-3c-37s", "wesnoth_portraits", classes=["humans", "monsters", "undead"], per_class=37),
    _r("wesnoth-portraits-5c-12s", "wesnoth_portraits", classes=["dwarves", "elves", "humans", "orcs", "undead"], per_class=12),
    _r("wesnoth-portraits-2c-39s", "wesnoth_portraits", classes=["humans", "undead"], per_class=39),
],
"icon_contexts": [
    _r("icons-ctx-all-6c-150s", "icon_contexts", classes=["actions", "apps", "devices", "mimetypes", "places", "status"], per_class=150),
    _r("icons-ctx-tango-gnome-all", "icon_contexts", themes=["gnome", "tango"], min_per_class=20, max_per_class=200),
    _r("icons-ctx-faenza-moka-elem-4c-60s", "icon_contexts", themes=["elementary", "faenza", "moka"], classes=["apps", "devices", "places", "status"], per_class=60),
    _r("icons-ctx-all-9c-max250", "icon_contexts", min_per_class=80, max_per_class=250),
],
"icon_names": [
    _r("icons-names-all-min5", "icon_names", min_per_class=5),
    _r("icons-names-129c-5s", "icon_names", min_per_class=5, max_per_class=5),
    _r("icons-names-min7", "icon_names", min_per_class=7),
    _r("icons-names-min6", "icon_names", min_per_class=6),
],
}
fam = sys.argv[1]
for i, r in enumerate(R[fam]):
    t = time.time()
    try:
        task = make_task(r)
    except Exception as e:
        print(json.dumps({"name": r.name, "error": str(e)[:300]}), flush=True); continue
    import numpy as np
    counts = np.bincount(task.labels).tolist()
    print(json.dumps({"name": r.name, "images": len(task), "classes": task.n_classes, "min_c": min(counts), "max_c": max(counts), "seconds": round(time.time() - t, 1), "cold": i == 0, "prov": task.provenance}), flush=True)
