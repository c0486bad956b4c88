//! The least-privilege IAM policy in `deploy/iam-policy.json` against the AWS calls the code
//! makes: every SDK operation called from the product's sources (`src/`, and each library
//! crate's `src/`, test modules excluded) maps to an IAM action that the policy grants, and the
//! policy grants nothing the code does not call. No wildcard actions, no `"Resource": "*"`.
//!
//! Operations are recognized from the SDK crates themselves (`cargo metadata` gives their
//! sources; each has one `src/operation/<name>/` folder per API call), so a call added later is
//! caught without updating this test; only its IAM action name may need an entry in
//! [`iam_action`] when it differs from the operation's name.
//!
//! `cargo metadata` runs offline and for the host platform only: the build fetched exactly
//! those crates, while the other platforms' ones (Android, Windows) are in no fresh cache.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// SDK crate → IAM service prefix.
const SERVICES: &[(&str, &str)] = &[
    ("aws-sdk-s3", "s3"),
    ("aws-sdk-sns", "sns"),
    ("aws-sdk-sqs", "sqs"),
    ("aws-sdk-cloudwatchlogs", "logs"),
    ("aws-sdk-ec2", "ec2"),
    ("aws-sdk-autoscaling", "autoscaling"),
    ("aws-sdk-sts", "sts"),
];

/// The IAM action an SDK operation needs, where it is not the operation's own name.
fn iam_action(prefix: &str, op: &str) -> String {
    let pascal: String = op
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    match (prefix, op) {
        ("s3", "list_objects_v2" | "list_objects") => "s3:ListBucket".into(),
        ("s3", "head_object") => "s3:GetObject".into(),
        ("sns", "publish_batch") => "sns:Publish".into(),
        ("sqs", "delete_message_batch") => "sqs:DeleteMessage".into(),
        ("sqs", "change_message_visibility_batch") => "sqs:ChangeMessageVisibility".into(),
        _ => format!("{prefix}:{pascal}"),
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The host's target triple, from the `rustc` of the toolchain that built this test (beside
/// its `cargo`), else the one on `PATH`.
fn host_triple() -> String {
    let beside = Path::new(env!("CARGO")).with_file_name("rustc");
    let rustc = if beside.is_file() {
        beside
    } else {
        PathBuf::from("rustc")
    };
    let out = std::process::Command::new(&rustc)
        .arg("-vV")
        .output()
        .unwrap_or_else(|e| panic!("running {} -vV: {e}", rustc.display()));
    assert!(out.status.success(), "{} -vV failed", rustc.display());
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|| panic!("no host line in rustc -vV: {text}"))
}

/// `cargo metadata` as the build sees it: offline, this platform's dependencies only.
fn metadata_args(host: &str) -> Vec<String> {
    [
        "metadata",
        "--format-version",
        "1",
        "--offline",
        "--filter-platform",
        host,
    ]
    .map(String::from)
    .to_vec()
}

/// SDK crate name → the names of its operations, from its sources.
fn sdk_operations() -> BTreeMap<String, BTreeSet<String>> {
    let out = std::process::Command::new(env!("CARGO"))
        .args(metadata_args(&host_triple()))
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "this test reads the SDK crates' sources, which must be downloaded: run `cargo fetch` \
         first (`scripts/test` builds the whole workspace, which downloads them)\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut ops = BTreeMap::new();
    for p in meta["packages"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        if !SERVICES.iter().any(|(c, _)| *c == name) {
            continue;
        }
        let dir = Path::new(p["manifest_path"].as_str().unwrap())
            .parent()
            .unwrap()
            .join("src/operation");
        let set: BTreeSet<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        ops.insert(name.to_string(), set);
    }
    assert!(
        ops.get("aws-sdk-s3")
            .is_some_and(|o| o.contains("get_object")),
        "the S3 SDK's operations were found"
    );
    ops
}

fn product_sources() -> Vec<PathBuf> {
    let mut roots = vec![repo().join("src")];
    for e in std::fs::read_dir(repo()).unwrap() {
        let p = e.unwrap().path().join("src");
        // The responder (respond/) has its own policy: deploy/respond/iam-policy.json.
        let own_policy = p.parent().unwrap().ends_with("respond");
        if p.is_dir()
            && p.parent().unwrap().join("Cargo.toml").is_file()
            && p != repo().join("src")
            && !own_policy
        {
            roots.push(p);
        }
    }
    let mut files = Vec::new();
    while let Some(d) = roots.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                roots.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                files.push(p);
            }
        }
    }
    files
}

/// IAM actions the code needs, with where each is called.
fn actions_used() -> BTreeMap<String, Vec<String>> {
    let ops = sdk_operations();
    let mut used: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in product_sources() {
        let text = std::fs::read_to_string(&file).unwrap();
        // Test modules set up emulators (create buckets, topics): not the product's calls.
        let code = text.split("#[cfg(test)]").next().unwrap();
        for (krate, prefix) in SERVICES {
            let module = krate.replace('-', "_");
            if !code.contains(&module) {
                continue;
            }
            let Some(names) = ops.get(*krate) else {
                continue;
            };
            for op in names {
                let call = format!(".{op}()");
                for (n, line) in code.lines().enumerate() {
                    if line.contains(&call) {
                        used.entry(iam_action(prefix, op))
                            .or_default()
                            .push(format!(
                                "{}:{}",
                                file.strip_prefix(repo()).unwrap().display(),
                                n + 1
                            ));
                    }
                }
            }
        }
    }
    used
}

fn as_list(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
        _ => panic!("unexpected {v}"),
    }
}

#[test]
fn the_iam_policy_grants_exactly_the_calls_the_code_makes() {
    let path = repo().join("deploy/iam-policy.json");
    let policy: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("deploy/iam-policy.json")).unwrap();
    let mut granted = BTreeSet::new();
    for st in policy["Statement"].as_array().unwrap() {
        assert_eq!(st["Effect"], "Allow", "{st}");
        for a in as_list(&st["Action"]) {
            assert!(!a.contains('*'), "wildcard action {a}");
            granted.insert(a);
        }
        for r in as_list(&st["Resource"]) {
            assert_ne!(r, "*", "statement {} grants on every resource", st["Sid"]);
        }
    }
    let used = actions_used();
    assert!(used.contains_key("s3:GetObject"), "{used:?}");
    let missing: Vec<_> = used.iter().filter(|(a, _)| !granted.contains(*a)).collect();
    assert!(
        missing.is_empty(),
        "calls the policy does not allow: {missing:?}"
    );
    let unused: Vec<_> = granted.iter().filter(|a| !used.contains_key(*a)).collect();
    assert!(unused.is_empty(), "granted and never called: {unused:?}");
}

#[test]
fn the_sdk_sources_are_found_for_the_host_platform_only() {
    let host = host_triple();
    assert!(host.contains('-'), "a target triple: {host}");
    let args = metadata_args(&host);
    assert!(
        args.windows(2)
            .any(|w| w[0] == "--filter-platform" && w[1] == host),
        "{args:?}"
    );
    assert!(args.iter().any(|a| a == "--offline"), "{args:?}");
}
