//! Alert sinks: a JSON lines file ([`jsonl`]), Amazon SNS through the durable outbox
//! ([`sns`]), and the Arrow form of alerts for the lake's `alerts` table ([`batch`]). Every sink
//! writes the same JSON object per alert.

pub mod batch;
pub mod format;
pub mod jsonl;
pub mod sns;

use flowtrail_core::Alert;

use crate::AlertsError;

pub use format::AlertFormat;

/// Somewhere alerts go.
pub trait AlertSink {
    /// Deliver alerts; returns once they are durable (or sent) or fails.
    fn send(&mut self, alerts: &[Alert]) -> Result<(), AlertsError>;
}

/// A sink shared with its creator (which keeps a clone, e.g. to flush it at the end of a run).
impl<S: AlertSink + ?Sized> AlertSink for std::sync::Arc<std::sync::Mutex<S>> {
    fn send(&mut self, alerts: &[Alert]) -> Result<(), AlertsError> {
        self.lock()
            .map_err(|e| AlertsError::Poisoned(e.to_string()))?
            .send(alerts)
    }
}
