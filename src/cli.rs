//! Command-line flags. Raw flags are parsed here and validated into each command's settings in
//! `commands/`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use flowtrail_alerts::sink::AlertFormat;

/// flowtrail: VPC Flow Logs and CloudTrail into a parquet lake, with detection.
#[derive(Debug, Parser)]
#[command(name = "flowtrail", version, about)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// More logs (-v info, -vv debug); FLOWTRAIL_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

/// Log formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Replay archived logs (a local folder in the AWS S3 layout) into the lake.
    Replay(Box<ReplayArgs>),
    /// Run SQL over the lake (tables flows, cloudtrail, alerts, inventory).
    Query(QueryArgs),
    /// Print the lake schemas, or Athena CREATE EXTERNAL TABLE statements.
    Schema(SchemaArgs),
    /// SQL detection rules: test them against their sample events, or list them.
    Rules(RulesArgs),
    /// Run as a service: S3 notifications from SQS and CloudWatch Logs groups into the lake,
    /// with detection and alerts; /healthz and /metrics; drains on SIGTERM.
    Serve(Box<ServeArgs>),
    /// The service's configuration file.
    Config(ConfigArgs),
    /// Export the lake's data for other tools (OCSF for Amazon Security Lake).
    Export(ExportArgs),
    /// The investigation site: alerts, their evidence and traffic against the baseline,
    /// entity pages; read-only, in the browser.
    Ui(UiArgs),
}

/// `flowtrail ui`.
#[derive(Debug, clap::Args)]
pub struct UiArgs {
    /// Lake directory.
    #[arg(long, default_value = "lake")]
    pub lake: PathBuf,
    /// Address to listen on (local only by default).
    #[arg(long, default_value = "127.0.0.1:8765")]
    pub listen: String,
}

/// `flowtrail serve`. Flags override the configuration file.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Configuration file (TOML; see deploy/flowtrail.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// SQS queue of S3 ObjectCreated notifications (plain, SNS-wrapped or EventBridge).
    #[arg(long)]
    pub sqs_queue_url: Option<String>,
    /// Lake directory.
    #[arg(long)]
    pub lake: Option<PathBuf>,
    /// Baseline state directory.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Address of /healthz and /metrics (default 0.0.0.0:9100).
    #[arg(long)]
    pub listen: Option<String>,
    /// Publish alerts to this SNS topic (the default route).
    #[arg(long)]
    pub sns_topic_arn: Option<String>,
    /// Append alerts to this JSON lines file.
    #[arg(long)]
    pub alerts_out: Option<PathBuf>,
    /// Form of the alerts in the JSON lines file and SNS messages: `native` (flowtrail's alert
    /// JSON) or `ocsf` (OCSF Detection Finding); overrides `[alerts] format`.
    #[arg(long)]
    pub alerts_format: Option<AlertFormat>,
    /// Alert outbox directory (default: `outbox` in the state directory).
    #[arg(long)]
    pub outbox: Option<PathBuf>,
    /// AWS endpoint override (e.g. moto server); `AWS_ENDPOINT_URL` works too.
    #[arg(long)]
    pub endpoint_url: Option<String>,
    /// Lake only: no detection, no alerts.
    #[arg(long)]
    pub no_detect: bool,
}

/// `flowtrail config`.
#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

/// `flowtrail config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load and validate a configuration file (sources, formats, rules, suppressions, routes)
    /// without calling AWS; prints the effective settings.
    Check {
        /// The file.
        file: PathBuf,
    },
}

/// `flowtrail replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Folders (or files) in the AWS S3 layout (`.../AWSLogs/<account>/vpcflowlogs|CloudTrail/...`),
    /// or S3 archives `s3://bucket/prefix` (only the days of `--from`/`--to` are listed).
    #[arg(required = true)]
    pub sources: Vec<PathBuf>,
    /// Lake directory.
    #[arg(long, default_value = "lake")]
    pub lake: PathBuf,
    /// JSON lines file the alerts are appended to (an alert already in it is not written
    /// again).
    #[arg(long, default_value = "alerts.jsonl")]
    pub alerts_out: PathBuf,
    /// Form of the alerts in `--alerts-out` and SNS messages: `native` (flowtrail's alert
    /// JSON) or `ocsf` (OCSF Detection Finding, class 2004).
    #[arg(long, default_value = "native")]
    pub alerts_format: AlertFormat,
    /// Only events at or after this time (`2026-01-07` or RFC 3339).
    #[arg(long)]
    pub from: Option<String>,
    /// Only events before this time (`2026-01-08` means up to the end of Jan 7... see docs/commands.md:
    /// a bare date is exclusive midnight).
    #[arg(long)]
    pub to: Option<String>,
    /// Decode threads (default: the number of cores).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Flow-log format for header-less files (`${version} ${account-id} ...`).
    #[arg(long)]
    pub flow_format: Option<String>,
    /// Rows buffered before a commit (a commit is also due at a quarter of `--memory-mb`).
    #[arg(long, default_value_t = 1_000_000)]
    pub commit_rows: usize,
    /// The process's memory budget, MiB: a quarter buffers rows for the lake, three eighths
    /// hold the rows detection has not judged yet (past it they spill to disk), the rest is
    /// decoding in flight and the rules' queries.
    #[arg(long, default_value_t = crate::budget::DEFAULT_MEMORY_MB)]
    pub memory_mb: u64,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Lake and quarantine only: no detection, no alerts.
    #[arg(long)]
    pub no_detect: bool,
    /// Baseline state directory (restored at start, saved at the end).
    #[arg(long, default_value = "state")]
    pub state: PathBuf,
    /// Extra folder of SQL rules (`*.sql`); repeatable. Built-in rules are always loaded; a
    /// rule with a built-in's id replaces it.
    #[arg(long = "rules")]
    pub rules: Vec<PathBuf>,
    /// Folder of Sigma rules (`*.yml`, CloudTrail log source) to run with the SQL rules; a
    /// rule that cannot be compiled is a warning naming it.
    #[arg(long)]
    pub sigma: Option<PathBuf>,
    /// Suppression rules (TOML).
    #[arg(long)]
    pub suppress: Option<PathBuf>,
    /// Watched subnets and their allow-lists for `unexpected_resource` (TOML); without it the
    /// detector is off.
    #[arg(long)]
    pub fence: Option<PathBuf>,
    /// Hours of data each run of the SQL rules covers (more: less per-query overhead, more
    /// memory).
    #[arg(long, default_value_t = 6)]
    pub rules_batch_hours: u32,
    /// Memory for the `flows` rows detection holds until it judges them, MiB; above it they
    /// spill to a temporary folder on local disk and are read back when judged (default: three
    /// eighths of `--memory-mb`).
    #[arg(long)]
    pub hold_memory_mb: Option<u64>,
    /// Findings of one detector and key within this many minutes make one alert.
    #[arg(long, default_value_t = 60)]
    pub dedupe_minutes: i64,
    /// Publish alerts to this SNS topic (through the durable `--outbox`).
    #[arg(long)]
    pub sns_topic_arn: Option<String>,
    /// Alert outbox: alerts wait here (fsynced) until SNS has them; re-sent at startup.
    #[arg(long, default_value = "outbox")]
    pub outbox: PathBuf,
    /// AWS endpoint override for S3 and SNS (e.g. moto server); `AWS_ENDPOINT_URL` works too.
    #[arg(long)]
    pub endpoint_url: Option<String>,
}

/// Output formats of `flowtrail query`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    /// Aligned table.
    Table,
    /// CSV with a header.
    Csv,
    /// One JSON object per row.
    Json,
}

/// `flowtrail query`.
#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    /// SQL (read-only: SELECT, WITH, EXPLAIN).
    pub sql: String,
    /// Lake directory.
    #[arg(long, default_value = "lake")]
    pub lake: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

/// `flowtrail schema`.
#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Print Athena `CREATE EXTERNAL TABLE` statements instead.
    #[arg(long)]
    pub athena: bool,
    /// S3 location of the lake, for `--athena`.
    #[arg(long, default_value = "s3://YOUR-BUCKET/flowtrail")]
    pub location: String,
}

/// `flowtrail rules`.
#[derive(Debug, clap::Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub command: RulesCommand,
}

/// `flowtrail rules` subcommands.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Run each rule of DIR against its sample events (`<id>.tests.json`); fails on any
    /// failing case or a rule without tests.
    Test {
        /// Rules folder (`<id>.sql` and `<id>.tests.json`).
        #[arg(default_value = "detect/rules")]
        dir: PathBuf,
        /// Also print each case's findings as JSON.
        #[arg(long)]
        show: bool,
    },
    /// List the rules that would run: built-ins plus `--rules-dir` folders.
    List {
        /// Folders of user rules (a rule with a built-in's id replaces it).
        #[arg(long)]
        rules_dir: Vec<PathBuf>,
        /// Leave out the built-in rules.
        #[arg(long)]
        no_builtin: bool,
    },
}

/// `flowtrail export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub command: ExportCommand,
}

/// `flowtrail export` subcommands.
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// The lake's alerts as OCSF Detection Findings in the layout of an Amazon Security Lake
    /// custom source: `OUT/ext/<source>/region=<region>/accountId=<account>/eventDay=<YYYYMMDD>/`,
    /// one zstd parquet file per partition.
    Ocsf {
        /// Lake directory.
        #[arg(long, default_value = "lake")]
        lake: PathBuf,
        /// Output folder (the Security Lake bucket's root, or a local copy of it).
        #[arg(long)]
        to: PathBuf,
        /// Custom source name (the folder under `ext/`).
        #[arg(long, default_value = "flowtrail")]
        source: String,
    },
}
