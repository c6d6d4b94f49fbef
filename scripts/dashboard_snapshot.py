#!/usr/bin/env python3
"""Renders deploy/monitoring/grafana-dashboard.json as an SVG picture from a real Prometheus:
every panel's own PromQL, queried over a time range with the HTTP API (query_range), drawn at
the panel's grid position. Not Grafana: where Grafana cannot run, this shows the same queries on
the same data. Standard library only.

  dashboard_snapshot.py --prometheus http://127.0.0.1:9090 --minutes 10 --out docs/dashboard.svg
"""
import argparse
import html
import json
import math
import time
import urllib.parse
import urllib.request

COLORS = ["#7eb26d", "#eab839", "#6ed0e0", "#ef843c", "#e24d42", "#1f78c1", "#ba43a9", "#705da0",
          "#508642", "#cca300", "#447ebc", "#c15c17"]
CELL_W, CELL_H = 56, 34  # pixels per grid column (24 per row) and per grid row


def query_range(base, expr, start, end, step):
    params = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"{base}/api/v1/query_range?{params}", timeout=30) as answer:
        body = json.load(answer)
    if body.get("status") != "success":
        raise RuntimeError(f"{expr}: {body}")
    return body["data"]["result"]


def legend(template, labels):
    text = template or "{{__name__}}"
    for key, value in labels.items():
        text = text.replace("{{" + key + "}}", value)
    return text.replace("{{__name__}}", "value")


def human(value, unit):
    if value is None or math.isnan(value):
        return "-"
    if unit == "bytes":
        for suffix in ["B", "KiB", "MiB", "GiB", "TiB"]:
            if abs(value) < 1024:
                return f"{value:.3g} {suffix}"
            value /= 1024
        return f"{value:.3g} PiB"
    if unit == "s":
        return f"{value * 1000:.3g} ms" if abs(value) < 1 else f"{value:.3g} s"
    if unit == "reqps":
        return f"{value:.3g}/s"
    return f"{value:.4g}"


def mapped(value, mappings):
    for mapping in mappings or []:
        options = mapping.get("options", {})
        key = str(int(value)) if value is not None and not math.isnan(value) and value == int(value) else None
        if key in options:
            return options[key].get("text", key), options[key].get("color")
    return None, None


def render(dashboard, results, start, end, unit_of):
    panels = dashboard["panels"]
    height = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels) * CELL_H + 60
    width = 24 * CELL_W
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="Helvetica, Arial, sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="#111217"/>',
           f'<text x="12" y="26" fill="#d8d9da" font-size="16">{html.escape(dashboard["title"])} '
           f'(deploy/monitoring/grafana-dashboard.json, rendered by scripts/dashboard_snapshot.py, not Grafana; '
           f'{time.strftime("%Y-%m-%d %H:%M", time.gmtime(start))} to {time.strftime("%H:%M UTC", time.gmtime(end))})</text>']
    for panel in panels:
        grid = panel["gridPos"]
        x, y = grid["x"] * CELL_W + 4, grid["y"] * CELL_H + 44
        w, h = grid["w"] * CELL_W - 8, grid["h"] * CELL_H - 8
        unit = unit_of(panel)
        out.append(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="#181b1f" stroke="#2c3235"/>')
        out.append(f'<text x="{x + 8}" y="{y + 16}" fill="#d8d9da" font-size="12">{html.escape(panel["title"])}</text>')
        series = results[panel["id"]]
        if panel["type"] == "stat":
            values = [float(v) for _, points in series for _, v in points[-1:]]
            value = values[0] if values else None
            text, color = mapped(value, panel["fieldConfig"]["defaults"].get("mappings"))
            out.append(f'<text x="{x + w / 2}" y="{y + h / 2 + 14}" fill="{color or "#73bf69"}" font-size="30" '
                       f'text-anchor="middle">{html.escape(text or human(value, unit))}</text>')
            continue
        plot_x, plot_y, plot_w = x + 56, y + 26, w - 66
        legend_rows = min(len(series), 4)
        plot_h = h - 40 - 14 * legend_rows
        values = [float(v) for _, points in series for _, v in points if not math.isnan(float(v))]
        top = max(values + [0]) or 1
        if panel["type"] == "state-timeline":
            top = 2
        for fraction in (0, 0.5, 1):
            gy = plot_y + plot_h * (1 - fraction)
            out.append(f'<line x1="{plot_x}" y1="{gy}" x2="{plot_x + plot_w}" y2="{gy}" stroke="#2c3235"/>')
            label = human(top * fraction, unit)
            if panel["type"] == "state-timeline":
                label = mapped(top * fraction, panel["fieldConfig"]["defaults"].get("mappings"))[0] or label
            out.append(f'<text x="{plot_x - 4}" y="{gy + 4}" fill="#8e8e8e" text-anchor="end">{html.escape(label)}</text>')
        for index, (name, points) in enumerate(series):
            color = COLORS[index % len(COLORS)]
            coords = []
            for stamp, value in points:
                value = float(value)
                if math.isnan(value):
                    continue
                px = plot_x + plot_w * (stamp - start) / max(1, end - start)
                py = plot_y + plot_h * (1 - min(value, top) / top)
                coords.append(f"{px:.1f},{py:.1f}")
            if coords:
                out.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{" ".join(coords)}"/>')
            if index < legend_rows:
                last = float(points[-1][1]) if points else float("nan")
                ly = plot_y + plot_h + 18 + 14 * index
                out.append(f'<rect x="{plot_x}" y="{ly - 8}" width="10" height="3" fill="{color}"/>')
                out.append(f'<text x="{plot_x + 14}" y="{ly}" fill="#c7d0d9">{html.escape(name)}: {html.escape(human(last, unit))}</text>')
        if not series:
            out.append(f'<text x="{x + w / 2}" y="{y + h / 2}" fill="#8e8e8e" text-anchor="middle">no data</text>')
    out.append("</svg>")
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prometheus", default="http://127.0.0.1:9090")
    parser.add_argument("--dashboard", default="deploy/monitoring/grafana-dashboard.json")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--step", type=float, default=5)
    parser.add_argument("--rate-interval", default="30s", help="what $__rate_interval becomes")
    parser.add_argument("--out", default="docs/dashboard.svg")
    args = parser.parse_args()

    dashboard = json.load(open(args.dashboard))
    end = time.time()
    start = end - args.minutes * 60
    results = {}
    for panel in dashboard["panels"]:
        series = []
        for target in panel["targets"]:
            expr = target["expr"].replace("$__rate_interval", args.rate_interval)
            for result in query_range(args.prometheus, expr, start, end, args.step):
                series.append((legend(target.get("legendFormat"), result["metric"]),
                               [(float(stamp), value) for stamp, value in result["values"]]))
        results[panel["id"]] = sorted(series, key=lambda item: item[0])
    svg = render(dashboard, results, start, end, lambda panel: panel["fieldConfig"]["defaults"].get("unit"))
    with open(args.out, "w") as out:
        out.write(svg + "\n")
    print(f"wrote {args.out}: {len(dashboard['panels'])} panels")


if __name__ == "__main__":
    main()
