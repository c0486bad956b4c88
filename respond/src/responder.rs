//! The loop: receive alerts from the queue, pick those the filter selects, isolate the
//! instance they name, report every step as a follow-up alert, and only then delete the
//! message. A message whose handling failed stays on the queue and comes back after its
//! visibility timeout (configure a redrive policy to a dead-letter queue for the ones that
//! never succeed); since every step is planned from a fresh view of the instance, a redelivery
//! does only what is left. A body that is not an alert, or an alert the filter does not select,
//! is deleted: it would never be acted on.

use std::sync::Arc;

use aws_sdk_sqs::types::Message;
use tracing::{debug, info, warn};

use flowtrail_core::{Alert, Clock, EntityKind};

use crate::aws::Clients;
use crate::config::RespondConfig;
use crate::followup::{Action, FollowUps, followup};
use crate::plan::{PlanInput, Refusal, Step, plan};
use crate::{RespondError, apply, message, target};

/// What handling one alert did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// The instance concerned, once known.
    pub instance: Option<String>,
    /// The steps taken (or, in dry run, planned).
    pub steps: Vec<Step>,
    /// Why nothing was done, when nothing was.
    pub skipped: Option<String>,
    /// The follow-up alerts sent.
    pub followups: Vec<Alert>,
}

/// Counters of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollStats {
    /// Messages received.
    pub received: u64,
    /// Alerts acted on (at least one step).
    pub acted: u64,
    /// Alerts with nothing to do (filtered out, protected, already isolated).
    pub unchanged: u64,
    /// Bodies that were not alerts.
    pub invalid: u64,
    /// Messages left on the queue after an error.
    pub failed: u64,
}

impl std::ops::AddAssign for PollStats {
    fn add_assign(&mut self, o: Self) {
        self.received += o.received;
        self.acted += o.acted;
        self.unchanged += o.unchanged;
        self.invalid += o.invalid;
        self.failed += o.failed;
    }
}

/// The responder.
pub struct Responder {
    cfg: RespondConfig,
    clients: Clients,
    followups: FollowUps,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field("dry_run", &self.cfg.dry_run)
            .finish()
    }
}

impl Responder {
    /// A responder with `cfg`, its clients and a clock for follow-up times.
    pub fn new(cfg: RespondConfig, clients: Clients, clock: Arc<dyn Clock>) -> Self {
        let followups = FollowUps::new(
            cfg.followup
                .topic_arn
                .clone()
                .map(|t| (clients.sns.clone(), t)),
            cfg.followup.jsonl.clone(),
        );
        Self {
            cfg,
            clients,
            followups,
            clock,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RespondConfig {
        &self.cfg
    }

    async fn instance_of(&self, alert: &Alert) -> Result<Option<String>, RespondError> {
        match alert.entity.kind {
            EntityKind::Instance => Ok(Some(alert.entity.id.clone())),
            EntityKind::Eni => target::instance_of_eni(&self.clients, &alert.entity.id).await,
            _ => Ok(None),
        }
    }

    fn action(
        &self,
        alert: &Alert,
        instance: &str,
        step: &str,
        target: &str,
        dry_run: bool,
        details: serde_json::Value,
    ) -> Alert {
        followup(&Action {
            source: alert,
            instance,
            action: step,
            target,
            dry_run,
            details,
            at_ms: self.clock.now_ms(),
        })
    }

    /// Handle one alert: filter, describe, plan, act (unless dry run), report.
    pub async fn handle(&self, alert: &Alert) -> Result<Outcome, RespondError> {
        let mut out = Outcome::default();
        if let Err(why) = self.cfg.filter.check(alert) {
            debug!(alert = %alert.id, reason = %why, "alert not selected");
            out.skipped = Some(why);
            return Ok(out);
        }
        let Some(instance) = self.instance_of(alert).await? else {
            out.skipped = Some(format!("{} is attached to no instance", alert.entity.id));
            return Ok(out);
        };
        out.instance = Some(instance.clone());
        let snap = self.cfg.actions.snapshot;
        let view =
            target::describe(&self.clients, &instance, snap, crate::plan::ISOLATED_TAG).await?;
        if let Some(why) = self.cfg.protect.reason(&instance, &view.tags) {
            warn!(alert = %alert.id, %instance, reason = %why, "protected instance left alone");
            let f = self.action(
                alert,
                &instance,
                "skipped",
                &instance,
                self.cfg.dry_run,
                serde_json::json!({ "reason": format!("protected: {why}") }),
            );
            self.followups.send(std::slice::from_ref(&f)).await?;
            out.followups.push(f);
            out.skipped = Some(format!("protected: {why}"));
            return Ok(out);
        }
        let q = &self.cfg.quarantine;
        let group = match &view.vpc_id {
            Some(vpc) => {
                target::find_quarantine_group(&self.clients, q.groups.get(vpc), vpc, &q.group_name)
                    .await?
            }
            None => None,
        };
        let input = PlanInput {
            alert_id: &alert.id,
            quarantine_group: group.as_deref(),
            create_group_named: q.create_missing.then_some(q.group_name.as_str()),
            detach_from_asg: self.cfg.actions.detach_from_asg,
            snapshot: snap,
        };
        let steps = match plan(&view, &input) {
            Ok(s) => s,
            Err(r) => {
                let why = match r {
                    Refusal::Gone(state) => format!("instance is {state}"),
                    Refusal::NoQuarantineGroup => "no quarantine group for its VPC".to_string(),
                };
                warn!(alert = %alert.id, %instance, reason = %why, "cannot isolate");
                let f = self.action(
                    alert,
                    &instance,
                    "skipped",
                    &instance,
                    self.cfg.dry_run,
                    serde_json::json!({ "reason": why }),
                );
                self.followups.send(std::slice::from_ref(&f)).await?;
                out.followups.push(f);
                out.skipped = Some(why);
                return Ok(out);
            }
        };
        if steps.is_empty() {
            info!(alert = %alert.id, %instance, "already isolated, nothing to do");
            out.skipped = Some("already isolated".into());
            return Ok(out);
        }
        let mut created = None;
        let mut result = Ok(());
        for step in &steps {
            let details = if self.cfg.dry_run {
                serde_json::to_value(step).unwrap_or_default()
            } else {
                match apply::apply(&self.clients, &instance, &alert.id, step, &mut created).await {
                    Ok(d) => d,
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            };
            info!(alert = %alert.id, %instance, action = step.name(), target = step.target(&instance), dry_run = self.cfg.dry_run, "isolation step");
            out.followups.push(self.action(
                alert,
                &instance,
                step.name(),
                step.target(&instance),
                self.cfg.dry_run,
                details,
            ));
            out.steps.push(step.clone());
        }
        // Report what was done even when a later step failed.
        self.followups.send(&out.followups).await?;
        result.map(|()| out)
    }

    /// Receive one batch of messages (long poll) and handle each.
    pub async fn poll_once(&self, queue_url: &str) -> Result<PollStats, RespondError> {
        let msgs = self.receive(queue_url).await?;
        self.process(queue_url, &msgs).await
    }

    async fn receive(&self, queue_url: &str) -> Result<Vec<Message>, RespondError> {
        let out = self
            .clients
            .sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(self.cfg.wait_seconds)
            .send()
            .await
            .map_err(|e| RespondError::aws("ReceiveMessage", queue_url, e))?;
        Ok(out.messages.unwrap_or_default())
    }

    async fn process(&self, queue_url: &str, msgs: &[Message]) -> Result<PollStats, RespondError> {
        let mut stats = PollStats::default();
        for m in msgs {
            stats.received += 1;
            let body = m.body().unwrap_or("");
            let done = match message::parse_body(body) {
                Err(why) => {
                    warn!(message = m.message_id().unwrap_or(""), reason = %why, "not an alert, deleted");
                    stats.invalid += 1;
                    true
                }
                Ok(alert) => match self.handle(&alert).await {
                    Ok(o) if o.steps.is_empty() => {
                        stats.unchanged += 1;
                        true
                    }
                    Ok(_) => {
                        stats.acted += 1;
                        true
                    }
                    Err(e) => {
                        warn!(alert = %alert.id, error = %e, "isolation failed; the message stays for a retry");
                        stats.failed += 1;
                        false
                    }
                },
            };
            if done && let Some(h) = m.receipt_handle() {
                self.clients
                    .sqs
                    .delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(h)
                    .send()
                    .await
                    .map_err(|e| RespondError::aws("DeleteMessage", queue_url, e))?;
            }
        }
        Ok(stats)
    }

    /// Poll until `shutdown` resolves. The wait for messages is cut short by it; handling a
    /// received batch is not.
    pub async fn run(
        &self,
        queue_url: &str,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> PollStats {
        let mut total = PollStats::default();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                r = self.receive(queue_url) => match r {
                    Ok(msgs) => match self.process(queue_url, &msgs).await {
                        Ok(s) => total += s,
                        Err(e) => warn!(error = %e, "deleting a handled message failed; it will come back"),
                    },
                    Err(e) => {
                        warn!(error = %e, "receive failed; retrying in 5 s");
                        tokio::select! {
                            () = &mut shutdown => break,
                            () = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
                        }
                    }
                },
            }
        }
        total
    }
}
