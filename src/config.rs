//! The service's configuration file (`flowtrail serve --config flowtrail.toml`): TOML, every
//! table with `deny_unknown_fields` so a misspelt key is an error naming it, not a silently
//! ignored setting. Flags of `serve` override the file. `flowtrail config check` loads and
//! validates it (rules, suppressions, flow formats, routes) without touching AWS.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

use flowtrail_alerts::sink::AlertFormat;
use flowtrail_alerts::sink::sns::Router;
use flowtrail_ingest::source::cloudwatch::{LogGroup, LogKind};

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Lake directory.
    #[serde(default = "default_lake")]
    pub lake: PathBuf,
    /// Baselines and snapshots.
    #[serde(default = "default_state")]
    pub state: PathBuf,
    /// Address of `/healthz` and `/metrics`.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// AWS endpoint override (moto server in tests); `AWS_ENDPOINT_URL` works too.
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Decode threads (default: the number of cores).
    #[serde(default)]
    pub workers: Option<usize>,
    /// The process's memory budget, MiB (see `src/budget.rs` for how it is shared).
    #[serde(default = "default_memory_mb")]
    pub memory_mb: u64,
    /// SQS queue of S3 notifications.
    #[serde(default)]
    pub sqs: Option<SqsConfig>,
    /// CloudWatch Logs groups.
    #[serde(default)]
    pub cloudwatch: Option<CloudWatchConfig>,
    /// Detection.
    #[serde(default)]
    pub detection: DetectionConfig,
    /// Alert delivery.
    #[serde(default)]
    pub alerts: AlertsConfig,
    /// Snapshots of the state directory to S3 (a replaced task resumes from them).
    #[serde(default)]
    pub snapshot: Option<SnapshotConfig>,
    /// The investigation site's pages on the `listen` address (off unless `[ui]` is present).
    #[serde(default)]
    pub ui: Option<UiConfig>,
}

/// `[ui]`: the read-only investigation site of `flowtrail ui`, served beside `/healthz` and
/// `/metrics` over the lake. Mind that `listen` defaults to all interfaces.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiConfig {
    /// On when the table is present; `enabled = false` turns it off again.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn default_lake() -> PathBuf {
    PathBuf::from("lake")
}
fn default_state() -> PathBuf {
    PathBuf::from("state")
}
fn default_listen() -> String {
    "0.0.0.0:9100".into()
}

/// `[sqs]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqsConfig {
    /// Queue URL.
    pub queue_url: String,
    /// Long-poll wait per receive, seconds (1..=20). Also bounds how long a SIGTERM waits for
    /// an idle receive.
    #[serde(default = "default_wait")]
    pub wait_seconds: u64,
    /// Visibility timeout given to received messages, seconds; extended while they are worked
    /// on.
    #[serde(default = "default_visibility")]
    pub visibility_seconds: u64,
    /// Messages gathered into one cycle (one lake commit).
    #[serde(default = "default_batch")]
    pub max_messages_per_cycle: usize,
}

fn default_wait() -> u64 {
    5
}
fn default_visibility() -> u64 {
    120
}
fn default_batch() -> usize {
    100
}

/// `[cloudwatch]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudWatchConfig {
    /// Seconds between polls.
    #[serde(default = "default_poll")]
    pub poll_seconds: u64,
    /// API calls per second, all groups together.
    #[serde(default = "default_rps")]
    pub max_requests_per_second: f64,
    /// Groups to read.
    pub groups: Vec<LogGroup>,
}

fn default_poll() -> u64 {
    30
}
fn default_rps() -> f64 {
    4.0
}

/// `[detection]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectionConfig {
    /// Detection on (default) or off.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Extra rule folders.
    #[serde(default)]
    pub rules: Vec<PathBuf>,
    /// Suppression file.
    #[serde(default)]
    pub suppress: Option<PathBuf>,
    /// Watched subnets and their allow-lists for `unexpected_resource` (TOML file).
    #[serde(default)]
    pub fence: Option<PathBuf>,
    /// Findings of one detector and key within this many minutes make one alert.
    #[serde(default = "default_dedupe")]
    pub dedupe_minutes: i64,
    /// Grace period for late data, minutes.
    #[serde(default = "default_grace")]
    pub grace_minutes: i64,
    /// Memory for the `flows` rows detection holds until their hour is judged, MiB (default:
    /// 3/8 of `memory_mb`); above it they spill to `<state>/spill` on local disk (about 60
    /// bytes a row).
    #[serde(default)]
    pub hold_memory_mb: Option<u64>,
    /// Where held rows spill (scratch, emptied at start; `<state>/spill` when absent). On ECS
    /// with the state on EFS, point it at the task's ephemeral storage.
    #[serde(default)]
    pub spill_dir: Option<PathBuf>,
    /// Folder of Sigma rules (CloudTrail log source) run with the SQL rules.
    #[serde(default)]
    pub sigma: Option<PathBuf>,
    /// Network-behaviour detectors (`[detection.network]`): tiers and the tier-to-tier flows
    /// allowed, DNS resolvers besides the VPC's, mining pools, thresholds (docs/detection.md).
    #[serde(default)]
    pub network: flowtrail_detect::behaviour::BehaviourOptions,
    /// Which rows are judged: `inline`, the rows this task ingests (one task per queue), or
    /// `lake`, every commit of the S3 lake, announced on this task's queue by the lake
    /// bucket's notifications (ingest tasks scale out with `--no-detect`; see `serve/follow.rs`).
    #[serde(default)]
    pub source: DetectionSource,
}

/// Where detection takes its rows from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DetectionSource {
    /// The rows this task ingests.
    #[default]
    Inline,
    /// The commits of the S3 lake, announced on the queue.
    Lake,
}

impl Default for DetectionConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            rules: Vec::new(),
            suppress: None,
            fence: None,
            dedupe_minutes: default_dedupe(),
            grace_minutes: default_grace(),
            hold_memory_mb: None,
            spill_dir: None,
            sigma: None,
            network: Default::default(),
            source: DetectionSource::Inline,
        }
    }
}

fn yes() -> bool {
    true
}
fn default_dedupe() -> i64 {
    60
}
fn default_memory_mb() -> u64 {
    crate::budget::DEFAULT_MEMORY_MB
}
fn default_grace() -> i64 {
    30
}

/// `[alerts]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// JSON lines file the alerts are appended to.
    #[serde(default)]
    pub jsonl: Option<PathBuf>,
    /// The durable outbox in front of SNS; `<state>/outbox` when absent (see
    /// [`Config::outbox`]).
    #[serde(default)]
    pub outbox: Option<PathBuf>,
    /// SNS routing: `default_topic` and `[[alerts.sns.routes]]` (by severity and detector).
    #[serde(default)]
    pub sns: Option<Router>,
    /// Form of the alerts in the JSON lines file and SNS messages: `native` (default) or
    /// `ocsf` (OCSF Detection Finding).
    #[serde(default)]
    pub format: AlertFormat,
}

/// `[snapshot]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotConfig {
    /// `s3://bucket/prefix` the state directory is copied to.
    pub s3: String,
    /// Seconds between snapshots (and one at shutdown).
    #[serde(default = "default_snapshot_every")]
    pub every_seconds: u64,
}

fn default_snapshot_every() -> u64 {
    300
}

impl Config {
    /// Parse a file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the config {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in the config {}", path.display()))
    }

    /// Parse TOML text.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let c: Config = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(c)
    }

    /// The empty configuration that flags fill in.
    pub fn empty() -> Self {
        Self::parse("").unwrap_or_else(|_| unreachable!("the empty config parses"))
    }

    /// The memory budget (`memory_mb`).
    pub fn budget(&self) -> crate::budget::Budget {
        crate::budget::Budget::new(self.memory_mb)
    }

    /// MiB of rows detection holds before spilling: `[detection] hold_memory_mb`, else the
    /// budget's share.
    pub fn hold_memory_mb(&self) -> u64 {
        self.detection
            .hold_memory_mb
            .unwrap_or(self.budget().hold_mb())
    }

    /// The alert outbox: `[alerts] outbox`, else `outbox` in the state directory (it belongs
    /// to one task, like the state).
    pub fn outbox(&self) -> PathBuf {
        self.alerts
            .outbox
            .clone()
            .unwrap_or_else(|| self.state.join("outbox"))
    }

    /// Checks that need no AWS: at least one source, valid settings, flow formats, topics.
    pub fn validate(&self) -> anyhow::Result<()> {
        for (what, p) in [
            ("lake", Some(&self.lake)),
            ("state", Some(&self.state)),
            ("[alerts] outbox", self.alerts.outbox.as_ref()),
            ("[alerts] jsonl", self.alerts.jsonl.as_ref()),
        ] {
            if p.is_some_and(|p| p.as_os_str().is_empty()) {
                bail!("{what} is an empty path");
            }
        }
        if self.sqs.is_none() && self.cloudwatch.as_ref().is_none_or(|c| c.groups.is_empty()) {
            bail!("no source: set [sqs] queue_url (or --sqs-queue-url) or [cloudwatch] groups");
        }
        if let Some(s) = &self.sqs {
            if s.queue_url.is_empty() {
                bail!("[sqs] queue_url is empty");
            }
            if !(1..=20).contains(&s.wait_seconds) {
                bail!("[sqs] wait_seconds must be 1..=20, not {}", s.wait_seconds);
            }
            if s.visibility_seconds < 10 {
                bail!("[sqs] visibility_seconds must be at least 10");
            }
        }
        self.detection
            .network
            .compile()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if self.detection.source == DetectionSource::Lake {
            if !self.detection.enabled {
                bail!("[detection] source = \"lake\" needs detection on");
            }
            if !self.lake.to_string_lossy().starts_with("s3://") {
                bail!("[detection] source = \"lake\" follows a lake on S3 (lake = \"s3://...\")");
            }
            if self.sqs.is_none() {
                bail!(
                    "[detection] source = \"lake\" needs [sqs]: the queue the lake bucket notifies"
                );
            }
            if self
                .cloudwatch
                .as_ref()
                .is_some_and(|c| !c.groups.is_empty())
            {
                bail!("[detection] source = \"lake\" reads the lake only: no [cloudwatch] groups");
            }
        }
        if let Some(cw) = &self.cloudwatch {
            if cw.max_requests_per_second <= 0.0 {
                bail!("[cloudwatch] max_requests_per_second must be positive");
            }
            for g in &cw.groups {
                if let (LogKind::Flows, Some(f)) = (g.kind, &g.format) {
                    flowtrail_ingest::decode::flow::FlowFormat::parse(f).map_err(|e| {
                        anyhow::anyhow!("[cloudwatch] group {}: flow-log format: {e}", g.name)
                    })?;
                }
                if g.kind == LogKind::Cloudtrail && g.format.is_some() {
                    bail!(
                        "[cloudwatch] group {}: `format` is for flow-log groups",
                        g.name
                    );
                }
            }
        }
        if let Some(r) = &self.alerts.sns {
            for t in r
                .routes
                .iter()
                .map(|r| &r.topic_arn)
                .chain(&r.default_topic)
            {
                if !t.starts_with("arn:") {
                    bail!("[alerts.sns] {t:?} is not a topic ARN");
                }
            }
        }
        if let Some(s) = &self.snapshot
            && flowtrail_ingest::source::s3::S3Url::parse(&s.s3).is_none()
        {
            bail!(
                "[snapshot] s3 = {:?} is not an s3://bucket/prefix URL",
                s.s3
            );
        }
        if self.detection.grace_minutes < 0 {
            bail!("[detection] grace_minutes must not be negative");
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn network_tiers_and_allowed_flows_are_read_and_checked() {
        let base = "[sqs]\nqueue_url = \"u\"\n[detection.network]\ndns_resolvers = [\"10.200.0.2\"]\n\
                    [[detection.network.tiers]]\nname = \"app\"\ncidrs = [\"10.0.11.0/24\"]\n\
                    [[detection.network.tiers]]\nname = \"db\"\ncidrs = [\"10.0.21.0/24\"]\n\
                    [[detection.network.allow]]\nfrom = \"app\"\nto = \"db\"\nports = [5432]\n";
        let c = Config::parse(base).unwrap();
        c.validate().unwrap();
        assert_eq!(c.detection.network.tiers.len(), 2);
        assert_eq!(c.detection.network.dns_resolvers, ["10.200.0.2"]);
        let typo = base.replace("to = \"db\"", "to = \"dbs\"");
        let e = Config::parse(&typo).unwrap().validate().unwrap_err();
        assert!(e.to_string().contains("dbs"), "{e}");
    }

    #[test]
    fn one_memory_budget_sets_the_shares_and_hold_memory_overrides_its_share() {
        let c = Config::parse("memory_mb = 2048").unwrap();
        assert_eq!(c.budget().lake_buffer_bytes(), 512 << 20);
        assert_eq!(c.hold_memory_mb(), 768);
        let c = Config::parse("memory_mb = 2048\n[detection]\nhold_memory_mb = 100").unwrap();
        assert_eq!(c.hold_memory_mb(), 100);
        assert_eq!(Config::empty().hold_memory_mb(), 384);
    }

    const FULL: &str = r#"
lake = "/data/lake"
state = "/data/state"
listen = "127.0.0.1:9100"

[sqs]
queue_url = "https://sqs.us-east-1.amazonaws.com/111122223333/flowtrail"

[cloudwatch]
poll_seconds = 10
[[cloudwatch.groups]]
name = "/vpc/flow-logs"
kind = "flows"
format = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}"
account_id = "111122223333"
region = "us-east-1"
[[cloudwatch.groups]]
name = "aws-cloudtrail-logs"
kind = "cloudtrail"

[detection]
dedupe_minutes = 30

[alerts]
jsonl = "/data/alerts.jsonl"
[alerts.sns]
default_topic = "arn:aws:sns:us-east-1:111122223333:flowtrail"
[[alerts.sns.routes]]
min_severity = "high"
topic_arn = "arn:aws:sns:us-east-1:111122223333:flowtrail-pager"

[snapshot]
s3 = "s3://flowtrail-state/task"
"#;

    #[test]
    fn a_full_config_parses_and_validates() {
        let c = Config::parse(FULL).unwrap();
        c.validate().unwrap();
        assert_eq!(c.cloudwatch.as_ref().unwrap().groups.len(), 2);
        assert_eq!(c.alerts.sns.as_ref().unwrap().routes.len(), 1);
        assert_eq!(c.sqs.as_ref().unwrap().wait_seconds, 5);
        assert_eq!(c.detection.grace_minutes, 30);
        assert_eq!(c.alerts.format, AlertFormat::Native);
        let ocsf = Config::parse("[alerts]\nformat = \"ocsf\"\n").unwrap();
        assert_eq!(ocsf.alerts.format, AlertFormat::Ocsf);
        assert!(Config::parse("[alerts]\nformat = \"cef\"\n").is_err());
    }

    #[test]
    fn the_example_in_deploy_is_valid() {
        let c = Config::parse(include_str!("../deploy/flowtrail.toml")).unwrap();
        c.validate().unwrap();
        assert!(c.snapshot.is_some() && c.sqs.is_some());
    }

    #[test]
    fn the_outbox_defaults_to_the_state_directory() {
        let c = Config::parse("state = \"/data/state\"\n").unwrap();
        assert_eq!(c.outbox(), PathBuf::from("/data/state/outbox"));
        let mut flags = Config::empty();
        flags.state = PathBuf::from("demo-state");
        assert_eq!(flags.outbox(), PathBuf::from("demo-state/outbox"));
        let set = Config::parse("[alerts]\noutbox = \"/efs/outbox\"\n").unwrap();
        assert_eq!(set.outbox(), PathBuf::from("/efs/outbox"));
    }

    #[test]
    fn an_empty_path_is_refused_by_name() {
        let c = Config::parse("state = \"\"\n[sqs]\nqueue_url = \"u\"\n").unwrap();
        let e = c.validate().unwrap_err();
        assert!(e.to_string().contains("state is an empty path"), "{e}");
    }

    #[test]
    fn unknown_keys_are_errors_naming_them() {
        let e = Config::parse("lake = \"x\"\nlakes = \"y\"\n").unwrap_err();
        assert!(format!("{e:#}").contains("lakes"), "{e:#}");
        let e = Config::parse("[sqs]\nqueue_url = \"u\"\nwait = 3\n").unwrap_err();
        assert!(format!("{e:#}").contains("wait"), "{e:#}");
    }

    #[test]
    fn following_the_lake_needs_a_lake_on_s3_and_a_queue() {
        let q = "[sqs]\nqueue_url = \"https://sqs/q\"\n";
        let ok = Config::parse(&format!(
            "lake = \"s3://b/l\"\n{q}[detection]\nsource = \"lake\"\n"
        ))
        .unwrap();
        ok.validate().unwrap();
        assert_eq!(ok.detection.source, DetectionSource::Lake);
        let local = Config::parse(&format!(
            "lake = \"dir\"\n{q}[detection]\nsource = \"lake\"\n"
        ))
        .unwrap()
        .validate()
        .unwrap_err();
        assert!(local.to_string().contains("lake on S3"), "{local}");
        let off = Config::parse(&format!(
            "lake = \"s3://b/l\"\n{q}[detection]\nsource = \"lake\"\nenabled = false\n"
        ))
        .unwrap()
        .validate()
        .unwrap_err();
        assert!(off.to_string().contains("detection on"), "{off}");
        assert!(Config::parse("[detection]\nsource = \"inline\"\n").is_ok());
        assert!(Config::parse("[detection]\nsource = \"elsewhere\"\n").is_err());
    }

    #[test]
    fn validation_names_the_problem() {
        let no_source = Config::empty().validate().unwrap_err();
        assert!(no_source.to_string().contains("no source"));
        let bad_fmt = Config::parse(
            "[cloudwatch]\n[[cloudwatch.groups]]\nname = \"g\"\nkind = \"flows\"\nformat = \"${version} ${version\"\n",
        )
        .unwrap()
        .validate()
        .unwrap_err();
        assert!(bad_fmt.to_string().contains("group g"), "{bad_fmt}");
        let bad_wait = Config::parse("[sqs]\nqueue_url = \"u\"\nwait_seconds = 30\n")
            .unwrap()
            .validate()
            .unwrap_err();
        assert!(bad_wait.to_string().contains("wait_seconds"));
        let bad_topic = Config::parse(
            "[sqs]\nqueue_url = \"u\"\n[alerts.sns]\ndefault_topic = \"flowtrail\"\n",
        )
        .unwrap()
        .validate()
        .unwrap_err();
        assert!(bad_topic.to_string().contains("not a topic ARN"));
    }

    #[test]
    fn the_ui_is_off_unless_its_table_is_present() {
        let q = "[sqs]\nqueue_url = \"https://sqs/q\"\n";
        assert!(Config::parse(q).unwrap().ui.is_none());
        let c = Config::parse(&format!("{q}[ui]\n")).unwrap();
        assert!(c.ui.unwrap().enabled);
        let c = Config::parse(&format!("{q}[ui]\nenabled = false\n")).unwrap();
        assert!(!c.ui.unwrap().enabled);
        assert!(Config::parse(&format!("{q}[ui]\nport = 1\n")).is_err());
    }
}
