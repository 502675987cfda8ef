"""Usage: PYTHONPATH=. python benchmarks/packaged_families_timing.py [FAMILY ...] > benchmarks/results/packaged_families_timing.jsonl

(the committed output ran one family per process, on 2 shared CPU cores)

Build each proposed packaged recipe; print images, classes, seconds (cold = includes discovery)."""
import sys, time, json
from hyperstar.suite import TaskRecipe, make_task

def _r(name, family, **params):
    return TaskRecipe(family=family, params=params, seed=0, name=name)

R = {
"tuxpaint_stamps": [
    _r("tuxpaint-l1-12c-all", "tuxpaint_stamps", level=1, min_per_class=10),
    _r("tuxpaint-l1-6c-40s", "tuxpaint_stamps", level=1, classes=["animals", "food", "household", "plants", "town", "vehicles"], per_class=40),
    _r("tuxpaint-l2-10c-15s", "tuxpaint_stamps", level=2, classes=["animals/birds", "animals/insects", "animals/mammals", "food/fruit", "food/vegetables", "plants/flowers", "symbols/math", "symbols/money", "town/houses", "town/roadsigns"], per_class=15),
    _r("tuxpaint-l1-5c-25s", "tuxpaint_stamps", level=1, classes=["clothes", "household", "people", "town", "vehicles"], per_class=25),
],
"openclipart": [
    _r("openclipart-l1-8c-150s", "openclipart", level=1, classes=["animals", "computer", "food", "people", "recreation", "shapes", "signs_and_symbols", "transportation"], per_class=150),
    _r("openclipart-l2-20c-25s", "openclipart", level=2, classes=["animals/birds", "animals/bugs", "animals/mammals", "buildings/homes", "computer/hardware", "food/beverages", "food/desserts", "food/fruit", "people/clothing", "people/stickmen", "plants/flowers", "recreation/music", "recreation/sports", "shapes/arrows", "shapes/jigsaw", "signs_and_symbols/led", "tools/weapons", "transportation/boating", "transportation/roadsigns", "transportation/vehicles"], per_class=25),
    _r("openclipart-l1-14c-max150", "openclipart", level=1, min_per_class=60, max_per_class=150),
    _r("openclipart-l2-6c-40s", "openclipart", level=2, classes=["animals/birds", "animals/bugs", "animals/mammals", "food/beverages", "food/desserts", "food/fruit"], per_class=40),
],
"hedgewars_themes": [
    _r("hedgewars-themes-all", "hedgewars_themes", min_per_class=10),
    _r("hedgewars-themes-8c-15s", "hedgewars_themes", classes=["Beach", "Christmas", "Desert", "Fruit", "Golf", "Halloween", "Hell", "Underwater"], per_class=15),
    _r("hedgewars-themes-16c-12s", "hedgewars_themes", classes=["Art", "Bath", "Beach", "Brick", "Cake", "Castle", "Cave", "Christmas", "Compost", "Desert", "Fruit", "Golf", "Hell", "Hoggywood", "Jungle", "Sheep"], per_class=12),
    _r("hedgewars-themes-4c-20s", "hedgewars_themes", classes=["Beach", "Cake", "Compost", "Golf"], per_class=20),
],
"playing_cards": [
    _r("cards-suit-4c-20s", "playing_cards", by="suit", per_class=20),
    _r("cards-rank-13c-6s", "playing_cards", by="rank", per_class=6),
    _r("cards-rank-13c-5s", "playing_cards", by="rank", per_class=5),
    _r("cards-suit-4c-10s", "playing_cards", by="suit", per_class=10),
],
"crawl_tiles": [
    _r("crawl-3c-500s", "crawl_tiles", per_class=500),
    _r("crawl-3c-all", "crawl_tiles", min_per_class=10),
    _r("crawl-floor-wall-2c-300s", "crawl_tiles", classes=["floor", "wall"], per_class=300),
    _r("crawl-3c-40s", "crawl_tiles", per_class=40),
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
"icons": [
    _r("icons-ctx-all-6c-150s", "icons", by="context", classes=["actions", "apps", "devices", "mimetypes", "places", "status"], per_class=150),
    _r("icons-ctx-tango-gnome-all", "icons", by="context", themes=["gnome", "tango"], min_per_class=20, max_per_class=200),
    _r("icons-names-all-min5", "icons", by="name", min_per_class=5),
    _r("icons-names-145c-5s", "icons", by="name", min_per_class=5, max_per_class=5),
],
"supertux_sprites": [
    _r("supertux-l1-9c-all", "supertux_sprites", level=1, min_per_class=10),
    _r("supertux-l1-5c-80s", "supertux_sprites", level=1, classes=["badguys", "objects", "tiles", "tux", "worldmap"], per_class=80),
    _r("supertux-l2-24c-all", "supertux_sprites", level=2, min_per_class=12),
    _r("supertux-l2-12c-12s", "supertux_sprites", level=2, classes=["badguys/mr_cherry", "badguys/mr_iceblock", "badguys/snowball", "badguys/yeti", "objects/bonus_block", "objects/keys", "objects/platforms", "tiles/castle", "tiles/forest", "tiles/snow", "tux/fire", "worldmap/forest"], per_class=12),
],
"pingus_groundpieces": [
    _r("pingus-14c-all", "pingus_groundpieces", min_per_class=10),
    _r("pingus-9c-15s", "pingus_groundpieces", classes=["crystal", "desert", "foliage", "halloween", "industrial", "jungle", "snow", "sweets", "xmas"], per_class=15),
    _r("pingus-6c-30s", "pingus_groundpieces", classes=["desert", "foliage", "industrial", "real", "snow", "sweets"], per_class=30),
    _r("pingus-4c-25s", "pingus_groundpieces", classes=["halloween", "snow", "sweets", "xmas"], per_class=25),
],
}


def main(families: list[str]) -> None:
    """One JSON line per recipe; 'cold' marks the first of a family (it includes discovery)."""
    import numpy as np

    for fam in families:
        for i, r in enumerate(R[fam]):
            t = time.time()
            try:
                task = make_task(r)
            except Exception as e:  # report and go on: a recipe the installed data cannot fill
                print(json.dumps({"name": r.name, "error": str(e)[:300]}), flush=True)
                continue
            counts = np.bincount(task.labels).tolist()
            print(json.dumps({
                "name": r.name, "images": len(task), "classes": task.n_classes,
                "min_per_class": min(counts), "max_per_class": max(counts),
                "seconds": round(time.time() - t, 1), "cold": i == 0, "provenance": task.provenance,
            }), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or list(R))
