"""The report page's CSS (one inline <style>, nothing fetched)."""

CSS = """
:root { --ink:#1f2937; --muted:#6b7280; --line:#e5e7eb; --bg:#f4f5f7; --card:#fff;
  --accent:#2a9d8f; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font: 15px/1.45 -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", Arial,
  sans-serif; }
main { max-width: 1160px; margin: 0 auto; padding: 28px 24px 40px; }
header { margin-bottom: 18px; }
h1 { font-size: 26px; margin: 0 0 4px; letter-spacing: -0.01em; }
h2 { font-size: 16px; margin: 0 0 10px; }
.period { margin: 0; color: var(--muted); }
.kpis { display: grid; grid-template-columns: repeat(5, 1fr); gap: 14px; margin-bottom: 16px; }
.kpi { background: var(--card); border-radius: 12px; padding: 14px 16px;
  box-shadow: 0 1px 2px rgba(0,0,0,.06); border-top: 4px solid var(--accent); }
.kpi:nth-child(2) { border-top-color: #8ecae6; }
.kpi:nth-child(3) { border-top-color: #457b9d; }
.kpi:nth-child(4) { border-top-color: #f4a261; }
.kpi:nth-child(5) { border-top-color: #e9c46a; }
.kpi .label { color: var(--muted); font-size: 13px; }
.kpi .value { font-size: 30px; font-weight: 700; margin: 2px 0; white-space: nowrap;
  font-variant-numeric: tabular-nums; }
.kpi .sub { color: var(--muted); font-size: 12.5px; }
.card { background: var(--card); border-radius: 12px; padding: 16px 18px; margin-bottom: 16px;
  box-shadow: 0 1px 2px rgba(0,0,0,.06); min-width: 0; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.grid > .card, .stack > .card { margin-bottom: 0; }
.grid { margin-bottom: 16px; }
.split { display: grid; grid-template-columns: 2fr 3fr; gap: 28px; }
.split > div { min-width: 0; }
h3 { font-size: 13px; color: var(--muted); font-weight: 600; margin: 0 0 6px;
  text-transform: uppercase; letter-spacing: .04em; }
.stack { display: flex; flex-direction: column; gap: 16px; min-width: 0; }
.note { color: var(--muted); font-size: 13px; margin: -6px 0 8px; }
.none { color: var(--muted); font-style: italic; margin: 6px 0; }
.empty h2 { font-size: 18px; }
.chart { margin: 0; }
.chart svg { width: 100%; height: auto; display: block; }
.chart svg * { stroke-linejoin: round; stroke-linecap: butt; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
table.heat { font-size: 11px; margin-bottom: 12px; } table.heat td { text-align: center; }
th { text-align: left; color: var(--muted); font-weight: 600; font-size: 12.5px;
  border-bottom: 1px solid var(--line); padding: 6px 8px; white-space: nowrap; }
td { border-bottom: 1px solid var(--line); padding: 6px 8px; vertical-align: middle; }
tbody tr:last-child td { border-bottom: 0; }
tbody tr:hover { background: #fafafa; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code.id { font-size: 11px; color: var(--muted); }
code { font: 13px/1.3 ui-monospace, "DejaVu Sans Mono", Menlo, monospace; background: #f3f4f6;
  padding: 1px 5px; border-radius: 4px; }
.bar { display: inline-block; width: 110px; height: 8px; background: #f1f2f4; border-radius: 4px;
  margin-right: 8px; vertical-align: middle; overflow: hidden; }
.bar > span { display: block; height: 100%; border-radius: 4px; }
.stars { color: #e9a23b; letter-spacing: 1px; }
.big { margin: 0 0 8px; color: var(--muted); }
.big strong { font-size: 26px; color: var(--ink); }
.bar + .n { display: inline-block; min-width: 3.2em; }
table.hours { font-size: 12px; table-layout: fixed; min-width: 480px; }
table.hours td, table.hours th { text-align: center; padding: 3px 0; border: 0; }
table.hours tr.bars td { height: 150px; vertical-align: bottom; padding: 0 2px;
  border-bottom: 1px solid #9aa3af; }
table.hours tr.bars span { display: block; background: #e07a5f; border-radius: 3px 3px 0 0;
  min-height: 0; }
table.hours tr.counts td { color: var(--ink); font-variant-numeric: tabular-nums; }
table.hours th { color: var(--muted); font-weight: 500; font-size: 11px; }
table.hours tbody tr:hover { background: none; }
footer { color: var(--muted); font-size: 12.5px; margin-top: 22px; }
footer p { margin: 4px 0; }
@media (max-width: 900px) {
  .kpis { grid-template-columns: repeat(2, 1fr); }
  .grid, .split { grid-template-columns: 1fr; }
}
"""
