//! `policy-bench`: times every GPU policy's `validate` through the waPC host
//! and natively, and writes a markdown report (default
//! `target/bench/report.md`). Run through `make bench` (after `make build`
//! and `make build-fixtures`) or:
//!
//! ```text
//! cargo run --release -p policy-bench -- [--quick] [--rounds N]
//!     [--wasm-dir DIR] [--out FILE] [--policy NAME]... [--request LABEL]...
//!     [--no-native] [--no-overhead] [--no-evaluator] [--extra MODULE.wasm]...
//! cargo run --release -p policy-bench -- --profile MODE
//!     --policy NAME --request LABEL [--calls N]      # for valgrind/perf
//! cargo run --release -p policy-bench -- --write-noop FILE.wasm
//! ```
//!
//! MODE: native, wasm, evaluator, evaluator-noop, evaluator-sdk-floor,
//! evaluator-steps, host-json.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use gpu_policy_core::PolicyInfo;
use policy_bench::policies::{REQUESTS, Request, data_dir, native_validate};
use policy_bench::stats::Summary;
use policy_bench::timing::{self, Budget};
use policy_bench::{noop_guest, phases};
use policy_cases::InMemoryCluster;
use policy_registry::POLICIES;
use policy_runner::{
    CompiledPolicy, HostCallOutcome, ModuleCache, PolicyOptions, PolicyRunner, ReplaySession,
    ValidationResponse, admission_request,
};
use serde_json::{Value, json};

/// Budgets (tools/policy-bench/README.md, "Budgets"): size and the warm
/// figures checked on the GPU-pod request, the evaluator path on
/// [`EVALUATOR_BUDGET_REQUESTS`].
const MAX_WASM_BYTES: u64 = 600_000;
const MAX_RATIO: f64 = 2.0;
const MAX_WASM_MEDIAN_US: f64 = 40.0;
/// Evaluator path: at most this many times the no-op floor...
const MAX_FLOOR_RATIO: f64 = 1.2;
/// ...and at most this share of the cheapest `--extra` module's cost above
/// the floor.
const MAX_SHARE_OF_EXTRA: f64 = 0.25;
/// The fixture timed as the Kubewarden Rust SDK's floor.
const SDK_FLOOR: &str = "sdk-noop";
/// The requests the evaluator-path budgets are checked on: the GPU pod, the
/// 10-container Deployment, the MIG CronJob and a DRA pod.
const EVALUATOR_BUDGET_REQUESTS: [&str; 4] = [
    "gpu-pod",
    "deployment-10c-20t",
    "cronjob-mig",
    "dra-claim-pod",
];

struct Options {
    quick: bool,
    rounds: usize,
    wasm_dir: PathBuf,
    out: PathBuf,
    policies: Vec<String>,
    requests: Vec<String>,
    native: bool,
    overhead: bool,
    /// Time the evaluator path (a fresh instance per evaluation).
    evaluator: bool,
    profile: Option<String>,
    calls: usize,
    /// Write the no-op guest's module here and stop (for kwctl bench).
    write_noop: Option<PathBuf>,
    /// Other waPC modules timed on the evaluator path beside ours
    /// (Kubewarden's own policies, say).
    extra: Vec<PathBuf>,
}

impl Options {
    fn budget(&self) -> Budget {
        if self.quick {
            Budget::quick()
        } else {
            Budget::standard()
        }
    }
}

fn parse_args() -> Result<Options> {
    let root = policy_bench::policies::workspace_root();
    let mut o = Options {
        quick: false,
        rounds: 3,
        wasm_dir: root.join("target/policies"),
        out: root.join("target/bench/report.md"),
        policies: Vec::new(),
        requests: Vec::new(),
        native: true,
        overhead: true,
        evaluator: true,
        profile: None,
        calls: 20_000,
        write_noop: None,
        extra: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--quick" => o.quick = true,
            "--rounds" => o.rounds = value("--rounds")?.parse().context("--rounds")?,
            "--wasm-dir" => o.wasm_dir = PathBuf::from(value("--wasm-dir")?),
            "--out" => o.out = PathBuf::from(value("--out")?),
            "--policy" => o.policies.push(value("--policy")?),
            "--request" => o.requests.push(value("--request")?),
            "--no-native" => o.native = false,
            "--no-overhead" => o.overhead = false,
            "--no-evaluator" => o.evaluator = false,
            "--profile" => o.profile = Some(value("--profile")?),
            "--calls" => o.calls = value("--calls")?.parse().context("--calls")?,
            "--write-noop" => o.write_noop = Some(PathBuf::from(value("--write-noop")?)),
            "--extra" => o.extra.push(PathBuf::from(value("--extra")?)),
            "-h" | "--help" => {
                println!("{}", include_str!("../README.md"));
                std::process::exit(0);
            }
            other => bail!("unknown argument {other} (see --help)"),
        }
    }
    if o.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    for p in &o.policies {
        if policy_registry::get(p).is_none() {
            bail!(
                "unknown policy {p} (one of {})",
                policy_registry::names().collect::<Vec<_>>().join(", ")
            );
        }
    }
    for r in &o.requests {
        if !REQUESTS.iter().any(|x| x.label == r) {
            bail!(
                "unknown request {r} (one of {})",
                REQUESTS.map(|r| r.label).join(", ")
            );
        }
    }
    Ok(o)
}

/// A request loaded from `data/`, with kwctl's validate payload for it and
/// its replay session: for the wasm host as it is, natively loaded into an
/// in-memory cluster.
struct Loaded {
    request: Request,
    value: Value,
    payload: Vec<u8>,
    session: ReplaySession,
    cluster: InMemoryCluster,
}

fn settings() -> Value {
    json!({})
}

fn load_request(request: Request) -> Result<Loaded> {
    let path = data_dir().join(request.file);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let value: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    // Exactly the bytes PolicyRunner::validate hands the guest.
    let payload = serde_json::to_vec(&json!({
        "request": admission_request(&value)?,
        "settings": settings(),
    }))?;
    let session = ReplaySession::from_file(&data_dir().join("sessions").join(request.session))?;
    let cluster = InMemoryCluster::from_replay(session.clone());
    Ok(Loaded {
        request,
        value,
        payload,
        session,
        cluster,
    })
}

fn wasm_path(dir: &Path, policy: &str) -> PathBuf {
    dir.join(format!("{policy}.wasm"))
}

/// What an instance of `policy` is given for `req`: its metadata's
/// contextAwareResources and, when it reads the cluster, the request's
/// replay session.
fn instance_options(policy: &PolicyInfo, req: &Loaded) -> Result<PolicyOptions> {
    let metadata = policy_bench::policies::workspace_root()
        .join("policies")
        .join(policy.name)
        .join("metadata.yml");
    let mut options = PolicyOptions::default().metadata_file(&metadata)?;
    if policy.context_aware {
        options = options.host_capabilities(Arc::new(req.session.clone()));
    }
    Ok(options)
}

fn instantiate(
    compiled: &CompiledPolicy,
    policy: &PolicyInfo,
    req: &Loaded,
) -> Result<PolicyRunner> {
    compiled.instantiate(instance_options(policy, req)?)
}

/// One evaluation as policy-server's evaluator makes it: a fresh instance
/// of the compiled module (instantiation and the waPC start-up), then one
/// `validate` with the settings sent along, then the instance dropped.
fn evaluate_fresh(compiled: &CompiledPolicy, options: &PolicyOptions, req: &Loaded) -> bool {
    compiled
        .instantiate(options.clone())
        .and_then(|runner| runner.validate(&req.value, &settings()))
        .is_ok()
}

/// One wasm call, failing on anything a benchmark must not silently time
/// (a guest error, a lookup the session cannot answer).
fn checked_wasm(runner: &PolicyRunner, req: &Loaded) -> Result<ValidationResponse> {
    let response = runner.validate(&req.value, &settings())?;
    for call in runner.host_calls() {
        if !matches!(call.outcome, HostCallOutcome::Answered) {
            bail!(
                "{}: host call not answered on {}: {call}",
                runner.label(),
                req.request.label
            );
        }
    }
    Ok(response)
}

fn decision(r: &ValidationResponse) -> String {
    if r.mutated_object.is_some() {
        "mutate".to_owned()
    } else if r.accepted {
        "accept".to_owned()
    } else {
        "reject".to_owned()
    }
}

/// What is timed, and its samples.
struct Job<'a> {
    kind: &'static str,
    policy: &'static str,
    request: &'static str,
    call: Box<dyn FnMut() -> bool + 'a>,
    samples: Vec<u64>,
    failed: bool,
}

impl<'a> Job<'a> {
    fn new(
        kind: &'static str,
        policy: &'static str,
        request: &'static str,
        call: impl FnMut() -> bool + 'a,
    ) -> Self {
        Self {
            kind,
            policy,
            request,
            call: Box::new(call),
            samples: Vec::new(),
            failed: false,
        }
    }

    fn validate(
        kind: &'static str,
        policy: &'static str,
        req: &'a Loaded,
        runner: &'a PolicyRunner,
    ) -> Self {
        Self::new(kind, policy, req.request.label, move || {
            runner.validate(&req.value, &settings()).is_ok()
        })
    }
}

struct ModuleInfo {
    name: &'static str,
    bytes: u64,
    compile: Duration,
    instantiate: Duration,
}

fn main() -> Result<()> {
    let options = parse_args()?;
    if let Some(path) = &options.write_noop {
        return std::fs::write(path, noop_guest::module()?)
            .with_context(|| format!("writing {}", path.display()));
    }
    if let Some(mode) = options.profile.clone() {
        return profile(&options, &mode);
    }
    let budget = options.budget();
    let policies: Vec<&PolicyInfo> = POLICIES
        .iter()
        .filter(|p| options.policies.is_empty() || options.policies.iter().any(|n| n == p.name))
        .collect();
    let requests: Vec<Loaded> = REQUESTS
        .into_iter()
        .filter(|r| options.requests.is_empty() || options.requests.iter().any(|n| n == r.label))
        .map(load_request)
        .collect::<Result<_>>()?;

    // Compile and instantiate everything first (load time is its own column).
    let mut infos = Vec::new();
    let mut runners: Vec<(&PolicyInfo, &Loaded, PolicyRunner, String)> = Vec::new();
    // For the evaluator path: each compiled module, and each instance's
    // options made once, outside the timed calls.
    let mut fresh: Vec<(&PolicyInfo, &Loaded, CompiledPolicy, PolicyOptions)> = Vec::new();
    for policy in &policies {
        let path = wasm_path(&options.wasm_dir, policy.name);
        let bytes = std::fs::metadata(&path)
            .with_context(|| format!("{} is missing: run `make build` first", path.display()))?
            .len();
        let compiled = CompiledPolicy::from_file(&path)?;
        let mut instantiate_time = None;
        for req in &requests {
            let runner = instantiate(&compiled, policy, req)?;
            instantiate_time.get_or_insert(runner.load_timings().instantiate);
            let wasm = checked_wasm(&runner, req)?;
            let native: ValidationResponse =
                serde_json::from_slice(&native_validate(policy, &req.payload, &req.cluster)?)?;
            if let Some(call) = req
                .cluster
                .host_calls()
                .into_iter()
                .find(|c| c.outcome != policy_cases::HostCallOutcome::Answered)
            {
                bail!(
                    "{}: native lookup not answered on {}: {call}",
                    policy.name,
                    req.request.label
                );
            }
            if wasm.accepted != native.accepted || wasm.message != native.message {
                bail!(
                    "{} on {}: wasm and native disagree: wasm {:?} / native {:?}",
                    policy.name,
                    req.request.label,
                    wasm.message,
                    native.message
                );
            }
            runners.push((policy, req, runner, decision(&wasm)));
        }
        infos.push(ModuleInfo {
            name: policy.name,
            bytes,
            compile: compiled.compile_time(),
            instantiate: instantiate_time.unwrap_or_default(),
        });
        if options.evaluator {
            for req in &requests {
                fresh.push((
                    policy,
                    req,
                    compiled.clone(),
                    instance_options(policy, req)?,
                ));
            }
        }
    }
    let noop = CompiledPolicy::from_bytes(&noop_guest::module()?, "no-op guest")?;
    let default_options = PolicyOptions::default();
    let noop_runners: Vec<(&Loaded, PolicyRunner)> = if options.overhead {
        requests
            .iter()
            .map(|r| Ok((r, noop.instantiate(PolicyOptions::default())?)))
            .collect::<Result<_>>()?
    } else {
        Vec::new()
    };
    let test_policy_path = wasm_path(&options.wasm_dir, "test-policy");
    let test_policy = match (options.overhead, requests.first()) {
        (true, Some(req)) if req.request.label == "gpu-pod" && test_policy_path.exists() => {
            let runner = CompiledPolicy::from_file(&test_policy_path)?
                .instantiate(PolicyOptions::default())?;
            checked_wasm(&runner, req)?;
            Some((req, runner))
        }
        _ => None,
    };
    // Extra modules: timed on the evaluator path only (against its floor),
    // with default options.
    let mut extras: Vec<(&'static str, CompiledPolicy)> = Vec::new();
    for path in options.extra.iter().filter(|_| options.evaluator) {
        let name = path.file_stem().map_or_else(
            || path.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        extras.push((
            Box::leak(name.into_boxed_str()),
            CompiledPolicy::from_file(path)?,
        ));
    }
    // The Kubewarden Rust SDK's floor (tests/fixtures/sdk-noop, built by
    // `make build-fixtures`): what any SDK policy pays before its own work.
    let sdk_floor_path = wasm_path(&options.wasm_dir, SDK_FLOOR);
    let sdk_floor = if options.evaluator && sdk_floor_path.exists() {
        Some(CompiledPolicy::from_file(&sdk_floor_path)?)
    } else {
        None
    };
    let mut jobs: Vec<Job> = Vec::new();
    for (policy, req, runner, _) in &runners {
        jobs.push(Job::validate("wasm", policy.name, req, runner));
        if options.native {
            let (payload, cluster) = (&req.payload, &req.cluster);
            let policy: &PolicyInfo = policy;
            jobs.push(Job::new(
                "native",
                policy.name,
                req.request.label,
                move || native_validate(policy, payload, cluster).is_ok(),
            ));
        }
    }
    for (req, runner) in &noop_runners {
        let value = &req.value;
        jobs.push(Job::validate("noop", "no-op guest", req, runner));
        jobs.push(Job::new(
            "host-json",
            "host JSON only",
            req.request.label,
            move || host_json(value).is_ok(),
        ));
        let empty = settings();
        jobs.push(Job::new(
            "host-json-borrowed",
            "host JSON borrowed",
            req.request.label,
            move || host_json_borrowed(value, &empty).is_ok(),
        ));
    }
    if let Some((req, runner)) = &test_policy {
        jobs.push(Job::validate("test-policy", "test-policy", req, runner));
    }
    for (policy, req, compiled, instance) in &fresh {
        jobs.push(Job::new(
            "evaluator",
            policy.name,
            req.request.label,
            move || evaluate_fresh(compiled, instance, req),
        ));
    }
    // The modules timed on the evaluator path with default options, beside
    // ours: the no-op floor, the SDK floor and the extras.
    let mut others: Vec<(&str, &str, &CompiledPolicy)> = Vec::new();
    if options.evaluator {
        others.push(("evaluator-noop", "no-op guest", &noop));
    }
    others.extend(
        sdk_floor
            .iter()
            .map(|c| ("evaluator-sdk-floor", SDK_FLOOR, c)),
    );
    others.extend(extras.iter().map(|(name, c)| ("evaluator-extra", *name, c)));
    for (kind, name, compiled) in others {
        for req in &requests {
            let default_options = &default_options;
            jobs.push(Job::new(kind, name, req.request.label, move || {
                evaluate_fresh(compiled, default_options, req)
            }));
        }
    }

    let load_before = load_average();
    let timer_ns = timing::timer_overhead_ns();
    let started = Instant::now();
    for round in 1..=options.rounds {
        eprintln!(
            "round {round}/{}: {} measurements...",
            options.rounds,
            jobs.len()
        );
        for job in &mut jobs {
            let call = &mut job.call;
            let mut ok = true;
            timing::run(budget, &mut job.samples, || {
                ok &= call();
            });
            job.failed |= !ok;
        }
    }
    // The evaluator path step by step, after the timed rounds.
    let mut steps: Vec<(&str, &str, phases::Phases)> = Vec::new();
    if options.evaluator {
        let calls = if options.quick { 200 } else { 1000 };
        for (policy, req, compiled, instance) in &fresh {
            let p = phases::measure(compiled, instance, &req.value, &settings(), calls)?;
            steps.push((policy.name, req.request.label, p));
        }
        for req in &requests {
            let p = phases::measure(&noop, &default_options, &req.value, &settings(), calls)?;
            steps.push(("no-op guest", req.request.label, p));
            if let Some(sdk) = &sdk_floor {
                let p = phases::measure(sdk, &default_options, &req.value, &settings(), calls)?;
                steps.push((SDK_FLOOR, req.request.label, p));
            }
        }
    }
    let load_after = load_average();
    if let Some(job) = jobs.iter().find(|j| j.failed) {
        bail!(
            "{} {} on {}: a timed call failed",
            job.kind,
            job.policy,
            job.request
        );
    }

    let report = render(&ReportInput {
        options: &options,
        requests: &requests,
        runners: &runners,
        infos: &infos,
        jobs: &jobs,
        steps: &steps,
        load_before: &load_before,
        load_after: &load_after,
        timer_ns,
        elapsed: started.elapsed(),
    });
    println!("{report}");
    if let Some(dir) = options.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&options.out, &report)
        .with_context(|| format!("writing {}", options.out.display()))?;
    eprintln!("report written to {}", options.out.display());
    Ok(())
}

/// The host-side JSON work of `PolicyRunner::validate` without the wasm call:
/// encode kwctl's payload from the request value, decode an answer.
/// (`json!` takes its values by value: the request `Value` is deep-copied
/// before it is written out.)
fn host_json(value: &Value) -> Result<ValidationResponse> {
    let payload = serde_json::to_vec(&json!({
        "request": admission_request(value)?,
        "settings": settings(),
    }))?;
    black_box(&payload);
    Ok(serde_json::from_slice(br#"{"accepted":true}"#)?)
}

#[derive(serde::Serialize)]
struct PayloadRef<'a> {
    request: &'a Value,
    settings: &'a Value,
}

/// [`host_json`] writing the payload from borrowed values, without the deep
/// copy: the change proposed for `PolicyRunner::validate`.
fn host_json_borrowed(value: &Value, settings: &Value) -> Result<ValidationResponse> {
    let payload = serde_json::to_vec(&PayloadRef {
        request: admission_request(value)?,
        settings,
    })?;
    black_box(&payload);
    Ok(serde_json::from_slice(br#"{"accepted":true}"#)?)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".to_owned())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned())
}

/// The evaluator-path table: each evaluation on a fresh instance, as
/// policy-server's evaluator makes it, against a no-op guest on the same
/// path (the floor no guest can go under).
fn evaluator_table(out: &mut String, input: &ReportInput) {
    let _ = writeln!(
        out,
        "\nEvaluator path: each evaluation on a fresh instance of the compiled module \
         (instantiation, the waPC start-up `wapc_init`, one `validate` with the settings sent \
         along, the instance dropped), as policy-server's evaluator runs a policy; the floor is \
         a no-op guest (answers `{{\"accepted\":true}}`) on the same path. The SDK floor is \
         `sdk-noop` (tests/fixtures): a policy on the Kubewarden Rust SDK that accepts every \
         request unread, so what any SDK policy pays before its own work. Warm: the wasm \
         median of the first table (one instance kept).\n"
    );
    let _ = writeln!(
        out,
        "| policy | request | evaluator median µs | evaluator p99 µs | no-op floor median µs | x floor | above floor µs | above SDK floor µs | warm median µs |\n|---|---|--:|--:|--:|--:|--:|--:|--:|"
    );
    // Our policies (with their warm median), then the extra modules.
    let ours = input.runners.iter().map(|(policy, req, _, _)| {
        let label = req.request.label;
        (
            policy.name.to_owned(),
            label,
            summary(input.jobs, "evaluator", policy.name, label),
            summary(input.jobs, "wasm", policy.name, label),
        )
    });
    let extras = input
        .jobs
        .iter()
        .filter(|j| j.kind == "evaluator-extra" || j.kind == "evaluator-sdk-floor")
        .map(|j| {
            let path = Summary::from_nanos(&j.samples);
            let what = if j.kind == "evaluator-extra" {
                "extra"
            } else {
                "Rust SDK floor"
            };
            (format!("{} ({what})", j.policy), j.request, path, None)
        });
    for (name, label, path, warm) in ours.chain(extras) {
        let floor = summary(input.jobs, "evaluator-noop", "no-op guest", label);
        let (ratio, above) = match (&path, &floor) {
            (Some(p), Some(f)) if f.median_us > 0.0 => (
                format!("{:.2}", p.median_us / f.median_us),
                us(p.median_us - f.median_us),
            ),
            _ => ("-".to_owned(), "-".to_owned()),
        };
        let sdk = summary(input.jobs, "evaluator-sdk-floor", SDK_FLOOR, label);
        let above_sdk = match (&path, &sdk) {
            (Some(p), Some(f)) => us(p.median_us - f.median_us),
            _ => "-".to_owned(),
        };
        let _ = writeln!(
            out,
            "| {name} | {label} | {} | {} | {} | {ratio} | {above} | {above_sdk} | {} |",
            cell(path, |s| us(s.median_us)),
            cell(path, |s| us(s.p99_us)),
            cell(floor, |s| us(s.median_us)),
            cell(warm, |s| us(s.median_us)),
        );
    }
}

/// Notes `label shown <= limit` (or `>`); whether `value` is within `limit`.
fn budget(notes: &mut Vec<String>, label: &str, shown: &str, value: f64, limit: f64) -> bool {
    let within = value <= limit;
    let sign = if within { "<=" } else { ">" };
    notes.push(format!("{label} {shown} {sign} {limit}"));
    within
}

/// The evaluator-path budgets of one policy on one request: its median
/// against the no-op floor, and its cost above the floor against the
/// cheapest `--extra` module's. Nothing is noted when it was not timed.
fn evaluator_budgets(
    notes: &mut Vec<String>,
    input: &ReportInput,
    policy: &str,
    label: &str,
) -> bool {
    let path = summary(input.jobs, "evaluator", policy, label);
    let floor = summary(input.jobs, "evaluator-noop", "no-op guest", label);
    let (Some(p), Some(f)) = (path, floor) else {
        return true;
    };
    let ratio = p.median_us / f.median_us;
    let shown = format!("{ratio:.2}x floor");
    let mut ok = budget(
        notes,
        &format!("{label} evaluator path"),
        &shown,
        ratio,
        MAX_FLOOR_RATIO,
    );
    let extra_above = input
        .jobs
        .iter()
        .filter(|j| j.kind == "evaluator-extra" && j.request == label)
        .filter_map(|j| Summary::from_nanos(&j.samples))
        .map(|e| e.median_us - f.median_us)
        .reduce(f64::min);
    if let Some(extra) = extra_above.filter(|e| *e > 0.0) {
        let share = (p.median_us - f.median_us) / extra;
        let shown = format!("{share:.2}x the cheapest extra's");
        ok &= budget(
            notes,
            &format!("{label} above floor"),
            &shown,
            share,
            MAX_SHARE_OF_EXTRA,
        );
    }
    ok
}

/// The evaluator path step by step: where a fresh evaluation's time goes,
/// policy by policy and for the no-op guest.
fn steps_table(out: &mut String, input: &ReportInput) {
    let _ = writeln!(
        out,
        "\nThe evaluator path step by step (medians over separate runs of each step, so they \
         need not add up to the evaluator median; page faults per evaluation, each about 2 µs \
         here): creating the instance runs the guest's `wapc_init`, and its first `validate` \
         touches fresh pages of linear memory.\n"
    );
    let _ = writeln!(
        out,
        "| module | request | instantiate µs | first validate µs | drop µs | page faults: instantiate / validate / drop |\n|---|---|--:|--:|--:|--:|"
    );
    for (module, label, p) in input.steps {
        let _ = writeln!(
            out,
            "| {module} | {label} | {} | {} | {} | {:.1} / {:.1} / {:.1} |",
            us(p.instantiate_us),
            us(p.validate_us),
            us(p.drop_us),
            p.faults[0],
            p.faults[1],
            p.faults[2]
        );
    }
}

struct ReportInput<'a> {
    options: &'a Options,
    requests: &'a [Loaded],
    runners: &'a [(&'a PolicyInfo, &'a Loaded, PolicyRunner, String)],
    infos: &'a [ModuleInfo],
    jobs: &'a [Job<'a>],
    steps: &'a [(&'a str, &'a str, phases::Phases)],
    load_before: &'a str,
    load_after: &'a str,
    timer_ns: f64,
    elapsed: Duration,
}

fn summary(jobs: &[Job], kind: &str, policy: &str, request: &str) -> Option<Summary> {
    jobs.iter()
        .find(|j| j.kind == kind && j.policy == policy && j.request == request)
        .and_then(|j| Summary::from_nanos(&j.samples))
}

/// A table cell: `f` of the summary, `-` without one.
fn cell(s: Option<Summary>, f: fn(&Summary) -> String) -> String {
    s.as_ref().map_or_else(|| "-".to_owned(), f)
}

fn us(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn per_s(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else {
        format!("{v:.0}")
    }
}

#[allow(clippy::too_many_lines)] // one linear report
fn render(input: &ReportInput) -> String {
    let mut out = String::new();
    let o = input.options;
    let _ = writeln!(out, "## Policy benchmark\n");
    let _ = writeln!(
        out,
        "Machine: {} x {}; load average before {} / after {}; timer overhead {:.0} ns per call; \
         {} round(s) x {} ms per measurement{}, {:.0} s in all.\n",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        cpu_model(),
        input.load_before,
        input.load_after,
        input.timer_ns,
        o.rounds,
        o.budget().measure.as_millis(),
        if o.quick { " (--quick)" } else { "" },
        input.elapsed.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "Per `validate` call, settings `{{}}` (defaults). wasm: `PolicyRunner::validate` on a warm \
         instance (kwctl's payload encoded by the host, the waPC call, the answer decoded). native: \
         the policy's `POLICY.validate` (`gpu_policy_core::entry::evaluate`) on the same payload \
         bytes, answer serialized. A context-aware policy reads the cluster: wasm through the \
         host's replay session, native through an in-memory cluster answering from the same \
         session (lookup requests encoded and decoded, answers parsed by the policy's types), \
         so its native number includes every step but the waPC round trips.\n"
    );
    let _ = writeln!(
        out,
        "| policy | request | decision | wasm median µs | wasm p99 µs | wasm evals/s | native median µs | native p99 µs | native evals/s | wasm/native | guest-only wasm/native |"
    );
    let _ = writeln!(out, "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|");
    for (policy, req, _, decision) in input.runners {
        let label = req.request.label;
        let wasm = summary(input.jobs, "wasm", policy.name, label);
        let native = summary(input.jobs, "native", policy.name, label);
        let noop = summary(input.jobs, "noop", "no-op guest", label);
        let ratio = match (wasm, native) {
            (Some(w), Some(n)) if n.median_us > 0.0 => format!("{:.2}", w.median_us / n.median_us),
            _ => "-".to_owned(),
        };
        let guest_ratio = match (wasm, native, noop) {
            (Some(w), Some(n), Some(z)) if n.median_us > 0.0 => {
                format!("{:.2}", (w.median_us - z.median_us) / n.median_us)
            }
            _ => "-".to_owned(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            policy.name,
            label,
            decision,
            cell(wasm, |s| us(s.median_us)),
            cell(wasm, |s| us(s.p99_us)),
            cell(wasm, |s| per_s(s.per_second())),
            cell(native, |s| us(s.median_us)),
            cell(native, |s| us(s.p99_us)),
            cell(native, |s| per_s(s.per_second())),
            ratio,
            guest_ratio,
        );
    }
    let _ = writeln!(
        out,
        "\n\"guest-only\" subtracts the no-op guest's time on the same request (the host's share, \
         below) from the wasm median.\n"
    );

    let _ = writeln!(
        out,
        "| policy | .wasm bytes | compile ms | instantiate ms |\n|---|--:|--:|--:|"
    );
    for info in input.infos {
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {:.2} |",
            info.name,
            info.bytes,
            info.compile.as_secs_f64() * 1000.0,
            info.instantiate.as_secs_f64() * 1000.0
        );
    }

    if o.overhead {
        let _ = writeln!(
            out,
            "\nHost overhead: the same `PolicyRunner::validate` call on a no-op guest (copies the \
             request in, answers `{{\"accepted\":true}}`), and the host's JSON work alone \
             (encoding kwctl's payload from the request value, decoding an answer), both as \
             `PolicyRunner::validate` first did it (a `json!` envelope deep-copied the request \
             `Value`) and from borrowed values, as it does now.\n"
        );
        let _ = writeln!(
            out,
            "| request | payload bytes | no-op guest median µs | host JSON via json! copy median µs | host JSON, borrowed (current) median µs |\n|---|--:|--:|--:|--:|"
        );
        for req in input.requests {
            let label = req.request.label;
            let median = |kind, policy| {
                cell(
                    summary(input.jobs, kind, policy, label),
                    |s| us(s.median_us),
                )
            };
            let _ = writeln!(
                out,
                "| {label} | {} | {} | {} | {} |",
                req.payload.len(),
                median("noop", "no-op guest"),
                median("host-json", "host JSON only"),
                median("host-json-borrowed", "host JSON borrowed"),
            );
        }
        if let Some(s) = summary(input.jobs, "test-policy", "test-policy", "gpu-pod") {
            let _ = writeln!(
                out,
                "\nReference: tests/fixtures/test-policy (SDK style: deserializes the whole \
                 request into k8s-openapi types, checks one label) takes {} µs median on gpu-pod.",
                us(s.median_us)
            );
        }
    }

    if o.evaluator {
        evaluator_table(&mut out, input);
        steps_table(&mut out, input);
    }

    let _ = writeln!(out, "\nRequests (tools/policy-bench/data/):\n");
    for req in input.requests {
        let _ = writeln!(
            out,
            "- `{}` ({}, {} bytes as sent): {}; namespace session `sessions/{}`.",
            req.request.label,
            req.request.file,
            req.payload.len(),
            req.request.description,
            req.request.session
        );
    }

    let _ = writeln!(
        out,
        "\nBudgets (size, and the warm figures, on gpu-pod; the evaluator path on {}):\n",
        EVALUATOR_BUDGET_REQUESTS.join(", ")
    );
    for info in input.infos {
        let mut notes = Vec::new();
        #[allow(clippy::cast_precision_loss)]
        let size = info.bytes as f64;
        #[allow(clippy::cast_precision_loss)]
        let max_size = MAX_WASM_BYTES as f64;
        let mut ok = budget(
            &mut notes,
            "size",
            &format!("{} B", info.bytes),
            size,
            max_size,
        );
        let wasm = summary(input.jobs, "wasm", info.name, "gpu-pod");
        let native = summary(input.jobs, "native", info.name, "gpu-pod");
        if let Some(w) = wasm {
            let shown = format!("{} µs", us(w.median_us));
            ok &= budget(
                &mut notes,
                "median",
                &shown,
                w.median_us,
                MAX_WASM_MEDIAN_US,
            );
            if let Some(n) = native {
                let ratio = w.median_us / n.median_us;
                ok &= budget(
                    &mut notes,
                    "wasm/native",
                    &format!("{ratio:.2}"),
                    ratio,
                    MAX_RATIO,
                );
            }
        }
        for label in EVALUATOR_BUDGET_REQUESTS {
            ok &= evaluator_budgets(&mut notes, input, info.name, label);
        }
        let _ = writeln!(
            out,
            "- {}: {} ({})",
            info.name,
            if ok { "PASS" } else { "MISS" },
            notes.join(", ")
        );
    }
    out
}

/// `--profile native|wasm`: many calls, one line of output; for
/// `valgrind --tool=callgrind` or `perf`.
fn profile(options: &Options, mode: &str) -> Result<()> {
    let (Some(policy_name), Some(request_label)) =
        (options.policies.first(), options.requests.first())
    else {
        bail!("--profile needs --policy NAME and --request LABEL");
    };
    let policy = policy_registry::get(policy_name).context("unknown policy")?;
    let request = REQUESTS
        .into_iter()
        .find(|r| r.label == request_label)
        .context("unknown request")?;
    let req = load_request(request)?;
    // Modules come from the benchmark's module cache: compiled once, not
    // again under valgrind, where compiling takes minutes.
    let cache = ModuleCache::in_dir(options.out.with_file_name("module-cache"))?;
    let module = || -> Result<(CompiledPolicy, PolicyOptions)> {
        if mode == "evaluator-noop" {
            let noop = noop_guest::module()?;
            let compiled = CompiledPolicy::from_bytes_cached(&noop, "no-op guest", &cache)?;
            Ok((compiled, PolicyOptions::default()))
        } else if mode == "evaluator-sdk-floor" {
            let path = wasm_path(&options.wasm_dir, SDK_FLOOR);
            let compiled = CompiledPolicy::from_file_cached(path, &cache)?;
            Ok((compiled, PolicyOptions::default()))
        } else {
            let path = wasm_path(&options.wasm_dir, policy.name);
            let compiled = CompiledPolicy::from_file_cached(path, &cache)?;
            Ok((compiled, instance_options(policy, &req)?))
        }
    };
    let start = Instant::now();
    match mode {
        "native" => {
            for _ in 0..options.calls {
                black_box(native_validate(
                    policy,
                    black_box(&req.payload),
                    &req.cluster,
                )?);
            }
        }
        "wasm" => {
            let (compiled, instance) = module()?;
            let runner = compiled.instantiate(instance)?;
            for _ in 0..options.calls {
                black_box(runner.validate(&req.value, &settings())?);
            }
        }
        // One fresh instance per call, as policy-server evaluates.
        "evaluator" | "evaluator-noop" | "evaluator-sdk-floor" | "evaluator-steps" => {
            let (compiled, instance) = module()?;
            if mode == "evaluator-steps" {
                let p =
                    phases::measure(&compiled, &instance, &req.value, &settings(), options.calls)?;
                eprintln!(
                    "medians: instantiate {:.1} µs, validate {:.1} µs, drop {:.1} µs; \
                     page faults per evaluation: {:.1}, {:.1}, {:.1}",
                    p.instantiate_us,
                    p.validate_us,
                    p.drop_us,
                    p.faults[0],
                    p.faults[1],
                    p.faults[2]
                );
            } else {
                for _ in 0..options.calls {
                    black_box(evaluate_fresh(&compiled, &instance, &req));
                }
            }
        }
        "host-json" => {
            for _ in 0..options.calls {
                black_box(host_json(black_box(&req.value))?);
            }
        }
        other => bail!(
            "--profile native|wasm|evaluator|evaluator-noop|evaluator-sdk-floor|evaluator-steps|host-json, not {other}"
        ),
    }
    let elapsed = start.elapsed();
    #[allow(clippy::cast_precision_loss)]
    let per_call = elapsed.as_secs_f64() * 1e6 / options.calls.max(1) as f64;
    println!(
        "{mode} {} on {}: {} calls in {:.3} s ({per_call:.2} µs per call, mean)",
        policy.name,
        request.label,
        options.calls,
        elapsed.as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_budget_request_is_benchmarked() {
        for label in EVALUATOR_BUDGET_REQUESTS {
            assert!(REQUESTS.iter().any(|r| r.label == label), "{label}");
        }
    }
}
