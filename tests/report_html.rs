//! `report.html` of a run, a compare and a sweep folder: one self-contained
//! page (no URL but the SVG namespace, balanced scripts) that embeds every
//! plot of its folder and its tables; `fedsim report DIR` rebuilds a run's
//! page byte for byte, and the page is the same for the same seed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SVG_NAMESPACE: &str = "http://www.w3.org/2000/svg";

fn fedsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fedsim")).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn run(scenario: &str, out: &Path, extra: &[&str]) -> PathBuf {
    let mut args = vec!["run", scenario, "--out", out.to_str().unwrap(), "--quiet"];
    args.extend(extra);
    ok(&fedsim(&args));
    out.to_path_buf()
}

/// Checks the page's shape and self-containment, and returns its text.
fn well_formed(path: &Path) -> String {
    let html = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(html.starts_with("<!DOCTYPE html>\n"), "{}", path.display());
    assert!(html.ends_with("</html>\n"), "{}", path.display());
    let lower = html.to_lowercase();
    for (open, close) in [("<script", "</script>"), ("<style", "</style>"), ("<table", "</table>"), ("<svg", "</svg>")]
    {
        assert_eq!(lower.matches(open).count(), lower.matches(close).count(), "{}: {open}", path.display());
    }
    // Each script's text holds no `</` that could end it early.
    for chunk in lower.split("<script").skip(1) {
        let body = &chunk[..chunk.find("</script>").unwrap()];
        assert!(!body.contains("<!--"), "{}", path.display());
    }
    let rest = lower.replace(SVG_NAMESPACE, "");
    for external in ["http://", "https://", "<link", "<img", "src=", "@import", "url(", "//cdn"] {
        assert!(!rest.contains(external), "{}: holds {external}", path.display());
    }
    html
}

/// The `<svg>...</svg>` part of a plot file, as the page inlines it.
fn svg_body(text: &str) -> &str {
    text[text.find("<svg").unwrap()..].trim_end()
}

fn plot_id(file: &str) -> String {
    format!("plot-{}", file.strip_suffix(".svg").unwrap())
}

/// Every plot of `dir/plots` is in the page, whole, in a figure of its id.
fn embeds_plots(html: &str, dir: &Path) -> usize {
    let plots = dir.join("plots");
    let mut n = 0;
    for e in std::fs::read_dir(&plots).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let svg = std::fs::read_to_string(plots.join(&name)).unwrap();
        assert!(html.contains(&format!("id=\"{}\"", plot_id(&name))), "{}: {name}", dir.display());
        assert!(html.contains(svg_body(&svg)), "{}: {name} not inlined whole", dir.display());
        n += 1;
    }
    assert_eq!(html.matches("<svg").count(), n, "{}: one svg per plot", dir.display());
    n
}

/// The timeline's embedded JSON.
fn timeline(html: &str) -> serde_json::Value {
    let start = "<script type=\"application/json\" id=\"timeline-data\">";
    let from = html.find(start).unwrap() + start.len();
    let len = html[from..].find("</script>").unwrap();
    serde_json::from_str(&html[from..from + len]).unwrap()
}

#[test]
fn a_run_page_holds_its_plots_tables_timeline_and_escaped_scenario_and_rebuilds_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = run(
        "scenarios/quickstart.yaml",
        &tmp.path().join("q"),
        &["--set", "description=tricky </script> & <b>bold</b>", "--threads", "1"],
    );
    let page = dir.join("report.html");
    let html = well_formed(&page);
    assert_eq!(embeds_plots(&html, &dir), 8);
    for id in ["summary-table", "classes-table", "timeline-canvas", "timeline-data"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(html.contains("<th>final_accuracy</th>") && html.contains("<th>privacy_audit</th>"));
    assert!(html.contains("<th>epsilon</th>"));
    assert!(!html.contains("wall_time_s</th>"), "no wall-clock figure");
    // The YAML's markup is text, highlighted.
    assert!(!html.contains("<b>bold"));
    assert!(html.contains("&lt;/script&gt;") && html.contains("&amp;"));
    assert!(html.contains("<span class=\"k\">description</span>:"));
    assert!(html.contains("<span class=\"k\">seed</span>: <span class=\"n\">42</span>"));
    // The timeline: every dispatch of the run's 20 clients.
    let t = timeline(&html);
    let events = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    let dispatches = events.lines().filter(|l| l.contains("\"kind\":\"dispatch\"")).count();
    assert_eq!(t["tasks"].as_array().unwrap().len(), dispatches);
    assert_eq!(t["clients"].as_array().unwrap().len(), 20);
    assert_eq!(t["truncated"], false);
    for k in t["tasks"].as_array().unwrap() {
        assert!(k[7].as_u64().unwrap() > 0, "a task downloads the model");
        assert_eq!(k[6], "reported");
        assert!(k[8].as_u64().unwrap() > 0, "a reported task uploads");
    }

    // `fedsim report DIR` rebuilds the same bytes.
    std::fs::remove_file(&page).unwrap();
    ok(&fedsim(&["report", dir.to_str().unwrap()]));
    assert_eq!(std::fs::read_to_string(&page).unwrap(), html);
    // The same scenario and seed, another thread count: the same page.
    let again = run(
        "scenarios/quickstart.yaml",
        &tmp.path().join("q2"),
        &["--set", "description=tricky </script> & <b>bold</b>", "--threads", "2"],
    );
    assert_eq!(std::fs::read_to_string(again.join("report.html")).unwrap(), html);
}

#[test]
fn a_dp_run_page_shows_epsilon_and_its_plot_and_report_needs_a_run_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = run(
        "scenarios/sync_vs_async/fedavg.yaml",
        &tmp.path().join("dp"),
        &["--set", "privacy.dp={noise_multiplier: 1}", "--set", "stop.rounds=5"],
    );
    let html = well_formed(&dir.join("report.html"));
    assert_eq!(embeds_plots(&html, &dir), 9);
    assert!(html.contains("id=\"plot-epsilon\""));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let eps = summary["epsilon"].as_f64().unwrap();
    assert!(html.contains(&format!("<th>epsilon</th><td>{}", &format!("{eps:.6}")[..4])), "epsilon {eps}");
    assert!(html.contains("advantage: "));
    let o = fedsim(&["report", tmp.path().to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("summary.json"));
}

#[test]
fn compare_and_sweep_pages_overlay_every_member_and_link_their_pages() {
    let tmp = tempfile::tempdir().unwrap();
    let cmp = tmp.path().join("cmp");
    ok(&fedsim(&[
        "compare",
        "scenarios/sync_vs_async/fedavg.yaml",
        "scenarios/sync_vs_async/fedasync.yaml",
        "--out",
        cmp.to_str().unwrap(),
    ]));
    let html = well_formed(&cmp.join("report.html"));
    let svg = std::fs::read_to_string(cmp.join("accuracy.svg")).unwrap();
    assert!(html.contains(svg_body(&svg)));
    assert_eq!(html.matches("<svg").count(), 1);
    assert!(html.contains("id=\"members-table\""));
    for member in ["sva_fedavg", "sva_fedasync"] {
        assert!(html.contains(&format!("href=\"{member}/report.html\"")), "{member}");
        well_formed(&cmp.join(member).join("report.html"));
    }

    let scenario = tmp.path().join("sweep.yaml");
    std::fs::write(
        &scenario,
        "name: small-sweep\ndata: { dataset: iris }\nclients:\n  count: 6\n  profiles:\n    - { name: p, share: 1.0, \
         compute: { samples_per_s: 50 }, network: { latency: { dist: constant, ms: 10 }, up_mbps: 1, down_mbps: 1 } }\n\
         model: { kind: softmax_regression }\nstrategy: { kind: fedavg, clients_per_round: 4 }\nstop: { rounds: 3 }\n\
         sweep:\n  seed: [1, 2]\n",
    )
    .unwrap();
    let sw = tmp.path().join("sw");
    ok(&fedsim(&["sweep", scenario.to_str().unwrap(), "--jobs", "2", "--out", sw.to_str().unwrap()]));
    let html = well_formed(&sw.join("report.html"));
    let svg = std::fs::read_to_string(sw.join("accuracy.svg")).unwrap();
    assert!(html.contains(svg_body(&svg)));
    assert!(html.contains("seed=1") && html.contains("seed=2"), "both curves in the legend");
    for member in ["seed=1", "seed=2"] {
        assert!(html.contains(&format!("href=\"{member}/report.html\"")), "{member}");
        let page = sw.join(member).join("report.html");
        let member_html = well_formed(&page);
        embeds_plots(&member_html, &sw.join(member));
    }
}
