//! `fedsim sweep --emit`: the Kubernetes manifests validate against the
//! official batch/v1 Job schema (tests/k8s/, see its README), which rejects
//! a broken manifest; the Slurm scripts, run by bash as Slurm would run
//! them (their `#SBATCH` lines are comments), give the local sweep's tables.
//! scripts/slurm-test.sh runs them on a real Slurm.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fedsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fedsim")).args(args).output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Serves the schema's `$ref`s to its definitions from the checked-in
/// file, and nothing else (no network).
struct Definitions(Value);

impl jsonschema::Retrieve for Definitions {
    fn retrieve(&self, uri: &jsonschema::Uri<String>) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        match uri.as_str() {
            "https://kubernetes.io/api/_definitions.json" => Ok(self.0.clone()),
            other => Err(format!("no such schema here: {other}").into()),
        }
    }
}

fn job_schema() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&read(&repo("tests/k8s/job-batch-v1.json"))).unwrap();
    let defs: Value = serde_json::from_str(&read(&repo("tests/k8s/_definitions.json"))).unwrap();
    jsonschema::options().with_retriever(Definitions(defs)).build(&schema).unwrap()
}

fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

fn yaml(path: &Path) -> Value {
    serde_yaml::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_manifests_validate_against_the_batch_v1_job_schema_which_rejects_broken_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("study");
    let scenario = repo("tests/scenarios/slurm_sweep.yaml");
    let stdout = ok(&fedsim(&[
        "sweep",
        scenario.to_str().unwrap(),
        "--emit",
        "k8s",
        dir.to_str().unwrap(),
        "--throttle",
        "3",
        "--cpus-per-task",
        "2",
        "--claim",
        "lab-runs",
    ]));
    assert!(stdout.starts_with("12 cells; wrote"), "{stdout}");
    let v = job_schema();
    let job = yaml(&dir.join("job.yaml"));
    let merge = yaml(&dir.join("merge-job.yaml"));
    assert_eq!(errors(&v, &job), Vec::<String>::new());
    assert_eq!(errors(&v, &merge), Vec::<String>::new());

    // What the schema cannot say (it has no enums for these): the Job is
    // indexed over the plan's cells, each pod reads its index and writes
    // to the claim, in the image the Dockerfile tags.
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    assert_eq!(spec["completions"], 12);
    assert_eq!(spec["parallelism"], 3);
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    assert_eq!(pod["volumes"][0]["persistentVolumeClaim"]["claimName"], "lab-runs");
    let c = &pod["containers"][0];
    assert_eq!(c["image"], format!("fedsim:{}", env!("CARGO_PKG_VERSION")));
    let command: Vec<&str> = c["command"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
    assert_eq!(command[..3], ["fedsim", "sweep", "/runs/study/scenario.yaml"]);
    assert!(command.windows(2).any(|w| w == ["--cell-from-env", "JOB_COMPLETION_INDEX"]), "{command:?}");
    assert!(command.windows(2).any(|w| w == ["--threads", "2"]), "{command:?}");
    let plan: Value = serde_json::from_str(&read(&dir.join("plan.json"))).unwrap();
    assert_eq!(plan["cells"].as_array().unwrap().len(), 12);
    assert!(dir.join("scenario.yaml").is_file());

    // The check is real: a misspelt key, a count as text, and a container
    // field that does not exist are each refused at their place.
    let mut typo = job.clone();
    let s = typo["spec"].as_object_mut().unwrap();
    let mode = s.remove("completionMode").unwrap();
    s.insert("completionMod".into(), mode);
    let e = errors(&v, &typo);
    assert!(e.iter().any(|e| e.contains("completionMod") && e.ends_with("at /spec")), "{e:?}");

    let mut text = job.clone();
    text["spec"]["completions"] = Value::from("twelve");
    let e = errors(&v, &text);
    assert!(e.iter().any(|e| e.ends_with("at /spec/completions")), "{e:?}");

    let mut field = merge.clone();
    field["spec"]["template"]["spec"]["containers"][0]["comand"] = Value::from("x");
    let e = errors(&v, &field);
    assert!(e.iter().any(|e| e.contains("comand") && e.ends_with("at /spec/template/spec/containers/0")), "{e:?}");
}

/// Six fast cells (two strategies by three seeds).
const FAST: &str =
    "name: cluster_cells\ndata: { dataset: iris }\nclients:\n  count: 6\n  profiles:\n    - name: p\n      \
                    share: 1\n      compute: { samples_per_s: 100 }\n      network: { latency: { dist: lognormal, \
                    median_ms: 50, sigma: 0.5 }, up_mbps: 1, down_mbps: 5 }\nstrategy: { kind: fedavg, \
                    clients_per_round: 3 }\nstop: { rounds: 5 }\nsweep:\n  strategy.kind: [fedavg, fedbuff]\n  \
                    seed: [1, 2, 3]\n";

#[test]
fn the_slurm_scripts_run_as_slurm_runs_them_give_the_local_sweeps_tables() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("s.yaml");
    std::fs::write(&scenario, FAST).unwrap();
    let dir = tmp.path().join("slurm");
    let stdout = ok(&fedsim(&["sweep", scenario.to_str().unwrap(), "--emit", "slurm", dir.to_str().unwrap()]));
    assert!(stdout.contains("submit with `sh "), "{stdout}");
    let cells = read(&dir.join("sweep.sbatch"));
    // Six cells, the default throttle, this test's binary.
    assert!(cells.lines().any(|l| l == "#SBATCH --array=0-5%8"), "{cells}");
    assert!(cells.contains(&format!("exec {} sweep", env!("CARGO_BIN_EXE_fedsim"))), "{cells}");
    assert!(dir.join("logs").is_dir(), "sbatch does not create the log folder");

    // What Slurm does: each task runs the script with its index (in the
    // reverse order, as a scheduler may), then the merge runs.
    for i in (0..6).rev() {
        let out = Command::new("bash")
            .arg(dir.join("sweep.sbatch"))
            .env("SLURM_ARRAY_TASK_ID", i.to_string())
            .env("SLURM_CPUS_PER_TASK", "1")
            .output()
            .unwrap();
        ok(&out);
    }
    // A requeued task that finds its cell complete does nothing.
    let before = std::fs::metadata(dir.join("cells/2/metrics.csv")).unwrap().modified().unwrap();
    let again = Command::new("bash")
        .arg(dir.join("sweep.sbatch"))
        .env("SLURM_ARRAY_TASK_ID", "2")
        .env("SLURM_CPUS_PER_TASK", "1")
        .output()
        .unwrap();
    ok(&again);
    assert_eq!(std::fs::metadata(dir.join("cells/2/metrics.csv")).unwrap().modified().unwrap(), before);
    ok(&Command::new("bash").arg(dir.join("merge.sbatch")).output().unwrap());

    let local = tmp.path().join("local");
    ok(&fedsim(&["sweep", scenario.to_str().unwrap(), "--out", local.to_str().unwrap()]));
    for f in ["sweep.csv", "sweep_runs.csv"] {
        assert_eq!(read(&local.join(f)), read(&dir.join(f)), "{f}");
    }
}

#[test]
fn bad_emit_arguments_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("s.yaml");
    std::fs::write(&scenario, FAST).unwrap();
    let s = scenario.to_str().unwrap();
    let d = tmp.path().join("d");
    let d = d.to_str().unwrap();
    let stderr = |out: Output| {
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = stderr(fedsim(&["sweep", s, "--emit", "pbs", d]));
    assert!(e.contains("--emit: expected slurm or k8s, found \"pbs\""), "{e}");
    let e = stderr(fedsim(&["sweep", s, "--emit", "slurm", d, "--throttle", "0"]));
    assert!(e.contains("--throttle: expected at least 1 cell at once, found 0"), "{e}");
    let spaced = tmp.path().join("my runs");
    let e = stderr(fedsim(&["sweep", s, "--emit", "slurm", spaced.to_str().unwrap()]));
    assert!(e.contains("expected a path without spaces"), "{e}");
    let e = stderr(fedsim(&["sweep", s, "--emit", "slurm", d, "--out", d]));
    assert!(e.contains("cannot be used with"), "{e}");
}
