//! `report.html`: one self-contained page per run folder (and one for a
//! `compare` or `sweep` folder) that shows what the folder holds.
//!
//! A run's page holds the scenario (`scenario.yaml`, highlighted here), the
//! summary and per-class tables (`summary.json`), every plot of `plots/`
//! inlined, and an interactive timeline (zoom, pan, hover a task for its
//! phases and bytes) drawn by inline JavaScript from a compact JSON of the
//! first [`MAX_CLIENTS`] clients' tasks (at most [`MAX_TASKS`]) read from
//! `events.jsonl`. Nothing is fetched: no URL, no CDN; styles and scripts
//! are inline. The page only reads the folder's files and holds no
//! wall-clock figure, so `fedsim report DIR` rebuilds it byte for byte.

use super::plot::run::{PLOTS_DIR, PLOT_FILES};
use super::plot::timeline::sample_seeds;
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeMap, BinaryHeap};
use std::fmt::Write as _;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// The page's file name in a run, compare or sweep folder.
pub const REPORT_FILE: &str = "report.html";
/// Clients the interactive timeline shows at most (a seeded sample of a
/// larger federation, holding `timeline.svg`'s).
pub const MAX_CLIENTS: usize = 200;
/// Tasks the interactive timeline holds; reading stops there.
pub const MAX_TASKS: usize = 5000;

#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {what}")]
    Parse { path: PathBuf, what: String },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

fn read(path: &Path) -> Result<String, HtmlError> {
    std::fs::read_to_string(path).map_err(|source| HtmlError::Read { path: path.to_owned(), source })
}

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON safe inside a `<script>` element: no `<`, `>` or `&` (so never
/// `</script>` or `<!--`), nor the line separators JavaScript once refused.
pub fn script_json(v: &Value) -> String {
    let s = serde_json::to_string(v).expect("a value always serialises");
    s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// Highlights YAML into HTML: keys, strings, numbers, booleans and null,
/// comments; everything escaped.
pub fn highlight_yaml(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let (code, comment) = split_comment(line);
        highlight_code(code, &mut out);
        if !comment.is_empty() {
            let _ = write!(out, "<span class=\"c\">{}</span>", escape(comment));
        }
    }
    out
}

/// (code, comment): a `#` starts a comment at the line's start or after
/// whitespace, outside quotes.
fn split_comment(line: &str) -> (&str, &str) {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' && prev.is_whitespace() => return line.split_at(i),
            None => {}
        }
        prev = c;
    }
    (line, "")
}

fn span(out: &mut String, class: &str, text: &str) {
    let _ = write!(out, "<span class=\"{class}\">{}</span>", escape(text));
}

fn highlight_code(code: &str, out: &mut String) {
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' {
            let mut j = i + 1;
            while j < chars.len() {
                if chars[j] == '\\' && c == '"' {
                    j += 2;
                    continue;
                }
                if chars[j] == c {
                    // '' escapes a quote in single-quoted YAML.
                    if c == '\'' && chars.get(j + 1) == Some(&'\'') {
                        j += 2;
                        continue;
                    }
                    break;
                }
                j += 1;
            }
            let end = (j + 1).min(chars.len());
            let s: String = chars[i..end].iter().collect();
            // A quoted key ("a b": 1).
            let is_key = chars.get(end) == Some(&':') && chars.get(end + 1).is_none_or(|c| c.is_whitespace());
            span(out, if is_key { "k" } else { "s" }, &s);
            i = end;
        } else if c.is_whitespace() || "{}[],".contains(c) || (c == '-' && chars.get(i + 1).is_none_or(|n| *n == ' ')) {
            out.push_str(&escape(&c.to_string()));
            i += 1;
        } else {
            let mut j = i;
            while j < chars.len() && !chars[j].is_whitespace() && !",{}[]".contains(chars[j]) {
                j += 1;
            }
            let word: String = chars[i..j].iter().collect();
            if let Some(key) = word.strip_suffix(':').filter(|k| !k.is_empty()) {
                span(out, "k", key);
                out.push(':');
            } else if word.parse::<f64>().is_ok() || word.starts_with("0x") || word == ".inf" || word == "-.inf" {
                span(out, "n", &word);
            } else if ["true", "false", "null", "~", "True", "False", "Null"].contains(&word.as_str()) {
                span(out, "b", &word);
            } else {
                span(out, "v", &word);
            }
            i = j;
        }
    }
}

/// A number or value as the tables show it.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "\u{2014}".into(),
        Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap_or(0.0);
            fmt_f64(x)
        }
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn fmt_f64(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return format!("{x:.0}");
    }
    let s = if x.abs() >= 1e-3 { format!("{x:.6}") } else { format!("{x:.3e}") };
    if s.contains('e') {
        s
    } else {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// `summary.json` fields the page leaves out: they describe the machine,
/// not the run (see docs/outputs.md, wall-clock fields).
const WALL_CLOCK: [&str; 4] = ["wall_time_s", "threads", "peak_rss_bytes", "host_cores"];

/// Summary fields in the order the table shows them (others follow).
const SUMMARY_ORDER: [&str; 22] = [
    "scenario",
    "seed",
    "strategy",
    "stop_reason",
    "stop_message",
    "rounds",
    "virtual_time_s",
    "final_accuracy",
    "final_loss",
    "final_macro_f1",
    "target_accuracy",
    "time_to_target_s",
    "epsilon",
    "privacy_audit",
    "bytes_up",
    "bytes_down",
    "clients",
    "parameters",
    "clients_late",
    "clients_dropped",
    "max_staleness",
    "staleness_histogram",
];

fn summary_table(summary: &Value) -> String {
    let Some(map) = summary.as_object() else { return String::new() };
    let mut keys: Vec<&str> = SUMMARY_ORDER.iter().copied().filter(|k| map.contains_key(*k)).collect();
    // epsilon and privacy_audit always get a row: "no DP" says something.
    for k in ["epsilon", "privacy_audit"] {
        if !keys.contains(&k) {
            keys.insert(11, k);
        }
    }
    keys.extend(
        map.keys().map(String::as_str).filter(|k| !SUMMARY_ORDER.contains(k) && !WALL_CLOCK.contains(k)).filter(|k| {
            // Nested tables have their own section.
            *k != "classification_report"
        }),
    );
    let mut s = String::from("<table id=\"summary-table\" class=\"kv\"><tbody>\n");
    for k in keys {
        let v = map.get(k).unwrap_or(&Value::Null);
        let shown = match (k, v) {
            ("epsilon", Value::Null) => "\u{2014} (no differential privacy, or unbounded)".to_string(),
            (_, Value::Object(o)) => o.iter().map(|(a, b)| format!("{a}: {}", cell(b))).collect::<Vec<_>>().join(", "),
            _ => cell(v),
        };
        let _ = writeln!(s, "<tr><th>{}</th><td>{}</td></tr>", escape(k), escape(&shown));
    }
    s.push_str("</tbody></table>\n");
    s
}

fn classes_table(summary: &Value) -> String {
    let mut s = String::from(
        "<table id=\"classes-table\" class=\"grid\"><thead><tr><th>class</th><th>precision</th><th>recall</th>\
         <th>f1</th><th>support</th></tr></thead><tbody>\n",
    );
    if let Some(classes) = summary.get("classification_report").and_then(Value::as_object) {
        for (name, c) in classes {
            let f = |k: &str| c.get(k).map_or("\u{2014}".to_string(), cell);
            let _ = writeln!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(name),
                escape(&f("precision")),
                escape(&f("recall")),
                escape(&f("f1")),
                escape(&f("support"))
            );
        }
    }
    s.push_str("</tbody></table>\n");
    s
}

/// An SVG file ready to inline: its XML declaration and doctype dropped.
fn inline_svg(text: &str) -> &str {
    let start = text.find("<svg").unwrap_or(0);
    text[start..].trim_end()
}

/// The folder's plots: the known ones in their order, then any others by
/// name. (file name, svg text)
fn plots(dir: &Path) -> Result<Vec<(String, String)>, HtmlError> {
    let folder = dir.join(PLOTS_DIR);
    let mut names: Vec<String> = match std::fs::read_dir(&folder) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".svg"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => return Err(HtmlError::Read { path: folder, source }),
    };
    names.sort_by_key(|n| (PLOT_FILES.iter().position(|p| p == n).unwrap_or(PLOT_FILES.len()), n.clone()));
    names.into_iter().map(|n| read(&folder.join(&n)).map(|t| (n, t))).collect()
}

/// A plot's element id: `plot-` and its file stem.
pub fn plot_id(file: &str) -> String {
    let stem = file.strip_suffix(".svg").unwrap_or(file);
    let clean: String = stem.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' }).collect();
    format!("plot-{clean}")
}

fn figure(file: &str, svg: &str) -> String {
    format!(
        "<figure class=\"plot\" id=\"{}\">{}<figcaption>{}</figcaption></figure>\n",
        plot_id(file),
        inline_svg(svg),
        escape(file)
    )
}

#[derive(Deserialize)]
struct Event<'a> {
    t: f64,
    #[serde(borrow)]
    kind: Cow<'a, str>,
    client: Option<u32>,
    #[serde(default)]
    round: u64,
    #[serde(default)]
    bytes: u64,
}

/// One task of the timeline's JSON.
struct Task {
    round: u64,
    dispatch: f64,
    downloaded: Option<f64>,
    computed: Option<f64>,
    end: Option<f64>,
    outcome: &'static str,
    down: u64,
    up: u64,
    /// Still taking the client's events: not yet followed by another
    /// dispatch, a drop or a late.
    open: bool,
}

/// The sampled clients' tasks from `events.jsonl`, as a compact JSON:
/// `{"clients": [ids], "tasks": [[client row, round, dispatch, downloaded,
/// computed, end, outcome, bytes down, bytes up]], "aggregations": [t],
/// "end": t, "truncated": bool, ...}`; -1 for a time the log never gave.
///
/// A federation of more than [`MAX_CLIENTS`] registered clients is
/// sampled as `timeline.svg` is: the clients given a task with the
/// smallest ranks from [`sample_seeds`]`(seed)`, kept bottom-k while the
/// log streams by, so the SVG's rows are the first of this sample and the
/// sample does not depend on the order of events. `registered` is the
/// federation's size, for "N of M clients shown".
fn timeline_json(events: &Path, registered: usize, seed: u64) -> Result<Value, HtmlError> {
    let file = std::fs::File::open(events).map_err(|source| HtmlError::Read { path: events.to_owned(), source })?;
    let sampled = registered > MAX_CLIENTS;
    let seeds = sample_seeds(seed);
    // Drawn clients by id, with their tasks in order; (rank, client) of
    // the drawn ones, largest rank on top, when sampling.
    let mut rows: BTreeMap<u32, Vec<Task>> = BTreeMap::new();
    let mut heap: BinaryHeap<(u64, u32)> = BinaryHeap::new();
    let mut n_tasks = 0usize;
    let mut aggregations: Vec<f64> = Vec::new();
    let mut end = 0.0f64;
    let mut truncated = false;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| HtmlError::Read { path: events.to_owned(), source })?;
        if line.is_empty() {
            continue;
        }
        let e: Event<'_> = serde_json::from_str(&line)
            .map_err(|err| HtmlError::Parse { path: events.to_owned(), what: format!("line {}: {err}", i + 1) })?;
        end = end.max(e.t);
        let Some(c) = e.client else {
            if e.kind == "aggregate" && aggregations.len() < MAX_TASKS {
                aggregations.push(e.t);
            }
            continue;
        };
        if e.kind == "dispatch" {
            if !rows.contains_key(&c) {
                if sampled {
                    // Admitted at its first task or never: the threshold
                    // only falls, so a drawn client's history is whole.
                    let rank = seeds.index(c as u64).seed();
                    if heap.len() == MAX_CLIENTS {
                        match heap.peek() {
                            Some(&(top, evicted)) if rank < top => {
                                heap.pop();
                                n_tasks -= rows.remove(&evicted).map_or(0, |t| t.len());
                            }
                            _ => continue,
                        }
                    }
                    heap.push((rank, c));
                }
                rows.insert(c, Vec::new());
            }
            if n_tasks >= MAX_TASKS {
                truncated = true;
                break;
            }
            let tasks = rows.get_mut(&c).expect("admitted above");
            if let Some(prev) = tasks.last_mut().filter(|k| k.open && k.end.is_none()) {
                // A new task ends one the log never closed.
                prev.end = Some(e.t);
            }
            if let Some(prev) = tasks.last_mut() {
                prev.open = false;
            }
            tasks.push(Task {
                round: e.round,
                dispatch: e.t,
                downloaded: None,
                computed: None,
                end: None,
                outcome: "open",
                down: e.bytes,
                up: 0,
                open: true,
            });
            n_tasks += 1;
            continue;
        }
        let Some(task) = rows.get_mut(&c).and_then(|t| t.last_mut()).filter(|k| k.open) else { continue };
        match e.kind.as_ref() {
            "download_done" => task.downloaded = Some(e.t),
            "compute_done" => task.computed = Some(e.t),
            "report" | "advertise_keys" if task.end.is_none() => {
                task.up += e.bytes;
                task.end = Some(e.t);
                task.outcome = "reported";
            }
            "stale" => task.outcome = "stale",
            "drop" if task.outcome == "open" => {
                task.end = Some(e.t);
                task.outcome = "dropped";
                task.open = false;
            }
            "late" if task.outcome == "open" => {
                task.end = Some(e.t);
                task.outcome = "late";
                task.open = false;
            }
            // Secure aggregation's later messages: the task goes on.
            "share_keys" | "masked_input" | "unmask_shares" => {
                task.up += e.bytes;
                task.end = Some(e.t);
            }
            "key_list" | "shares" | "survivors" => task.down += e.bytes,
            _ => {}
        }
    }
    let t = |x: Option<f64>| x.map_or(Value::from(-1), Value::from);
    let clients: Vec<u32> = rows.keys().copied().collect();
    let mut tasks: Vec<Value> = Vec::with_capacity(n_tasks);
    for (row, list) in rows.values().enumerate() {
        for k in list {
            tasks.push(serde_json::json!([
                row,
                k.round,
                k.dispatch,
                t(k.downloaded),
                t(k.computed),
                t(k.end),
                k.outcome,
                k.down,
                k.up
            ]));
        }
    }
    Ok(serde_json::json!({
        "clients": clients,
        "registered": registered,
        "sampled": sampled,
        "tasks": tasks,
        "aggregations": aggregations,
        "end": end,
        "truncated": truncated,
        "max_clients": MAX_CLIENTS,
        "max_tasks": MAX_TASKS,
    }))
}

const CSS: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f6f7f9;color:#1d2125}
header{background:#243447;color:#fff;padding:14px 24px}
header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;opacity:.85;font-size:14px}
nav{padding:6px 24px;background:#e8ecf1;font-size:14px}
nav a{margin-right:14px;color:#243447}
main{padding:8px 24px 40px;max-width:1400px}
.row{display:flex;flex-wrap:wrap;gap:0 16px;align-items:flex-start}
.row section{flex:1 1 0;min-width:340px}
.row section:first-child{flex-grow:1.4}
section{background:#fff;border:1px solid #dde2e8;border-radius:6px;padding:12px 18px;margin:16px 0}
h2{font-size:18px;margin:4px 0 10px}
table{border-collapse:collapse;font-size:14px}
th,td{padding:3px 10px;border-bottom:1px solid #e6e9ee;text-align:left}
table.grid td{text-align:right;font-variant-numeric:tabular-nums}
table.grid td:first-child{text-align:left}
table.kv th{color:#4a5560;font-weight:600}
pre.yaml{background:#fbfbfc;border:1px solid #e6e9ee;padding:10px;overflow:auto;max-height:520px;font-size:13px;line-height:1.35}
.yaml .k{color:#1f5fa8;font-weight:600}.yaml .s{color:#2f7d32}.yaml .n{color:#b35900}
.yaml .b{color:#8e24aa}.yaml .c{color:#7a8590;font-style:italic}.yaml .v{color:#2f7d32}
.plots{display:flex;flex-wrap:wrap;gap:12px}
figure.plot{margin:0;flex:1 1 640px;max-width:920px}
figure.plot svg{width:100%;height:auto;border:1px solid #eceff3}
figcaption{font-size:12px;color:#6b7580}
.tl-bar{display:flex;gap:8px;align-items:center;margin-bottom:6px;font-size:13px}
.tl-bar button{padding:2px 10px}
#timeline-box{position:relative;max-height:640px;overflow-y:auto;border:1px solid #e6e9ee}
#timeline-canvas{display:block;cursor:crosshair}
#timeline-tip{position:fixed;pointer-events:none;background:#1d2125;color:#fff;font-size:12px;padding:6px 8px;
border-radius:4px;display:none;white-space:pre;z-index:5}
.legend span{display:inline-block;width:12px;height:10px;margin:0 4px 0 10px;vertical-align:middle}
.note{font-size:13px;color:#5a6570}
"#;

const TIMELINE_JS: &str = r#"
(function () {
  var data = JSON.parse(document.getElementById('timeline-data').textContent);
  var canvas = document.getElementById('timeline-canvas');
  var tip = document.getElementById('timeline-tip');
  var status = document.getElementById('timeline-status');
  var ctx = canvas.getContext('2d');
  var ROW = 12, LEFT = 70, TOP = 24, RIGHT = 16;
  var COLORS = {download: '#1f77b4', compute: '#ff7f0e', upload: '#2ca02c'};
  var END = {dropped: '#d62728', late: '#9467bd', stale: '#8c564b'};
  var full = Math.max(data.end, 1e-9);
  var view = [0, full];
  function width() { return canvas.clientWidth || 1200; }
  function x(t) { return LEFT + (t - view[0]) / (view[1] - view[0]) * (width() - LEFT - RIGHT); }
  function tAt(px) { return view[0] + (px - LEFT) / (width() - LEFT - RIGHT) * (view[1] - view[0]); }
  function phases(k) {
    var stop = k[5] >= 0 ? k[5] : data.end, out = [];
    out.push(['download', k[2], k[3] >= 0 ? Math.min(k[3], stop) : stop]);
    if (k[3] >= 0 && k[3] <= stop) out.push(['compute', k[3], k[4] >= 0 ? Math.min(k[4], stop) : stop]);
    if (k[4] >= 0 && k[4] <= stop) out.push(['upload', k[4], stop]);
    return out;
  }
  function draw() {
    var dpr = window.devicePixelRatio || 1, w = width();
    var h = TOP + data.clients.length * ROW + 8;
    canvas.style.height = h + 'px';
    canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.font = '10px sans-serif'; ctx.fillStyle = '#333'; ctx.textBaseline = 'middle';
    for (var i = 0; i <= 8; i++) {
      var t = view[0] + (view[1] - view[0]) * i / 8, px = x(t);
      ctx.fillStyle = '#eee'; ctx.fillRect(px, TOP - 4, 1, h - TOP);
      ctx.fillStyle = '#333'; ctx.textAlign = i === 8 ? 'right' : (i === 0 ? 'left' : 'center');
      ctx.fillText(t.toFixed(t < 10 ? 2 : 1) + ' s', px, 10);
    }
    ctx.textAlign = 'right';
    for (var r = 0; r < data.clients.length; r++) {
      if (r % 2 === 0) { ctx.fillStyle = '#fafbfc'; ctx.fillRect(LEFT, TOP + r * ROW, w - LEFT - RIGHT, ROW); }
      if (data.clients.length <= 60 || r % 5 === 0) {
        ctx.fillStyle = '#555'; ctx.fillText('client ' + data.clients[r], LEFT - 4, TOP + r * ROW + ROW / 2);
      }
    }
    ctx.save(); ctx.beginPath(); ctx.rect(LEFT, 0, w - LEFT - RIGHT, h); ctx.clip();
    var drawn = 0;
    data.tasks.forEach(function (k) {
      var y = TOP + k[0] * ROW + 2, ps = phases(k);
      var stop = ps[ps.length - 1][2];
      if (stop < view[0] || k[2] > view[1]) return;
      drawn++;
      ps.forEach(function (p) {
        ctx.fillStyle = COLORS[p[0]];
        ctx.fillRect(x(p[1]), y, Math.max(x(p[2]) - x(p[1]), 1), ROW - 4);
      });
      if (END[k[6]]) { ctx.fillStyle = END[k[6]]; ctx.fillRect(x(stop) - 1, y - 1, 3, ROW - 2); }
    });
    ctx.strokeStyle = 'rgba(0,0,0,0.35)'; ctx.setLineDash([3, 3]);
    data.aggregations.forEach(function (t) {
      if (t < view[0] || t > view[1]) return;
      ctx.beginPath(); ctx.moveTo(x(t) + 0.5, TOP - 4); ctx.lineTo(x(t) + 0.5, h); ctx.stroke();
    });
    ctx.restore(); ctx.setLineDash([]);
    canvas.setAttribute('data-rendered', String(drawn));
    status.textContent = drawn + ' of ' + data.tasks.length + ' tasks in view, ' +
      view[0].toFixed(3) + ' s to ' + view[1].toFixed(3) + ' s';
  }
  function zoom(f, at) {
    var c = at === undefined ? (view[0] + view[1]) / 2 : at;
    var span = Math.min(Math.max((view[1] - view[0]) * f, full * 1e-6), full);
    var a = c - (c - view[0]) * span / (view[1] - view[0]);
    a = Math.min(Math.max(a, 0), full - span);
    view = [a, a + span]; draw();
  }
  function fmtBytes(b) {
    return b >= 1048576 ? (b / 1048576).toFixed(2) + ' MiB' : b >= 1024 ? (b / 1024).toFixed(1) + ' KiB' : b + ' B';
  }
  function hit(ev) {
    var rect = canvas.getBoundingClientRect(), px = ev.clientX - rect.left, py = ev.clientY - rect.top;
    var row = Math.floor((py - TOP) / ROW), t = tAt(px), best = null;
    if (row < 0 || row >= data.clients.length || px < LEFT) return null;
    var slack = (view[1] - view[0]) * 2 / width();
    data.tasks.forEach(function (k) {
      if (k[0] !== row) return;
      var ps = phases(k);
      if (t >= k[2] - slack && t <= ps[ps.length - 1][2] + slack) best = k;
    });
    return best;
  }
  canvas.addEventListener('wheel', function (ev) {
    ev.preventDefault();
    zoom(ev.deltaY < 0 ? 0.8 : 1.25, tAt(ev.clientX - canvas.getBoundingClientRect().left));
  }, {passive: false});
  var drag = null;
  canvas.addEventListener('mousedown', function (ev) { drag = [ev.clientX, view[0], view[1]]; });
  window.addEventListener('mouseup', function () { drag = null; });
  canvas.addEventListener('mousemove', function (ev) {
    if (drag) {
      var dt = (ev.clientX - drag[0]) / (width() - LEFT - RIGHT) * (drag[2] - drag[1]);
      var a = Math.min(Math.max(drag[1] - dt, 0), full - (drag[2] - drag[1]));
      view = [a, a + drag[2] - drag[1]]; draw(); return;
    }
    var k = hit(ev);
    if (!k) { tip.style.display = 'none'; return; }
    var lines = ['client ' + data.clients[k[0]] + ', task from model version ' + k[1] + ' (' + k[6] + ')'];
    phases(k).forEach(function (p) {
      lines.push(p[0] + ': ' + p[1].toFixed(3) + ' s \u2192 ' + p[2].toFixed(3) + ' s (' + (p[2] - p[1]).toFixed(3) + ' s)');
    });
    lines.push('bytes down ' + fmtBytes(k[7]) + ', up ' + fmtBytes(k[8]));
    tip.textContent = lines.join('\n');
    tip.style.left = (ev.clientX + 14) + 'px'; tip.style.top = (ev.clientY + 14) + 'px'; tip.style.display = 'block';
  });
  canvas.addEventListener('mouseleave', function () { tip.style.display = 'none'; });
  document.getElementById('tl-in').addEventListener('click', function () { zoom(0.5); });
  document.getElementById('tl-out').addEventListener('click', function () { zoom(2); });
  document.getElementById('tl-reset').addEventListener('click', function () { view = [0, full]; draw(); });
  window.addEventListener('resize', draw);
  draw();
})();
"#;

fn page(title: &str, subtitle: &str, nav: &[(&str, &str)], body: &str, script: Option<&str>) -> String {
    let mut s = String::with_capacity(body.len() + 16_384);
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(s, "<title>{}</title>", escape(title));
    let _ = writeln!(s, "<style>{CSS}</style>\n</head>\n<body>");
    let _ = writeln!(s, "<header><h1>{}</h1><p>{}</p></header>", escape(title), escape(subtitle));
    s.push_str("<nav>");
    for (id, name) in nav {
        let _ = write!(s, "<a href=\"#{id}\">{}</a>", escape(name));
    }
    s.push_str("</nav>\n<main>\n");
    s.push_str(body);
    s.push_str("</main>\n");
    if let Some(js) = script {
        let _ = writeln!(s, "<script>{js}</script>");
    }
    s.push_str("</body>\n</html>\n");
    s
}

/// The sentence over the interactive timeline: which clients and tasks it
/// holds, starting "N of M clients shown" as `timeline.svg`'s note does.
fn timeline_caption(timeline: &Value) -> String {
    let shown = timeline["clients"].as_array().map_or(0, Vec::len);
    let n_tasks = timeline["tasks"].as_array().map_or(0, Vec::len);
    let registered = timeline["registered"].as_u64().unwrap_or(0);
    let mut cap = format!("{shown} of {registered} clients shown");
    if timeline["sampled"] == Value::Bool(true) {
        cap += ": a seeded sample of those given a task (timeline.svg draws the first of the same sample)";
    } else if (shown as u64) < registered {
        cap += ": every client given a task";
    }
    let _ = write!(
        cap,
        "; {n_tasks} tasks, read from events.jsonl (the page holds at most {MAX_CLIENTS} clients and {MAX_TASKS} tasks"
    );
    if timeline["truncated"] == Value::Bool(true) {
        cap += "; the task limit was reached, so the timeline stops there";
    }
    cap
}

/// The page of the run folder `dir`, from its `scenario.yaml`, `plots/`,
/// `events.jsonl` and `summary` (`summary.json`'s content).
pub fn run_page(dir: &Path, summary: &Value) -> Result<String, HtmlError> {
    let yaml = read(&dir.join("scenario.yaml"))?;
    let name = summary.get("scenario").and_then(Value::as_str).unwrap_or("run");
    let strategy = summary.get("strategy").and_then(Value::as_str).unwrap_or("?");
    let seed = summary.get("seed").map(cell).unwrap_or_default();
    let mut body = String::from("<div class=\"row\">\n");
    body.push_str("<section id=\"summary\"><h2>Summary</h2>\n");
    body.push_str(&summary_table(summary));
    body.push_str(
        "<p class=\"note\">From summary.json. Its wall-clock fields (wall_time_s, threads, peak_rss_bytes) \
         are left out, so this page is the same for the same scenario and seed.</p></section>\n",
    );
    body.push_str("<section id=\"classes\"><h2>Per-class scores of the final model</h2>\n");
    body.push_str(&classes_table(summary));
    body.push_str("</section>\n</div>\n");
    // The registered clients and the seed rank the sample as timeline.svg's.
    let registered = summary.get("clients").and_then(Value::as_u64).unwrap_or(0) as usize;
    let sample_seed = summary.get("seed").and_then(Value::as_u64).unwrap_or(0);
    let timeline = timeline_json(&dir.join("events.jsonl"), registered, sample_seed)?;
    let mut cap = timeline_caption(&timeline);
    cap += "). Wheel or buttons to zoom, drag to pan, hover a task for its phases and bytes; \
            dashed lines are aggregations.";
    let _ = write!(
        body,
        "<section id=\"timeline\"><h2>Interactive timeline</h2>\n<p class=\"note\" id=\"timeline-cap\">{}</p>\n\
         <div class=\"tl-bar\"><button id=\"tl-in\" type=\"button\">zoom in</button>\
         <button id=\"tl-out\" type=\"button\">zoom out</button><button id=\"tl-reset\" type=\"button\">reset</button>\
         <span class=\"legend\"><span style=\"background:#1f77b4\"></span>download<span style=\"background:#ff7f0e\">\
         </span>compute<span style=\"background:#2ca02c\"></span>upload<span style=\"background:#d62728\"></span>dropped\
         <span style=\"background:#9467bd\"></span>late<span style=\"background:#8c564b\"></span>stale</span>\
         <span id=\"timeline-status\" class=\"note\">(needs JavaScript)</span></div>\n\
         <div id=\"timeline-box\"><canvas id=\"timeline-canvas\" style=\"width:100%;height:60px\"></canvas></div>\
         <div id=\"timeline-tip\"></div>\n\
         <script type=\"application/json\" id=\"timeline-data\">{}</script>\n</section>\n",
        escape(&cap),
        script_json(&timeline)
    );
    let plots = plots(dir)?;
    let _ = writeln!(body, "<section id=\"plots\"><h2>Plots ({})</h2><div class=\"plots\">", plots.len());
    for (file, svg) in &plots {
        body.push_str(&figure(file, svg));
    }
    body.push_str("</div></section>\n");
    let _ = write!(
        body,
        "<section id=\"scenario\"><h2>Scenario (scenario.yaml)</h2>\n<pre class=\"yaml\"><code>{}</code></pre>\
         </section>\n",
        highlight_yaml(&yaml)
    );
    let nav = [
        ("summary", "summary"),
        ("classes", "per-class"),
        ("timeline", "timeline"),
        ("plots", "plots"),
        ("scenario", "scenario"),
    ];
    Ok(page(
        &format!("fedsim run: {name}"),
        &format!("strategy {strategy}, seed {seed}"),
        &nav,
        &body,
        Some(TIMELINE_JS),
    ))
}

/// Writes `text` to `dir/report.html` (through a temporary file, so a
/// reader never sees half a page).
pub fn write_page(dir: &Path, text: &str) -> Result<PathBuf, HtmlError> {
    let path = dir.join(REPORT_FILE);
    let tmp = dir.join(".report.html.tmp");
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, &path))
        .map_err(|source| HtmlError::Write { path: path.clone(), source })?;
    Ok(path)
}

/// `fedsim report DIR`: rebuilds the run folder's `report.html` from its
/// files (it reads them only) and returns its path.
pub fn rebuild(dir: &Path) -> Result<PathBuf, HtmlError> {
    let path = dir.join("summary.json");
    let text = read(&path)?;
    let summary: Value =
        serde_json::from_str(&text).map_err(|e| HtmlError::Parse { path: path.clone(), what: e.to_string() })?;
    let page = run_page(dir, &summary)?;
    write_page(dir, &page)
}

/// One cell of an experiment's table: its text and, for a member's name,
/// a relative link to its page.
#[derive(Debug, Clone)]
pub struct Cell {
    pub text: String,
    pub href: Option<String>,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Self {
        Cell { text: s.into(), href: None }
    }
}

/// The page of a `compare` or `sweep` folder: its members' accuracy curves
/// overlaid (`accuracy_svg`, the folder's `accuracy.svg`) and its table.
pub fn experiment_page(title: &str, subtitle: &str, accuracy_svg: &str, header: &[&str], rows: &[Vec<Cell>]) -> String {
    let mut body = String::new();
    body.push_str("<section id=\"plots\"><h2>Test accuracy of every member</h2><div class=\"plots\">\n");
    body.push_str(&figure("accuracy.svg", accuracy_svg));
    body.push_str("</div></section>\n<section id=\"table\"><h2>Members</h2>\n");
    body.push_str("<table id=\"members-table\" class=\"grid\"><thead><tr>");
    for h in header {
        let _ = write!(body, "<th>{}</th>", escape(h));
    }
    body.push_str("</tr></thead><tbody>\n");
    for row in rows {
        body.push_str("<tr>");
        for c in row {
            match &c.href {
                Some(h) => {
                    let _ = write!(body, "<td><a href=\"{}\">{}</a></td>", escape(h), escape(&c.text));
                }
                None => {
                    let _ = write!(body, "<td>{}</td>", escape(&c.text));
                }
            }
        }
        body.push_str("</tr>\n");
    }
    body.push_str(
        "</tbody></table>\n<p class=\"note\">Each member's name links to its own report.html.</p></section>\n",
    );
    page(title, subtitle, &[("plots", "accuracy"), ("table", "members")], &body, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_is_highlighted_and_escaped() {
        let h = highlight_yaml("name: a<b & c # note </script>\nn: 1.5e-3\ns: \"x: y\"\n- {k: true}");
        assert!(h.contains("<span class=\"k\">name</span>:"));
        assert!(h.contains("<span class=\"v\">a&lt;b</span>"));
        assert!(h.contains("<span class=\"v\">&amp;</span>"));
        assert!(h.contains("<span class=\"c\"># note &lt;/script&gt;</span>"));
        assert!(h.contains("<span class=\"n\">1.5e-3</span>"));
        assert!(h.contains("<span class=\"s\">&quot;x: y&quot;</span>"));
        assert!(h.contains("<span class=\"k\">k</span>:"));
        assert!(h.contains("<span class=\"b\">true</span>"));
        assert!(!h.contains("</script>"));
    }

    #[test]
    fn json_in_a_script_cannot_close_it() {
        let v = serde_json::json!({"a": "</script><!-- & \u{2028}"});
        let s = script_json(&v);
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'));
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }

    /// Writes an `events.jsonl` in which each of `clients` gets one task
    /// (dispatched in the order given) that reports, then the server
    /// aggregates.
    fn one_task_each(dir: &Path, clients: &[u32]) -> PathBuf {
        let mut log = String::new();
        for (i, c) in clients.iter().enumerate() {
            let t = i as f64 * 0.001;
            let _ = writeln!(log, r#"{{"t":{t},"kind":"dispatch","client":{c},"round":0,"bytes":10}}"#);
            let _ = writeln!(log, r#"{{"t":{},"kind":"report","client":{c},"round":0,"bytes":7}}"#, t + 0.5);
        }
        let _ = writeln!(log, r#"{{"t":9,"kind":"aggregate","client":null,"round":1,"bytes":0}}"#);
        let path = dir.join(format!("events-{}.jsonl", clients[0]));
        std::fs::write(&path, log).unwrap();
        path
    }

    #[test]
    fn a_large_federation_is_sampled_as_the_svg_timeline_is() {
        use crate::report::plot::timeline::{Timeline, MAX_ROWS};
        let tmp = tempfile::tempdir().unwrap();
        let ids: Vec<u32> = (0..1000).collect();
        let forward = one_task_each(tmp.path(), &ids);
        let backward = one_task_each(tmp.path(), &ids.iter().rev().copied().collect::<Vec<_>>());
        let a = timeline_json(&forward, 1000, 7).unwrap();
        let b = timeline_json(&backward, 1000, 7).unwrap();
        let ids_of =
            |v: &Value| -> Vec<u64> { v["clients"].as_array().unwrap().iter().map(|c| c.as_u64().unwrap()).collect() };
        // The same sample whatever the order of events, not the first 200.
        assert_eq!(ids_of(&a), ids_of(&b));
        assert_eq!(ids_of(&a).len(), MAX_CLIENTS);
        assert_ne!(ids_of(&a), (0..MAX_CLIENTS as u64).collect::<Vec<_>>());
        // Every row the SVG draws is in the page's sample.
        let svg = Timeline::read(&forward, 1000, 7).unwrap();
        assert_eq!(svg.rows().len(), MAX_ROWS);
        let page: std::collections::BTreeSet<u64> = ids_of(&a).into_iter().collect();
        assert!(svg.rows().keys().all(|c| page.contains(&(*c as u64))));
        assert!(
            timeline_caption(&a).starts_with("200 of 1000 clients shown: a seeded sample"),
            "{}",
            timeline_caption(&a)
        );
        // Another seed, another sample.
        assert_ne!(ids_of(&timeline_json(&forward, 1000, 8).unwrap()), ids_of(&a));
    }

    #[test]
    fn a_small_federation_is_shown_whole_and_a_reported_task_keeps_its_end() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("events.jsonl");
        let log = [
            r#"{"t":0,"kind":"dispatch","client":3,"round":0,"bytes":10}"#,
            r#"{"t":0.5,"kind":"report","client":3,"round":0,"bytes":7}"#,
            r#"{"t":2,"kind":"dispatch","client":3,"round":1,"bytes":10}"#,
            r#"{"t":2.5,"kind":"late","client":3,"round":1,"bytes":0}"#,
        ];
        std::fs::write(&path, log.join("\n") + "\n").unwrap();
        let v = timeline_json(&path, 5, 1).unwrap();
        assert_eq!(v["clients"], serde_json::json!([3]));
        let tasks = v["tasks"].as_array().unwrap();
        assert_eq!(tasks[0][5], 0.5, "the next dispatch must not move a reported task's end");
        assert_eq!((tasks[1][5].as_f64(), tasks[1][6].as_str()), (Some(2.5), Some("late")));
        assert!(timeline_caption(&v).starts_with("1 of 5 clients shown: every client given a task"));
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(fmt_f64(3.0), "3");
        assert_eq!(fmt_f64(0.912345678), "0.912346");
        assert_eq!(fmt_f64(0.5), "0.5");
        assert_eq!(plot_id("accuracy_time.svg"), "plot-accuracy_time");
    }
}
