"""A layered layout of a picture, for the SVG drawn without Graphviz and for the interactive
page. Each module cluster is laid out as a block of its own (its boxes and nested blocks in
columns by depth), then placed in its parent's layout like one big box, so a cluster's frame
holds its own boxes and nothing else."""
from __future__ import annotations

from dataclasses import dataclass

CHAR_W, LINE_H, PAD = 7.3, 15, 8  # 12px monospace
GAP_X, GAP_Y, MARGIN = 96, 20, 20  # GAP_X leaves room for an edge label
FRAME_PAD, FRAME_TITLE = 10, 20  # around a cluster's contents, and above them for its label
MAX_CHARS = 52  # longer label lines are cut (the tooltip has everything)


@dataclass
class Layout:
    boxes: dict  # box id -> (x, y, width, height)
    frames: list  # (cluster key, x, y, width, height), each after the frame around it
    width: float
    height: float


def clip(line: str) -> str:
    return line if len(line) <= MAX_CHARS else line[:MAX_CHARS - 1] + "…"


def _box_size(box) -> tuple[float, float]:
    chars = max(len(clip(line)) for line in box.lines)
    return 2 * PAD + CHAR_W * chars, 2 * PAD + LINE_H * len(box.lines) - 4


def layout(pic) -> Layout:
    parent = {c.key: c.parent for c in pic.clusters}
    items: dict = {}  # container (a cluster key, or None) -> its boxes and child clusters
    for c in pic.clusters:
        items.setdefault(c.parent, []).append(("cluster", c.key))
    for box in pic.boxes:
        items.setdefault(box.cluster, []).append(("box", box.id))
    within = {}  # box id -> {container: the item of that container holding the box}
    first = {}  # item -> index of its first box in the graph's order
    for i, box in enumerate(pic.boxes):
        item, key, chain = ("box", box.id), box.cluster, {}
        while True:
            chain[key] = item
            first.setdefault(item, i)
            if key is None:
                break
            item, key = ("cluster", key), parent[key]
        within[box.id] = chain
    edges: dict = {}  # container -> edges between its items
    for a, b in pic.forward:
        chain_a, chain_b = within[a], within[b]
        container = next(k for k in chain_a if k in chain_b)  # the innermost common one
        if chain_a[container] != chain_b[container]:
            edges.setdefault(container, set()).add((chain_a[container], chain_b[container]))

    size = {("box", b.id): _box_size(b) for b in pic.boxes}
    offsets: dict = {}  # item -> (x, y) inside its container
    depth = {None: -1}
    for c in pic.clusters:  # parents come first
        depth[c.key] = depth[c.parent] + 1
    for container in sorted(items, key=depth.__getitem__, reverse=True):  # inner ones first
        members = sorted(items[container], key=first.__getitem__)
        w, h = _columns(members, edges.get(container, ()), size, offsets)
        if container is not None:
            size[("cluster", container)] = (w + 2 * FRAME_PAD, h + 2 * FRAME_PAD + FRAME_TITLE)

    out = Layout({}, [], 0, 0)
    stack = [(item, MARGIN + offsets[item][0], MARGIN + offsets[item][1])
             for item in items.get(None, [])]
    while stack:
        (kind, key), x, y = stack.pop()
        w, h = size[(kind, key)]
        out.width, out.height = max(out.width, x + w + MARGIN), max(out.height, y + h + MARGIN)
        if kind == "box":
            out.boxes[key] = (x, y, w, h)
            continue
        out.frames.append((key, x, y, w, h))
        stack += [(item, x + FRAME_PAD + offsets[item][0],
                   y + FRAME_PAD + FRAME_TITLE + offsets[item][1]) for item in items.get(key, [])]
    order = {c.key: i for i, c in enumerate(pic.clusters)}
    out.frames.sort(key=lambda f: order[f[0]])
    return out


def _columns(members, edges, size, offsets) -> tuple[float, float]:
    """Place ``members`` in columns by depth (an item right of everything it reads, an
    item that reads nothing just left of its first reader); returns the block's size."""
    preds = {m: [] for m in members}
    succs = {m: [] for m in members}
    for a, b in edges:
        preds[b].append(a)
        succs[a].append(b)
    index = {m: i for i, m in enumerate(members)}
    depth = {}
    for m in members:  # edges against the graph's order (only in odd module nesting) are ignored
        depth[m] = 1 + max((depth[p] for p in preds[m] if index[p] < index[m]), default=-1)
    for m in members:
        if not preds[m] and succs[m]:
            depth[m] = max(0, min(depth[s] for s in succs[m]) - 1)
    n_cols = max(depth.values(), default=-1) + 1
    widths, heights = [0.0] * n_cols, [0.0] * n_cols
    for m in members:
        w, h = size[m]
        widths[depth[m]] = max(widths[depth[m]], w)
        heights[depth[m]] += h + (GAP_Y if heights[depth[m]] else 0)
    total_h = max(heights, default=0)
    xs = [sum(widths[:d]) + GAP_X * d for d in range(n_cols)]
    ys = [(total_h - hc) / 2 for hc in heights]  # columns centred on each other
    for m in members:
        d = depth[m]
        offsets[m] = (xs[d] + (widths[d] - size[m][0]) / 2, ys[d])
        ys[d] += size[m][1] + GAP_Y
    return sum(widths) + GAP_X * max(n_cols - 1, 0), total_h
