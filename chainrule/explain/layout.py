"""A layered layout of a picture, for the SVG drawn without Graphviz and for the interactive
page. Each module cluster is laid out as a block of its own (its boxes and nested blocks in
layers by depth: columns left to right, or rows top to bottom), then placed in its parent's
layout like one big box, so a cluster's frame holds its own boxes and nothing else. Gradient
labels are then placed along their edges where they cover no box, no frame title and no other
label (``place_labels``)."""
from __future__ import annotations

from dataclasses import dataclass

CHAR_W, LINE_H, PAD = 7.3, 15, 8  # 12px monospace (DejaVu Sans Mono advances 7.22 px)
GAP_X, GAP_Y, MARGIN = 110, 20, 20  # GAP_X leaves room for an edge label
GAP_TB = 54  # between rows, top to bottom: an edge label's height and air
FRAME_PAD, FRAME_TITLE = 10, 20  # around a cluster's contents, and above them for its label
MAX_CHARS = 52  # longer label lines are cut (the tooltip has everything)


@dataclass
class Layout:
    boxes: dict  # box id -> (x, y, width, height)
    frames: list  # (cluster key, x, y, width, height), each after the frame around it
    width: float
    height: float
    direction: str = "LR"  # "LR": layers are columns; "TB": layers are rows
    labels: list = None  # per backward edge: its label's (x, y, width, height), or None


def edge_ends(lay: Layout, a: str, b: str, backward: bool) -> tuple:
    """Where an edge from box ``a`` to box ``b`` starts and ends. Forward edges leave a box
    on the far side of the flow; gradient edges run beside them, the other way."""
    (x1, y1, w1, h1), (x2, y2, w2, h2) = lay.boxes[a], lay.boxes[b]
    s = 6 if backward else -6
    if lay.direction == "TB":
        if backward:  # child's top to parent's bottom
            return x1 + w1 / 2 + s, y1, x2 + w2 / 2 + s, y2 + h2
        return x1 + w1 / 2 + s, y1 + h1, x2 + w2 / 2 + s, y2
    if backward:  # child's left side to parent's right side
        return x1, y1 + h1 / 2 + s, x2 + w2, y2 + h2 / 2 + s
    return x1 + w1, y1 + h1 / 2 + s, x2, y2 + h2 / 2 + s


def text_width(text: str) -> float:
    return CHAR_W * len(text)


def frame_title_box(key: str, x: float, y: float) -> tuple:
    """The area a frame's title takes (sans-serif, with the page's ``[−]``)."""
    return (x, y, 8 + 7.5 * (len(key) + 4), FRAME_TITLE)


def _hits(r, rects, air: float = 2.0) -> bool:
    x, y, w, h = r
    for bx, by, bw, bh in rects:
        if x < bx + bw + air and bx < x + w + air and y < by + bh + air and by < y + h + air:
            return True
    return False


def place_labels(pic, lay: Layout) -> None:
    """Put each gradient edge's label on its edge where it covers nothing, else at the
    nearest free place (searched in growing rings around the edge's middle)."""
    obstacles = list(lay.boxes.values()) + [frame_title_box(k, x, y)
                                            for k, x, y, _, _ in lay.frames]
    placed, labels = [], []
    for a, b, amount in pic.backward:
        if not amount:
            labels.append(None)
            continue
        w, h = text_width(clip(amount)) + 4, LINE_H
        x1, y1, x2, y2 = edge_ends(lay, a, b, True)
        spot = None
        for t in (0.5, 0.35, 0.65, 0.2, 0.8, 0.1, 0.9):
            cx, cy = x1 + (x2 - x1) * t, y1 + (y2 - y1) * t
            # beside the edge, not on it: to its right where edges run down, else below
            sides = ((8, -h / 2), (-w - 8, -h / 2), (None, 4), (None, -h - 4)) \
                if lay.direction == "TB" else ((None, 4), (None, -h - 4), (8, -h / 2),
                                               (-w - 8, -h / 2))
            for dx, dy in sides:
                r = (cx - w / 2 if dx is None else cx + dx, cy + dy, w, h)
                if r[0] >= 0 and r[1] >= 0 and not _hits(r, obstacles) and \
                        not _hits(r, placed):
                    spot = r
                    break
            if spot:
                break
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        ring = 1
        while spot is None:  # rings of growing radius around the middle: always ends
            for i in range(-ring, ring + 1):
                for dx, dy in ((i, -ring), (i, ring), (-ring, i), (ring, i)):
                    r = (max(0.0, cx - w / 2 + dx * 12), max(0.0, cy + dy * 8), w, h)
                    if not _hits(r, obstacles) and not _hits(r, placed):
                        spot = r
                        break
                if spot:
                    break
            ring += 1
        placed.append(spot)
        labels.append(spot)
        lay.width = max(lay.width, spot[0] + w + MARGIN)
        lay.height = max(lay.height, spot[1] + h + MARGIN)
    lay.labels = labels


def clip(line: str) -> str:
    return line if len(line) <= MAX_CHARS else line[:MAX_CHARS - 1] + "…"


def _box_size(box) -> tuple[float, float]:
    chars = max(len(clip(line)) for line in box.lines)
    return 2 * PAD + CHAR_W * chars, 2 * PAD + LINE_H * len(box.lines) - 4


def layout(pic, direction: str = "LR") -> Layout:
    """Positions for every box and frame of ``pic`` and for its gradient labels; ``direction``
    "LR" (the flow left to right) or "TB" (top to bottom, narrow enough for a README)."""
    if direction not in ("LR", "TB"):
        raise ValueError(f"layout: direction must be 'LR' or 'TB', not {direction!r}")
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
        w, h = _columns(members, edges.get(container, ()), size, offsets, direction)
        if container is not None:
            size[("cluster", container)] = (w + 2 * FRAME_PAD, h + 2 * FRAME_PAD + FRAME_TITLE)

    out = Layout({}, [], 0, 0, direction)
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
    place_labels(pic, out)
    return out


def _columns(members, edges, size, offsets, direction="LR",
             gap_x: float = GAP_X) -> tuple[float, float]:
    """Place ``members`` in layers by depth (an item after everything it reads, an item
    that reads nothing just before its first reader); returns the block's size. Written for
    columns; "TB" swaps the axes."""
    if direction == "TB":
        swapped = {m: size[m][::-1] for m in members}
        inner: dict = {}
        h, w = _columns(members, edges, swapped, inner, "LR", GAP_TB)
        for m, (x, y) in inner.items():
            offsets[m] = (y, x)
        return w, h
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
    xs = [sum(widths[:d]) + gap_x * d for d in range(n_cols)]
    ys = [(total_h - hc) / 2 for hc in heights]  # columns centred on each other
    for m in members:
        d = depth[m]
        offsets[m] = (xs[d] + (widths[d] - size[m][0]) / 2, ys[d])
        ys[d] += size[m][1] + GAP_Y
    return sum(widths) + gap_x * max(n_cols - 1, 0), total_h
