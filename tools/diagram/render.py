"""Graph -> SVG with its own layout: deterministic, no graphviz.

Stacks are laid out in rows by dependency depth (a stack sits below every
stack it depends on), each stack a box of its resources in a grid; edges are
Bézier curves between node sides, spread along each side so that they do not
start from one point. Every coordinate is rounded, every list sorted: the
same assembly gives the same bytes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from html import escape

from tools.diagram.assembly import Edge, Graph, Node, short_type

NODE_W, NODE_H, GAP, PAD, TITLE_H, ROW_GAP, STACK_GAP, MARGIN = 184, 40, 12, 12, 24, 70, 30, 24
MAX_COLS = 3
CHAR_W = 6.4  # average width of an 11 px sans-serif character, for truncating labels

#: Edge kind -> (colour, dash pattern, width, legend).
EDGE_STYLE = {
    "flow": ("#2a6fdb", "", 1.4, "references (data, events, alarms, network)"),
    "role": ("#d9822b", "", 1.6, "runs as role"),
    "key": ("#8e44ad", "4 3", 1.2, "encrypted with key"),
    "access": ("#8a99ad", "2 3", 1.0, "role's policy grants access"),
}
#: Service -> node fill.
FILL = {"IAM": "#fdecea", "S3": "#e8f5e9", "KMS": "#f3e8fd", "EC2": "#fff3e0", "SageMaker": "#e0f2f1",
        "SNS": "#fce4ec", "Events": "#fce4ec", "CloudWatch": "#fce4ec", "Lambda": "#fff8e1"}
TYPE_RANK = ("IAM", "KMS", "S3", "EC2", "SageMaker")


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


def _service(node: Node) -> str:
    return node.type.split("::")[1] if node.type.count("::") >= 2 else node.type


def _rank(node: Node) -> tuple:
    service = _service(node)
    return (TYPE_RANK.index(service) if service in TYPE_RANK else len(TYPE_RANK), node.type, node.label)


def _depths(graph: Graph) -> dict[str, int]:
    depth: dict[str, int] = {}

    def of(stack: str, seen: tuple = ()) -> int:
        if stack not in depth:
            deps = [d for d in graph.stack_deps.get(stack, []) if d not in seen]
            depth[stack] = 1 + max((of(d, (*seen, stack)) for d in deps), default=-1)
        return depth[stack]

    for stack in graph.stacks:
        of(stack)
    return depth


def layout(graph: Graph) -> tuple[dict[str, Box], dict[str, Box], float, float]:
    """Boxes of stacks and nodes, and the canvas size."""
    by_stack: dict[str, list[Node]] = defaultdict(list)
    for node in graph.nodes.values():
        by_stack[node.stack].append(node)
    depth = _depths(graph)
    rows: dict[int, list[str]] = defaultdict(list)
    for stack in graph.stacks:
        rows[depth[stack]].append(stack)
    sizes = {}
    for stack in graph.stacks:
        n = max(1, len(by_stack[stack]))
        cols = min(n, MAX_COLS)
        lines = -(-n // cols)
        sizes[stack] = (2 * PAD + cols * NODE_W + (cols - 1) * GAP, TITLE_H + PAD + lines * NODE_H + (lines - 1) * GAP)
    widths = {r: sum(sizes[s][0] for s in stacks) + STACK_GAP * (len(stacks) - 1) for r, stacks in rows.items()}
    width = max(widths.values()) + 2 * MARGIN
    stack_boxes: dict[str, Box] = {}
    node_boxes: dict[str, Box] = {}
    y = MARGIN + 30  # below the title line
    for r in sorted(rows):
        x = (width - widths[r]) / 2
        height = max(sizes[s][1] for s in rows[r])
        for stack in rows[r]:
            w, h = sizes[stack]
            stack_boxes[stack] = Box(x, y, w, h)
            cols = min(max(1, len(by_stack[stack])), MAX_COLS)
            for i, node in enumerate(sorted(by_stack[stack], key=_rank)):
                col, line = i % cols, i // cols
                node_boxes[node.id] = Box(x + PAD + col * (NODE_W + GAP), y + TITLE_H + line * (NODE_H + GAP),
                                          NODE_W, NODE_H)
            x += w + STACK_GAP
        y += height + ROW_GAP
    legend_h = 24 * len(EDGE_STYLE) + 20
    return stack_boxes, node_boxes, width, y - ROW_GAP + 30 + legend_h + MARGIN


def _sides(edge: Edge, boxes: dict[str, Box]) -> tuple[str, str]:
    a, b = boxes[edge.source], boxes[edge.target]
    if b.y >= a.y + a.h:
        return "bottom", "top"
    if b.y + b.h <= a.y:
        return "top", "bottom"
    return ("right", "left") if b.cx > a.cx else ("left", "right")


def _anchors(graph: Graph, boxes: dict[str, Box]) -> dict[tuple[Edge, str], tuple[float, float]]:
    """Each edge's two ends, spread along the side they leave or enter, ordered by the other end."""
    slots: dict[tuple[str, str], list[tuple[float, Edge, str]]] = defaultdict(list)
    for edge in graph.edges:
        out_side, in_side = _sides(edge, boxes)
        other_in, other_out = boxes[edge.target], boxes[edge.source]
        horizontal = out_side in ("top", "bottom")
        slots[(edge.source, out_side)].append((other_in.cx if horizontal else other_in.cy, edge, "source"))
        slots[(edge.target, in_side)].append((other_out.cx if horizontal else other_out.cy, edge, "target"))
    anchors = {}
    for (node, side), ends in sorted(slots.items()):
        box = boxes[node]
        ends.sort(key=lambda t: (t[0], t[1], t[2]))
        for i, (_, edge, end) in enumerate(ends):
            f = (i + 1) / (len(ends) + 1)
            anchors[(edge, end)] = {
                "top": (box.x + f * box.w, box.y), "bottom": (box.x + f * box.w, box.y + box.h),
                "left": (box.x, box.y + f * box.h), "right": (box.x + box.w, box.y + f * box.h),
            }[side]
    return anchors


def _path(edge: Edge, boxes: dict[str, Box], anchors) -> str:
    (x1, y1), (x2, y2) = anchors[(edge, "source")], anchors[(edge, "target")]
    out_side, _ = _sides(edge, boxes)
    if out_side in ("top", "bottom"):
        bend = max(30.0, abs(y2 - y1) / 2) * (1 if out_side == "bottom" else -1)
        c1, c2 = (x1, y1 + bend), (x2, y2 - bend)
    else:
        bend = max(30.0, abs(x2 - x1) / 2) * (1 if out_side == "right" else -1)
        c1, c2 = (x1 + bend, y1), (x2 - bend, y2)
    return f"M{x1:.1f},{y1:.1f} C{c1[0]:.1f},{c1[1]:.1f} {c2[0]:.1f},{c2[1]:.1f} {x2:.1f},{y2:.1f}"


def _fit(text: str, width: float, char_w: float = CHAR_W) -> str:
    limit = int(width / char_w)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render(graph: Graph, *, title: str) -> str:
    stack_boxes, boxes, width, height = layout(graph)
    anchors = _anchors(graph, boxes)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif">',
        f"<title>{escape(title)}</title>",
        "<defs>",
    ]
    for kind, (colour, _, _, _) in EDGE_STYLE.items():
        out.append(f'<marker id="arrow-{kind}" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" '
                   f'markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="{colour}"/></marker>')
    out += ["</defs>", f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
            f'<text x="{MARGIN}" y="{MARGIN + 8}" font-size="15" font-weight="bold" fill="#222">'
            f"{escape(title)}</text>"]
    for stack in graph.stacks:
        b = stack_boxes[stack]
        deps = ", ".join(graph.stack_deps.get(stack, []))
        out.append(f'<g class="stack" id="stack-{escape(stack)}"><rect x="{b.x:.1f}" y="{b.y:.1f}" width="{b.w:.1f}" '
                   f'height="{b.h:.1f}" rx="8" fill="#f6f8fa" stroke="#9aa5b1"/>'
                   f'<text x="{b.x + PAD:.1f}" y="{b.y + 16:.1f}" font-size="13" font-weight="bold" fill="#333">'
                   f"{escape(stack)}</text>"
                   + (f'<text x="{b.x + b.w - PAD:.1f}" y="{b.y + 16:.1f}" font-size="9" fill="#777" '
                      f'text-anchor="end">{escape(_fit("after " + deps, b.w / 2, 5.2))}</text>' if deps else "")
                   + "</g>")
    for kind in ("access", "key", "role", "flow"):  # faint kinds first, so the flows are drawn on top
        colour, dash, stroke, _ = EDGE_STYLE[kind]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        for edge in graph.edges:
            if edge.kind == kind:
                out.append(f'<path class="edge {kind}" d="{_path(edge, boxes, anchors)}" fill="none" '
                           f'stroke="{colour}" stroke-width="{stroke}"{dash_attr} '
                           f'opacity="{0.55 if kind == "access" else 0.9}" marker-end="url(#arrow-{kind})">'
                           f"<title>{escape(edge.source)} → {escape(edge.target)} ({kind})</title></path>")
    for node_id in sorted(boxes):
        node, b = graph.nodes[node_id], boxes[node_id]
        label = node.label if node.count == 1 else f"{node.label} ×{node.count}"
        kind = short_type(node.type) if node.count == 1 else node.type.split("::")[1]
        out.append(f'<g class="node" id="{escape(node_id)}"><rect x="{b.x:.1f}" y="{b.y:.1f}" width="{b.w:.1f}" '
                   f'height="{b.h:.1f}" rx="4" fill="{FILL.get(_service(node), "#eeeeee")}" stroke="#6b7785"/>'
                   f'<text x="{b.x + 8:.1f}" y="{b.y + 17:.1f}" font-size="11" font-weight="bold" fill="#111">'
                   f"{escape(_fit(label, b.w - 14))}</text>"
                   f'<text x="{b.x + 8:.1f}" y="{b.y + 32:.1f}" font-size="9" fill="#555">'
                   f"{escape(_fit(kind, b.w - 14, 5.2))}</text></g>")
    y = max(b.y + b.h for b in stack_boxes.values()) + 40
    counts = defaultdict(int)
    for edge in graph.edges:
        counts[edge.kind] += 1
    for kind, (colour, dash, stroke, text) in EDGE_STYLE.items():
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<path d="M{MARGIN},{y:.1f} L{MARGIN + 40},{y:.1f}" stroke="{colour}" stroke-width="{stroke}"'
                   f'{dash_attr} marker-end="url(#arrow-{kind})"/><text x="{MARGIN + 50}" y="{y + 4:.1f}" '
                   f'font-size="11" fill="#333">{escape(text)} ({counts[kind]})</text>')
        y += 24
    out.append("</svg>")
    return "\n".join(out) + "\n"
