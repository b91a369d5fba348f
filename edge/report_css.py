"""The report's style sheet: system fonts, a phone layout under 600 px (narrow charts,
tighter tables, smaller stills), and print rules."""

CSS = """
:root{--ink:#212529;--muted:#868e96;--line:#e9ecef;--good:#2f9e44;--bad:#e03131;
--left:#2563eb;--right:#d9480f}
*{box-sizing:border-box}
body{margin:0;background:#f8f9fa;color:var(--ink);
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1000px;margin:0 auto;padding:28px 24px 40px}
header{display:flex;justify-content:space-between;align-items:flex-end;gap:16px;
border-bottom:3px solid var(--ink);padding-bottom:12px;margin-bottom:18px;flex-wrap:wrap}
h1{font-size:34px;margin:0;letter-spacing:-.5px}
.when{margin:2px 0 0;color:#495057;font-size:16px}
.src{margin:0;color:var(--muted);font-size:13px}
.warn{background:#fff4e6;border-left:4px solid #f08c00;padding:10px 14px;border-radius:4px}
.tiles{display:grid;grid-template-columns:repeat(4,1fr);gap:12px;margin:0 0 14px}
.tile{background:#fff;border-radius:10px;padding:14px 16px;box-shadow:0 1px 2px #0000000f;
border-top:4px solid #dee2e6;display:flex;flex-direction:column}
.tile.good{border-top-color:var(--good)}.tile.bad{border-top-color:var(--bad)}
.tile .k{text-transform:uppercase;font-size:11px;letter-spacing:.8px;color:var(--muted)}
.tile .v{font-size:34px;font-weight:700;line-height:1.15}
.tile.small .v{font-size:20px;padding-top:8px}
.tile.bad .v{color:var(--bad)}.tile.good .v{color:var(--good)}
.tile .s{font-size:13px;color:#495057}
.read{font-size:18px;margin:4px 0 6px;font-weight:600}
.status{color:var(--muted);margin:0 0 8px;font-size:13px}
section{background:#fff;border-radius:10px;padding:16px 18px;margin:16px 0;
box-shadow:0 1px 2px #0000000f}
h2{font-size:19px;margin:0 0 8px;display:flex;align-items:center;gap:8px}
h2 small{font-weight:400;color:var(--muted);font-size:14px}
.dot{display:inline-block;width:12px;height:12px;border-radius:50%}
.chart{width:100%;height:auto;display:block}.chart.narrow{display:none}
.legend{font-size:12px;color:#495057;margin:4px 0 8px}
.key{white-space:nowrap;margin-right:10px}.key i{display:inline-block;width:10px;height:10px;
border-radius:2px;margin-right:4px;vertical-align:-1px}
.nothing p{font-size:16px;margin:0}
.judged td,.judged th{vertical-align:top}.judged td.cue{color:#495057}
.judged tr.off{color:var(--muted)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:14px;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line)}
thead th{font-size:11px;text-transform:uppercase;letter-spacing:.6px;color:var(--muted);
font-weight:600}
.reps td{white-space:nowrap}.reps td:last-child{white-space:normal}
.reps td.off{color:var(--bad);font-weight:700}
.chip{display:inline-block;background:#fff5f5;color:#c92a2a;border:1px solid #ffc9c9;
border-radius:999px;padding:0 8px;margin:1px 4px 1px 0;font-size:12px;white-space:nowrap}
.chip.key{background:var(--bad);color:#fff;border-color:var(--bad)}
.ok{color:var(--good);font-weight:600;font-size:13px}
.faults th small{display:block;font-weight:400;color:var(--muted);font-size:12px}
.faults td{position:relative;width:30%}
.faults td .bar{position:absolute;left:0;top:6px;bottom:6px;opacity:.18;border-radius:0 4px 4px 0}
.faults td b{position:relative;font-size:17px;margin:0 8px}
.faults td i{position:relative;color:var(--muted);font-style:normal;font-size:13px}
.faults td.zero{color:#ced4da}
.faults tr.key th{color:var(--bad)}
.trend tr.now td{font-weight:700}.trend td{white-space:nowrap}
.empty{color:var(--muted)}
.clip{margin:12px 0 4px}.clip video{display:block;width:100%;max-width:640px;
border-radius:6px;background:#000}.clip a{font-size:13px}
.stills{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:10px;
margin:10px 0 0}.stills figure{margin:0}.stills img{display:block;width:100%;height:auto;
border-radius:6px}.stills figcaption{font-size:12px;color:#495057;margin-top:2px}
footer{color:var(--muted);font-size:12px;margin-top:24px;text-align:center}
@media (max-width:720px){.tiles{grid-template-columns:repeat(2,1fr)}}
@media (max-width:600px){main{padding:16px 10px 30px}section{padding:12px 10px}
.chart.wide{display:none}.chart.narrow{display:block}h1{font-size:28px}
th,td{padding:5px 4px}.chip{white-space:normal}
.stills{grid-template-columns:repeat(auto-fill,minmax(150px,1fr))}.faults td{width:22%}
.faults td b{margin:0 4px}}
@media print{body{background:#fff}section,.tile{box-shadow:none;border:1px solid var(--line)}
section{break-inside:avoid}}
"""
