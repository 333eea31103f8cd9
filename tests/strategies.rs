//! Every strategy kind runs end to end from YAML on the shared actors and
//! learns; the keys that tune them change the outcome.

mod common;
use common::run_yaml;

fn scenario(strategy: &str) -> String {
    format!(
        r#"
name: every-strategy
seed: 11
data: {{ dataset: digits, partition: {{ kind: dirichlet, alpha: 1.0 }} }}
clients:
  count: 12
  profiles:
    - {{ name: p, share: 1.0, compute: {{ samples_per_s: 100, jitter: {{ dist: exponential, mean_ms: 300 }} }}, network: {{ latency: {{ dist: constant, ms: 20 }}, up_mbps: 10, down_mbps: 10 }} }}
model: {{ kind: softmax_regression }}
strategy: {strategy}
stop: {{ rounds: 12 }}
"#
    )
}

/// Each kind learns about as well as it does: the floors sit 1.5 to 3.5
/// points under the measured final accuracy (in the comments; chance is
/// 0.10), so a strategy that learns visibly worse fails.
#[test]
fn every_kind_runs_and_learns() {
    for (strategy, min_acc) in [
        ("{ kind: fedavg, clients_per_round: 8 }", 0.90),           // 0.919
        ("{ kind: fedprox, clients_per_round: 8, mu: 0.1 }", 0.90), // 0.919
        ("{ kind: fedavgm, clients_per_round: 8, server_momentum: 0.5 }", 0.90), // 0.925
        ("{ kind: fedadagrad, clients_per_round: 8, server_learning_rate: 0.05 }", 0.89), // 0.914
        ("{ kind: fedadam, clients_per_round: 8, server_learning_rate: 0.05 }", 0.89), // 0.914
        ("{ kind: fedyogi, clients_per_round: 8, server_learning_rate: 0.05 }", 0.89), // 0.914
        ("{ kind: fedmedian, clients_per_round: 8 }", 0.89),        // 0.914
        ("{ kind: trimmed_mean, clients_per_round: 8, trim_fraction: 0.25 }", 0.90), // 0.919
        ("{ kind: krum, clients_per_round: 8, byzantine: 1 }", 0.83), // 0.853
        ("{ kind: multikrum, clients_per_round: 8, byzantine: 1, keep: 4 }", 0.85), // 0.878
        ("{ kind: fedasync, concurrency: 6, mixing: 0.5 }", 0.80),  // 0.836
        ("{ kind: fedbuff, concurrency: 6, buffer_size: 3 }", 0.87), // 0.889
    ] {
        let ran = run_yaml(&scenario(strategy), 2);
        let s = &ran.result.summary;
        assert_eq!(s.rounds, 12, "{strategy}");
        assert!(s.final_accuracy >= min_acc, "{strategy}: accuracy {}", s.final_accuracy);
        assert!(strategy.contains(&format!("kind: {},", s.strategy)), "{strategy} ran as {}", s.strategy);
    }
}

/// The final loss (after 12 rounds) of a strategy on the scenario above.
fn loss(strategy: &str) -> f64 {
    run_yaml(&scenario(strategy), 1).result.rows.last().unwrap().loss
}

/// The same figure within a relative tolerance: one model computed along
/// two code paths (summation order may differ in the last bits).
fn same(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 1e-9 * a.abs(), "{what}: {a} vs {b}");
}

/// `b / a` lies in `band` (a measured ratio, with room on both sides).
fn ratio(a: f64, b: f64, band: std::ops::Range<f64>, what: &str) {
    let r = b / a;
    assert!(band.contains(&r), "{what}: {b} / {a} = {r}, expected in {band:?}");
}

// Each tuning key is checked two ways where it can be: a value at which the
// strategy must reduce exactly to a simpler one (which catches a key read
// from the wrong place), and the direction and size of its effect on the
// final loss, run once with the seed above (runs are deterministic for a
// seed, whatever the threads). The bands bracket the measured figure
// (written beside each) so that the opposite direction, or an effect half
// or twice as large, fails. FedAvg's final loss is 0.4622.

#[test]
fn fedprox_mu_pulls_towards_the_global_model_and_slows_learning() {
    let fedavg = loss("{ kind: fedavg, clients_per_round: 8 }");
    same(fedavg, loss("{ kind: fedprox, clients_per_round: 8, mu: 0.0 }"), "FedProx with mu 0 is FedAvg");
    // A proximal pull of mu = 1 holds each client near the global model:
    // less progress per round, loss 0.5209 (x1.127).
    ratio(fedavg, loss("{ kind: fedprox, clients_per_round: 8, mu: 1.0 }"), 1.05..1.3, "strategy.mu");
}

#[test]
fn fedavgm_momentum_accelerates_and_flower_compat_drops_it() {
    let fedavg = loss("{ kind: fedavg, clients_per_round: 8 }");
    let m = |x: f64| loss(&format!("{{ kind: fedavgm, clients_per_round: 8, server_momentum: {x} }}"));
    same(fedavg, m(0.0), "FedAvgM without momentum is FedAvg");
    // Momentum 0.9 (the default) carries the past rounds' steps: 0.2395
    // (x0.518).
    ratio(fedavg, m(0.9), 0.35..0.7, "strategy.server_momentum");
    // Flower's FedAvgM defaults to no momentum.
    let flower = |on: bool| loss(&format!("{{ kind: fedavgm, clients_per_round: 8, flower_compat: {on} }}"));
    same(flower(false), m(0.9), "the default momentum is 0.9");
    same(flower(true), fedavg, "Flower's FedAvgM momentum is 0");
}

#[test]
fn fedadam_keys_move_the_loss_their_way() {
    let adam = |k: &str| loss(&format!("{{ kind: fedadam, clients_per_round: 8, {k} }}"));
    let base = adam("beta1: 0.9"); // 0.2678: the defaults.
                                   // A larger tau damps the adaptive step m / (sqrt(v) + tau) where the
                                   // second moment is small: slower, 0.6643 (x2.48).
    ratio(base, adam("tau: 0.1"), 1.6..3.5, "strategy.tau");
    // Five times the server rate: steps of about 0.5 per coordinate and
    // round overshoot into confident, badly calibrated logits: 0.7454
    // (x2.78).
    ratio(base, adam("server_learning_rate: 0.5"), 1.8..4.0, "strategy.server_learning_rate");
    // Less first-moment memory follows the latest rounds' updates, which
    // here still point downhill: 0.2258 (x0.843), and without momentum
    // 0.2097 (x0.783).
    ratio(base, adam("beta1: 0.5"), 0.75..0.95, "strategy.beta1");
    ratio(base, adam("beta1: 0.0"), 0.65..0.9, "strategy.beta1");
    // A short second-moment memory (0.5) makes sqrt(v) track the latest
    // update's size, shrinking the steps of consistent coordinates: 0.3686
    // (x1.376).
    ratio(base, adam("beta2: 0.5"), 1.15..1.8, "strategy.beta2");
    // Flower's FedAdam: tau 1e-9 and a bias-corrected rate
    // eta * sqrt(1 - beta2^t) / (1 - beta1^t), which is below the plain
    // rule's effective step after round 1 (0.2924, x1.092); tau 1e-9 alone
    // takes sign-like steps and overshoots (0.4067, x1.519).
    let tiny_tau = adam("tau: 0.000000001");
    ratio(base, tiny_tau, 1.25..2.0, "strategy.tau (small)");
    ratio(base, adam("flower_compat: true"), 1.03..1.25, "strategy.flower_compat (fedadam)");
    ratio(tiny_tau, adam("flower_compat: true"), 0.6..0.85, "fedadam's bias correction");
}

#[test]
fn flower_compat_sets_flowers_defaults_and_keeps_explicit_keys() {
    // What flower_compat changes for FedYogi and FedAdagrad is exactly a
    // default: the server rate 0.01 (yogi) and tau 1e-9 (adagrad).
    let l = |k: &str| loss(&format!("{{ kind: {k}, clients_per_round: 8 }}"));
    let yogi = l("fedyogi, flower_compat: true");
    same(yogi, l("fedyogi, server_learning_rate: 0.01"), "Flower's FedYogi rate is 0.01");
    // A tenth of the rate: slower, 0.5081 against 0.2668 (x1.904).
    ratio(l("fedyogi"), yogi, 1.5..2.5, "strategy.flower_compat (fedyogi)");
    same(l("fedadagrad, flower_compat: true"), l("fedadagrad, tau: 0.000000001"), "Flower's FedAdagrad tau");
    // Explicit keys are kept either way: FedYogi with its keys given is
    // Flower's rule already.
    let pinned = |on: bool| {
        loss(&format!(
            "{{ kind: fedyogi, clients_per_round: 8, server_learning_rate: 0.05, tau: 0.001, flower_compat: {on} }}"
        ))
    };
    assert_eq!(pinned(false), pinned(true), "fedyogi with its keys given is Flower's rule already");
}

#[test]
fn robust_aggregators_keys_trade_information_for_robustness() {
    let trim = |x: f64| loss(&format!("{{ kind: trimmed_mean, clients_per_round: 8, trim_fraction: {x} }}"));
    let mean = trim(0.0); // 0.4794: the unweighted mean of the 8 updates.
                          // Multi-Krum keeping all 8 averages them all: the same unweighted mean.
    same(mean, loss("{ kind: multikrum, clients_per_round: 8, keep: 8 }"), "Multi-Krum keeping all is the mean");
    // Trimming 2 of 8 at each end discards non-IID clients' information
    // per coordinate: 0.5572 (x1.162).
    ratio(mean, trim(0.25), 1.05..1.4, "strategy.trim_fraction");
    // Averaging 2 updates instead of 6: noisier, 0.6895 against 0.5333
    // (x1.293).
    let mk = |keep: u32| loss(&format!("{{ kind: multikrum, clients_per_round: 8, keep: {keep} }}"));
    ratio(mk(6), mk(2), 1.12..1.6, "strategy.keep");
    // Krum is Multi-Krum keeping 1, and its f sets how many neighbours
    // score a candidate (n - f - 2): with f = 2 it picks an update that is
    // worse here, 0.8320 against 0.6931 (x1.200).
    let kr = |f: u32| loss(&format!("{{ kind: krum, clients_per_round: 8, byzantine: {f} }}"));
    same(kr(2), loss("{ kind: multikrum, clients_per_round: 8, byzantine: 2, keep: 1 }"), "Krum is Multi-Krum keep 1");
    ratio(kr(0), kr(2), 1.08..1.4, "strategy.byzantine");
}

#[test]
fn async_keys_move_the_outcome_their_way() {
    let asy = |k: &str| run_yaml(&scenario(&format!("{{ kind: fedasync, concurrency: 6, {k} }}")), 1).result;
    let acc = |k: &str| asy(k).summary.final_accuracy;
    // Mixing 0.9 makes each version mostly the latest client's model,
    // trained on its skewed (Dirichlet) share: accuracy 0.725 against
    // 0.8417 at mixing 0.3.
    let (low, high) = (acc("mixing: 0.3"), acc("mixing: 0.9"));
    assert!((0.06..0.2).contains(&(low - high)), "strategy.mixing: accuracy {low} at 0.3, {high} at 0.9");
    // A hinge with b = 0 weighs every stale update by 1 / (10 t + 1): far
    // smaller steps than a constant weight, loss 1.9038 against 1.3589
    // (x1.401; the initial loss is ln 10 = 2.3026).
    let l = |k: &str| asy(k).rows.last().unwrap().loss;
    ratio(
        l("staleness: { fn: constant }"),
        l("staleness: { fn: hinge, a: 10, b: 0 }"),
        1.2..1.65,
        "strategy.staleness",
    );

    let buff = |k: &str| run_yaml(&scenario(&format!("{{ kind: fedbuff, concurrency: 6, {k} }}")), 1).result;
    let l = |k: &str| buff(k).rows.last().unwrap().loss;
    // Half the server step: slower, 0.9627 against 0.6047 (x1.592).
    ratio(
        l("buffer_size: 3, server_learning_rate: 1.0"),
        l("buffer_size: 3, server_learning_rate: 0.5"),
        1.3..2.0,
        "fedbuff server_learning_rate",
    );
    // Twice the buffer: each of the 12 versions waits for twice the
    // updates at the same throughput (6 clients busy), so the run takes
    // about twice the virtual time (12.010 s against 6.451 s, x1.862) and
    // learns from twice the updates (loss 0.5929 against 0.6431).
    let (two, four) = (buff("buffer_size: 2"), buff("buffer_size: 4"));
    ratio(two.summary.virtual_time_s, four.summary.virtual_time_s, 1.6..2.2, "strategy.buffer_size (time)");
    ratio(two.rows.last().unwrap().loss, four.rows.last().unwrap().loss, 0.8..0.97, "strategy.buffer_size (loss)");
}
