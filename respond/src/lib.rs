//! flowtrail-respond: the isolation responder. It consumes flowtrail alerts from an SQS queue
//! (the alert topic's subscription), and for the alerts its filter selects it isolates the
//! instance concerned: tag it, detach it from its Auto Scaling group (the group launches a
//! replacement), move its network interfaces into a quarantine security group, optionally
//! snapshot its volumes. Every step is published as a follow-up alert (`isolation_action`).
//!
//! - [`config`]: the TOML configuration and the alert filter.
//! - [`message`]: SQS message bodies (a raw alert, or an SNS envelope around one).
//! - [`target`]: what the instance looks like now (EC2 and Auto Scaling describe calls).
//! - [`plan`]: the steps still needed, from that view (so every step is idempotent).
//! - [`apply`]: the mutating calls, one per step.
//! - [`followup`]: follow-up alerts to a JSONL file and an SNS topic.
//! - [`responder`]: the receive → filter → act → report → delete loop.
//! - [`lambda`]: the same for one SQS event of a Lambda event source mapping.
//! - [`aws`]: client construction with the endpoint override.
//!
//! Dry run is the default: the responder describes, plans and reports what it would do, and
//! calls no mutating API.

pub mod apply;
pub mod aws;
pub mod config;
pub mod error;
pub mod followup;
pub mod lambda;
pub mod message;
pub mod plan;
pub mod responder;
pub mod target;

pub use config::RespondConfig;
pub use error::RespondError;
pub use responder::Responder;
