//! `flowtrail-gen`: writes the committed sample or a large benchmark set.
//!
//! ```text
//! flowtrail-gen sample --out DIR
//! flowtrail-gen bench --out DIR [--flow-records N] [--cloudtrail-events M] [--seed S]
//!     [--records-per-object N] [--accounts N --regions M] [--format mixed|v2|v5|wide40]
//!     [--hours H] [--events-per-file N] [--shuffle-records]
//! flowtrail-gen scenario --out DIR [--days N] [--seed S]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use flowtrail_sample::bench::{BenchFleet, BenchFormat};
use flowtrail_sample::{BenchSpec, ScenarioSpec, write_bench, write_sample, write_scenario};

const USAGE: &str = "usage:
  flowtrail-gen sample --out DIR
      write the committed sample: DIR/aws/AWSLogs/... and DIR/scenarios/*.json
      (regenerate in place with: flowtrail-gen sample --out sample-data)
  flowtrail-gen bench --out DIR [--flow-records N] [--cloudtrail-events M] [--seed S]
                      [--records-per-object N] [--accounts N --regions M]
                      [--format mixed|v2|v5|wide40] [--hours H] [--events-per-file N]
                      [--shuffle-records]
      write a large set (default 5000000 flow records, 200000 CloudTrail events, seed 1)
      --records-per-object N  flow records per object, on average (default 1000)
      --accounts N --regions M  a grid fleet: one VPC per account and region (daily folders)
                              instead of the four VPCs of two accounts
      --format F              every flow log in one format: v2 (AWS's default, 14 fields), v5
                              (custom, 25 fields), wide40 (40 fields of v2-v8 in a seeded
                              random order); mixed (default): v2 and v5 flow logs
      --hours H               spread the objects over H hours (few partitions); default: one
                              object per flow log every 5 minutes for as long as it takes
      --events-per-file N     CloudTrail events per document (default: spread over the
                              5-minute windows of the flow records)
      --shuffle-records       shuffle each flow-log object's records (no interface's records
                              in runs); the same records and objects as without
  flowtrail-gen scenario --out DIR [--days N] [--seed S]
      write an unseen evaluation scenario (default 8 days, seed 7): a different fleet and
      attack plan per seed, labels in DIR/scenarios/labels.json";

enum Cmd {
    Sample { out: PathBuf },
    Bench { out: PathBuf, spec: BenchSpec },
    Scenario { out: PathBuf, spec: ScenarioSpec },
}

fn number(flag: &str, v: Option<String>) -> Result<u64, String> {
    let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
    v.replace('_', "")
        .parse()
        .map_err(|_| format!("{flag}: not a number: {v}"))
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Cmd, String> {
    let cmd = args.next().ok_or("missing command")?;
    if cmd == "-h" || cmd == "--help" {
        return Err(String::new());
    }
    let mut out = None;
    let mut spec = BenchSpec::default();
    let mut scen = ScenarioSpec::default();
    let (mut accounts, mut regions) = (None, None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out = Some(PathBuf::from(args.next().ok_or("--out needs a value")?)),
            "--flow-records" => spec.flow_records = number(&a, args.next())?,
            "--cloudtrail-events" => spec.trail_events = number(&a, args.next())?,
            "--seed" => {
                spec.seed = number(&a, args.next())?;
                scen.seed = spec.seed;
            }
            "--records-per-object" => {
                spec.records_per_object = number(&a, args.next())?.max(1);
            }
            "--accounts" => accounts = Some(number(&a, args.next())?.clamp(1, 20) as u32),
            "--regions" => regions = Some(number(&a, args.next())?.clamp(1, 10) as u32),
            "--format" => {
                let v = args.next().ok_or("--format needs a value")?;
                spec.format = BenchFormat::parse(&v)
                    .ok_or_else(|| format!("--format: one of mixed, v2, v5, wide40: {v}"))?;
            }
            "--hours" => spec.hours = Some(number(&a, args.next())?.max(1)),
            "--events-per-file" => spec.events_per_file = Some(number(&a, args.next())?.max(1)),
            "--shuffle-records" => spec.shuffle_records = true,
            "--days" => scen.days = number(&a, args.next())?.clamp(3, 366) as i64,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    let out = out.ok_or("--out DIR is required")?;
    if accounts.is_some() || regions.is_some() {
        spec.fleet = BenchFleet::Grid {
            accounts: accounts.unwrap_or(1),
            regions: regions.unwrap_or(1),
        };
    }
    match cmd.as_str() {
        "sample" => Ok(Cmd::Sample { out }),
        "bench" => Ok(Cmd::Bench { out, spec }),
        "scenario" => Ok(Cmd::Scenario { out, spec: scen }),
        "-h" | "--help" => Err(String::new()),
        other => Err(format!("unknown command: {other}")),
    }
}

fn main() -> ExitCode {
    let cmd = match parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("flowtrail-gen: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let result = match cmd {
        Cmd::Sample { out } => write_sample(&out).map(|r| {
            for f in &r.flow_logs {
                println!(
                    "flow log {} {} {} {} {:?}: {} objects, {} records",
                    f.id, f.account, f.region, f.format, f.layout, f.files, f.records
                );
            }
            for (acct, region, files, events) in &r.trails {
                println!("trail {acct} {region}: {files} objects, {events} events");
            }
            println!("wrote the sample under {}", out.display());
            r.stats
        }),
        Cmd::Bench { out, spec } => write_bench(&out, spec).inspect(|_| {
            println!(
                "wrote the bench set under {} (seed {})",
                out.display(),
                spec.seed
            );
        }),
        Cmd::Scenario { out, spec } => write_scenario(&out, spec).map(|r| {
            println!("start {} ({} days, seed {})", r.start, spec.days, spec.seed);
            for f in &r.flow_logs {
                println!(
                    "flow log {} {} {} {} {:?}: {} objects, {} records",
                    f.id, f.account, f.region, f.format, f.layout, f.files, f.records
                );
            }
            for (acct, region, org, files, events) in &r.trails {
                let org = org.as_deref().unwrap_or("-");
                println!("trail {acct} {region} (org {org}): {files} objects, {events} events");
            }
            for l in &r.labels {
                println!(
                    "{} {} {} {}: {}",
                    l.id,
                    l.detector,
                    flowtrail_sample::time::rfc3339(l.start),
                    l.account_id,
                    l.description
                );
            }
            println!("wrote the scenario under {}", out.display());
            r.stats
        }),
    };
    match result {
        Ok(stats) => {
            println!("{stats}");
            println!("in {:.1} s", started.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("flowtrail-gen: {e}");
            ExitCode::FAILURE
        }
    }
}
