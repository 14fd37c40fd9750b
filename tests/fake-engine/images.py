"""The fake engine's image store (tests/fake-engine/engine.sh): images by name, each an id, its
labels and its layers (none unless a test gives them), in $FAKE_ENGINE_SCENARIO/images.json. It answers `image inspect` the way the engines do
(the found images, an error line per missing one, a non-zero exit), and keeps the store in step
with successful `build -t`, `tag` and `rmi` calls.

    images.py inspect ARGS...   answer `image inspect ARGS...`
    images.py build ARGS...     record what a successful `build ARGS...` made
    images.py tag SRC DST | rmi NAME

A build's layers are the JSON list in $FAKE_ENGINE_SCENARIO/build-layers when there is one (the
engine's cache giving the layers of an earlier build), else one layer of its own per id.
"""

import hashlib
import json
import os
import sys

STORE = os.path.join(os.environ["FAKE_ENGINE_SCENARIO"], "images.json")


def load():
    try:
        with open(STORE) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def retag(images, name, img):
    """Point `name` at `img`; the image it pointed at stays, untagged, findable by its id (as on
    the engines, where a rebuilt tag leaves the old image behind)."""
    old = images.get(name)
    if old and old["id"] != img["id"]:
        images["<none>@" + old["id"]] = old
    images[name] = img


def save(images):
    with open(STORE + ".tmp", "w") as f:
        json.dump(images, f, indent=1, sort_keys=True)
    os.replace(STORE + ".tmp", STORE)


def find(images, name):
    """By name (`x` is `x:latest`) or by id."""
    for key in (name, name + ":latest" if ":" not in name.rsplit("/", 1)[-1] else name):
        if key in images:
            return images[key]
    return next((i for i in images.values() if i["id"] == name), None)


def inspect(args):
    fmt, names, i = None, [], 0
    while i < len(args):
        if args[i] in ("--format", "-f"):
            fmt, i = args[i + 1], i + 2
        else:
            names.append(args[i])
            i += 1
    images, found, missing = load(), [], []
    for n in names:
        img = find(images, n)
        (found.append(img) if img else missing.append(n))
    if fmt is None:
        print(json.dumps([{"Id": img["id"], "Config": {"Labels": img["labels"] or None},
                           "RootFS": {"Type": "layers", "Layers": img.get("layers", [])}} for img in found], indent=4))
    else:
        for img in found:
            line = fmt.replace("{{.Id}}", img["id"]).replace("{{json .Config.Labels}}", json.dumps(img["labels"] or None))
            print(line)
    for n in missing:
        print(f"Error response from daemon: No such image: {n}", file=sys.stderr)
    return 1 if missing else 0


def build(args):
    tags, labels, i = [], {}, 0
    while i < len(args):
        if args[i] == "-t":
            tags.append(args[i + 1])
        elif args[i] == "--label":
            k, _, v = args[i + 1].partition("=")
            labels[k] = v
        i += 1
    # A new image for new labels: the same inputs make the same id, as a cached build does.
    digest = hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()
    try:
        with open(os.path.join(os.environ["FAKE_ENGINE_SCENARIO"], "build-layers")) as f:
            layers = json.load(f)
    except FileNotFoundError:
        layers = ["sha256:" + hashlib.sha256(("layer of " + digest).encode()).hexdigest()]
    images = load()
    for t in tags:
        image = {"id": "sha256:" + digest, "labels": labels, "layers": layers}
        retag(images, t if ":" in t.rsplit("/", 1)[-1] else t + ":latest", image)
    save(images)
    return 0


def tag(src, dst):
    images = load()
    img = find(images, src)
    if img is None:
        print(f"Error response from daemon: No such image: {src}", file=sys.stderr)
        return 1
    retag(images, dst if ":" in dst.rsplit("/", 1)[-1] else dst + ":latest", dict(img))
    save(images)
    return 0


def rmi(name):
    images = load()
    key = next((k for k in (name, name + ":latest") if k in images), None)
    if key is None:
        print(f"Error response from daemon: No such image: {name}", file=sys.stderr)
        return 1
    del images[key]
    save(images)
    return 0


if __name__ == "__main__":
    what, rest = sys.argv[1], sys.argv[2:]
    sys.exit({"inspect": lambda: inspect(rest), "build": lambda: build(rest),
              "tag": lambda: tag(*rest[-2:]), "rmi": lambda: rmi(rest[-1])}[what]())
