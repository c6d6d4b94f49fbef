/// The dashboard's only stylesheet, served by the binary at `/assets/dashboard.css`: no CDN,
/// no font or icon download, so the pages look the same offline.
enum Stylesheet {
    static let path = "/assets/dashboard.css"

    static let css = """
        :root { --fg: #1d232a; --muted: #66707a; --line: #d8dde2; --bg: #f6f7f9; --ok: #2e8540; --bad: #c0392b; --warn: #b9770e; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
        header { background: #1d232a; color: #fff; padding: 0 16px; display: flex; align-items: center; gap: 18px; }
        header .brand { font-weight: 600; padding: 10px 0; }
        header nav a { color: #cfd6dd; text-decoration: none; padding: 10px 8px; display: inline-block; }
        header nav a.active { color: #fff; border-bottom: 2px solid #fff; }
        header form { margin-left: auto; }
        main { padding: 16px; max-width: 1280px; }
        h1 { font-size: 20px; margin: 4px 0 12px; }
        h2 { font-size: 16px; margin: 18px 0 8px; }
        table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
        th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { background: #eef1f4; font-weight: 600; white-space: nowrap; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; word-break: break-all; }
        .cards { display: flex; flex-wrap: wrap; gap: 12px; }
        .card { background: #fff; border: 1px solid var(--line); padding: 10px 14px; min-width: 130px; }
        .card .value { font-size: 24px; font-weight: 600; }
        .card .label { color: var(--muted); }
        .state { font-weight: 600; padding: 1px 8px; border-radius: 10px; color: #fff; }
        .state.ok, .state.delivered { background: var(--ok); }
        .state.open, .state.dead { background: var(--bad); }
        .state.paused, .state.retry, .state.held, .state.rate_limited { background: var(--warn); }
        .muted { color: var(--muted); }
        .notice { background: #e8f4ea; border: 1px solid var(--ok); padding: 8px 12px; margin-bottom: 12px; }
        .error { background: #fbeaea; border: 1px solid var(--bad); padding: 8px 12px; margin-bottom: 12px; }
        svg.chart { background: #fff; border: 1px solid var(--line); max-width: 100%; height: auto; }
        svg.chart rect.ok { fill: var(--ok); } svg.chart rect.fail { fill: var(--bad); }
        svg.chart text.axis { font-size: 10px; fill: var(--muted); }
        svg.spark polyline { fill: none; stroke: #2b6cb0; stroke-width: 1.5; }
        form.inline { display: inline; }
        button, .button { font: inherit; padding: 3px 10px; border: 1px solid #8a949e; background: #fff; border-radius: 3px; cursor: pointer; color: var(--fg); text-decoration: none; display: inline-block; }
        button.danger, .button.danger { border-color: var(--bad); color: var(--bad); }
        form.filters { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; margin-bottom: 12px; }
        form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
        input, select { font: inherit; padding: 3px 6px; }
        pre { white-space: pre-wrap; word-break: break-all; margin: 0; font-size: 12px; max-width: 520px; }
        """
}
