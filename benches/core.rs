//! Criterion benches of fedsim's hot paths: the local SGD step (the
//! arithmetic every run is made of), the event queue, the event log, and a
//! whole parity run through the actors against a bare loop of the same math,
//! and the outputs of the throughput workload on their own.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use fedsim::data::{self, ClientData, FederatedData};
use fedsim::metrics::Recorder;
use fedsim::model::{Architecture, LocalTraining, OptimizerSpec};
use fedsim::report::{ClientsTable, Roster, RoundsCsv};
use fedsim::run::{run, RunOptions};
use fedsim::scenario::{load_file, CsvSpec, DataSource, DataSpec, ModelSpec, Normalize, Partition, SyntheticSpec};
use fedsim::sim::log::WRITE_CHUNK;
use fedsim::sim::{
    Batched, Detail, Event, EventKind, EventQueue, EventSink, JsonLines, RoundClose, SeedTree, VirtualTime,
};
use std::fs::File;
use std::hint::black_box;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

fn parity_data(clients: usize) -> FederatedData {
    let spec = DataSpec {
        source: DataSource::Csv(CsvSpec {
            path: Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bench/digits_shuffled_seed0.csv"),
            label_column: "label".into(),
        }),
        test_fraction: 0.2,
        shuffle: false,
        normalize: Normalize::None,
        partition: Partition::Iid,
    };
    data::load(&spec, clients, SeedTree::new(0)).unwrap()
}

fn training() -> LocalTraining {
    LocalTraining {
        epochs: 1,
        batch_size: 32,
        learning_rate: 0.1,
        shuffle: false,
        weight_decay: 0.0,
        prox_mu: 0.0,
        optimizer: OptimizerSpec::Sgd,
    }
}

/// A bare loop of the workload's local training, the yardstick for
/// `Architecture::train` (same math, written out flat).
#[allow(clippy::needless_range_loop)] // written as the plain index loop it stands for
fn bare_round_flat(fd: &FederatedData, global: &[f64], next: &mut [f64], local: &mut [f64], g: &mut [f64]) {
    let (f, c) = (fd.n_features, fd.n_classes);
    let total = fd.clients.total_rows() as usize;
    let mut z = [0.0f64; 64];
    next.fill(0.0);
    let ClientData::Table { train, rows: all_rows, offsets } = &fd.clients else { panic!("a table") };
    for w in offsets.windows(2) {
        let rows = &all_rows[w[0] as usize..w[1] as usize];
        local.copy_from_slice(global);
        for batch in rows.chunks(32) {
            g.fill(0.0);
            for &r in batch {
                let r = r as usize;
                let x = &train.x[r * f..(r + 1) * f];
                for k in 0..c {
                    z[k] = local[f * c + k];
                }
                for j in 0..f {
                    let xj = x[j] as f64;
                    for k in 0..c {
                        z[k] += xj * local[j * c + k];
                    }
                }
                let max = z[..c].iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let mut s = 0.0;
                for k in 0..c {
                    z[k] = (z[k] - max).exp();
                    s += z[k];
                }
                for k in 0..c {
                    z[k] /= s;
                }
                z[train.y[r] as usize] -= 1.0;
                for j in 0..f {
                    let xj = x[j] as f64;
                    for k in 0..c {
                        g[j * c + k] += xj * z[k];
                    }
                }
                for k in 0..c {
                    g[f * c + k] += z[k];
                }
            }
            let m = batch.len() as f64;
            for (p, gi) in local.iter_mut().zip(g.iter()) {
                *p -= 0.1 * (gi / m);
            }
        }
        let w = rows.len() as f64 / total as f64;
        for (n, l) in next.iter_mut().zip(local.iter()) {
            *n += w * l;
        }
    }
}

/// A parity round as a bare loop: 650-parameter buffers reused, no actors.
fn bare_round(_arch: &Architecture, d: &FederatedData, global: &mut Vec<f64>) {
    let (mut next, mut local, mut g) = (vec![0.0; 650], vec![0.0; 650], vec![0.0; 650]);
    bare_round_flat(d, global, &mut next, &mut local, &mut g);
    *global = next;
}

fn math(c: &mut Criterion) {
    let d = parity_data(10);
    let arch = Architecture::new(&ModelSpec::SoftmaxRegression, 64, 10).unwrap();
    let cfg = training();
    c.bench_function("softmax_sgd_epoch_144_rows", |b| {
        b.iter_batched(
            || vec![0.0; 650],
            |mut p| d.clients.with_client(0, |train, rows| arch.train(&mut p, train, rows, &cfg, 0)),
            BatchSize::SmallInput,
        )
    });
    let g = vec![0.01; 650];
    c.bench_function("softmax_evaluate_360_rows", |b| b.iter(|| black_box(arch.evaluate(&g, &d.test))));
    let d100 = parity_data(100);
    c.bench_function("bare_loop_parity_N100_round", |b| {
        b.iter_batched(|| vec![0.0; 650], |mut g| bare_round(&arch, &d100, &mut g), BatchSize::SmallInput)
    });
}

fn kernel(c: &mut Criterion) {
    c.bench_function("queue_push_pop_10k", |b| {
        b.iter(|| {
            let mut q = EventQueue::new(1);
            for i in 0..10_000u64 {
                q.push(VirtualTime::from_nanos(i.wrapping_mul(0x9e37_79b9) % 1_000_000), None, i);
            }
            while let Some(x) = q.pop() {
                black_box(x);
            }
        })
    });
    let e = Event::new(VirtualTime::from_nanos(12_345_678_901), EventKind::Report, Some(42), 7).bytes(2600);
    let mut buf = Vec::with_capacity(1 << 20);
    c.bench_function("event_json_line", |b| {
        b.iter(|| {
            buf.clear();
            e.write_json(&mut buf).unwrap();
            black_box(buf.len())
        })
    });
}

fn whole_run(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/bench/parity_N100.yaml");
    let scenario = load_file(&path, &["stop.rounds=5".parse().unwrap()]).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let opts = RunOptions { out: Some(tmp.path().join("run")), threads: 1, ..RunOptions::default() };
    let mut group = c.benchmark_group("parity_N100_5_rounds");
    group.sample_size(10);
    group.bench_function("fedsim_run_1_thread", |b| b.iter(|| run(&scenario, &opts, &mut |_| {}).unwrap()));
    let d = parity_data(100);
    let arch = Architecture::new(&ModelSpec::SoftmaxRegression, 64, 10).unwrap();
    group.bench_function("bare_loop", |b| {
        b.iter(|| {
            let mut g = vec![0.0; 650];
            for _ in 0..5 {
                bare_round(&arch, &d, &mut g);
                black_box(arch.evaluate(&g, &d.test));
            }
        })
    });
    group.finish();
}

/// Data loading: the parity CSV (parse, split, partition) and a synthetic
/// set of 200,000 x 60 (draw, split, standard normalisation, partition).
fn loading(c: &mut Criterion) {
    let mut group = c.benchmark_group("data_load");
    group.sample_size(10);
    group.bench_function("parity_csv_1797x64", |b| b.iter(|| black_box(parity_data(10))));
    let spec = DataSpec {
        source: DataSource::Synthetic(SyntheticSpec {
            features: 60,
            classes: 10,
            samples: 200_000,
            alpha: 1.0,
            beta: 1.0,
            per_client: false,
        }),
        test_fraction: 0.02,
        shuffle: false,
        normalize: Normalize::Standard,
        partition: Partition::Iid,
    };
    group.bench_function("synthetic_200k_x60_standard", |b| {
        b.iter(|| black_box(data::load(&spec, 20_000, SeedTree::new(1)).unwrap()))
    });
    group.finish();
}

/// The event stream of `scenarios/bench/async_throughput.yaml` in shape:
/// 100,000 FedAsync tasks of six events each (dispatch, download_done,
/// compute_done, report, aggregate, model) over 1,000 clients.
fn throughput_events() -> Vec<Event> {
    let mut events = Vec::with_capacity(600_000);
    let ms = |t: u64| VirtualTime::from_nanos(t * 1_000_003);
    for v in 0..100_000u64 {
        let (c, t) = ((v * 7919 % 1000) as u32, v * 13 / 10);
        events.push(Event::new(ms(t), EventKind::Dispatch, Some(c), v).bytes(60));
        events.push(Event::new(ms(t + 41), EventKind::DownloadDone, Some(c), v + 31).bytes(60));
        events.push(Event::new(ms(t + 97), EventKind::ComputeDone, Some(c), v + 74));
        events.push(
            Event::new(ms(t + 140), EventKind::Report, Some(c), v + 107).bytes(60).detail(Detail::Staleness(107)),
        );
        let close = Detail::Aggregation { updates: 1, close: RoundClose::Update };
        events.push(Event::new(ms(t + 140), EventKind::Aggregate, None, v + 108).detail(close));
        let digest = Detail::Digest([(v % 251) as u8; 32]);
        events.push(Event::new(ms(t + 140), EventKind::Model, None, v + 108).detail(digest));
    }
    events
}

/// What the outputs alone cost on one thread, for the throughput
/// workload's 600,000 events: `events.jsonl` written to a file, and every
/// sink of the contract's files (the log, the metrics recorder, the two
/// tables, fed in batches as a run feeds them; `rounds.csv` is written as
/// its rounds close, `clients.csv` at the end).
/// The floor under the kernel's throughput with `--threads 1`.
fn outputs(c: &mut Criterion) {
    let events = throughput_events();
    let tmp = tempfile::tempdir().unwrap();
    let file = |name: &str| tmp.path().join(name);
    // Each run writes fresh files, as a run does (removing the last ones,
    // which frees their pages, is left out of the timing).
    let fresh = || {
        for name in ["events.jsonl", "clients.csv", "rounds.csv"] {
            let _ = std::fs::remove_file(file(name));
        }
    };
    let mut group = c.benchmark_group("outputs_600k_events");
    group.sample_size(10);
    group.bench_function("events_jsonl_formatted_only", |b| {
        b.iter(|| {
            let mut log = JsonLines::new(std::io::sink());
            log.record_all(&events).unwrap();
            log.finish().unwrap()
        })
    });
    group.bench_function("events_jsonl", |b| {
        b.iter_batched(
            fresh,
            |()| {
                let mut log = JsonLines::new(File::create(file("events.jsonl")).unwrap());
                log.record_all(&events).unwrap();
                log.finish().unwrap()
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("contract_sinks_and_tables", |b| {
        b.iter_batched(
            fresh,
            |()| {
                let log = JsonLines::new(File::create(file("events.jsonl")).unwrap());
                let recorder = Arc::new(Mutex::new(Recorder::default()));
                let clients = Arc::new(Mutex::new(ClientsTable::default()));
                let rounds_file = BufWriter::with_capacity(WRITE_CHUNK, File::create(file("rounds.csv")).unwrap());
                let rounds = Arc::new(Mutex::new(RoundsCsv::new(rounds_file).unwrap()));
                let sinks: Vec<Box<dyn EventSink + Send>> = vec![
                    Box::new(log),
                    Box::new(recorder.clone()),
                    Box::new(clients.clone()),
                    Box::new(rounds.clone()),
                ];
                let mut batched = Batched::inline(sinks);
                for e in &events {
                    batched.record(e).unwrap();
                }
                batched.flush().unwrap();
                drop(batched);
                let roster = Roster::new(vec!["phone".into()], vec![0; 1000].into(), |_| 1);
                let mut w = BufWriter::new(File::create(file("clients.csv")).unwrap());
                clients.lock().unwrap().write(&mut w, &roster).unwrap();
                w.flush().unwrap();
                let rounds = Arc::into_inner(rounds).unwrap().into_inner().unwrap();
                rounds.finish(VirtualTime::from_nanos(u64::MAX / 2)).unwrap();
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, math, kernel, whole_run, loading, outputs);
criterion_main!(benches);
