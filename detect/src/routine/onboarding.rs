//! Onboarding is routine: an administrator creates an IAM user and gives it a console password
//! it must change at first sign-in. `login_profile_for_other_user` reports every console
//! password set for another user; this part of the filter drops the one that completes an
//! onboarding: `CreateLoginProfile` with `passwordResetRequired`, for a user the same principal
//! (not root) created in the previous 24 hours. A password set for an existing user, one
//! without a required reset (an attacker's backdoor keeps its password), or one set by
//! root still alerts. Created users are learned from CloudTrail rows; bounded to
//! [`MAX_USERS`], a week each.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::datatypes::TimestampMillisecondType;
use serde::{Deserialize, Serialize};

use flowtrail_core::Finding;
use flowtrail_core::schema::ACCOUNT_ID;
use flowtrail_core::schema::cloudtrail::col;

/// The detector whose findings this judges.
pub const DETECTOR: &str = "login_profile_for_other_user";
/// Created users remembered.
pub const MAX_USERS: usize = 10_000;
const DAY_MS: i64 = 86_400_000;

/// Users created, by `account|user name (lower case)`: `(creator ARN, time)`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Onboarding {
    created: BTreeMap<String, (String, i64)>,
}

fn strs<'a>(b: &'a RecordBatch, n: &str) -> Option<&'a StringArray> {
    b.column_by_name(n).and_then(|c| c.as_string_opt::<i32>())
}

fn cell(a: Option<&StringArray>, i: usize) -> Option<&str> {
    a.and_then(|a| (!a.is_null(i)).then(|| a.value(i)))
}

impl Onboarding {
    /// Learn the users created in one hour's CloudTrail rows.
    pub fn learn(&mut self, batches: &[RecordBatch]) {
        for b in batches {
            let (name, err, req, arn, ty, acct) = (
                strs(b, col::EVENT_NAME),
                strs(b, col::ERROR_CODE),
                strs(b, col::REQUEST_PARAMETERS),
                strs(b, col::USER_IDENTITY_ARN),
                strs(b, col::USER_IDENTITY_TYPE),
                strs(b, ACCOUNT_ID),
            );
            let time = b
                .column_by_name(col::EVENT_TIME)
                .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>());
            for i in 0..b.num_rows() {
                if cell(name, i) != Some("CreateUser") || cell(err, i).is_some() {
                    continue;
                }
                let user = cell(req, i)
                    .and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok())
                    .and_then(|v| v["userName"].as_str().map(str::to_lowercase));
                let (Some(user), Some(by)) = (user, cell(arn, i)) else {
                    continue;
                };
                if cell(ty, i) == Some("Root") {
                    continue;
                }
                let t = time.map_or(0, |t| t.value(i));
                let key = format!("{}|{user}", cell(acct, i).unwrap_or_default());
                self.created.insert(key, (by.to_string(), t));
            }
        }
        let newest = self.created.values().map(|v| v.1).max().unwrap_or(0);
        self.created.retain(|_, v| v.1 >= newest - 7 * DAY_MS);
        crate::bounded::trim_oldest(&mut self.created, MAX_USERS, |v| v.1);
    }

    /// The finding completes an onboarding (see the module docs).
    pub fn is_onboarding(&self, f: &Finding) -> bool {
        let ev = &f.evidence;
        let create_only = ev["event_names"].as_str() == Some("CreateLoginProfile");
        let reset = ev["reset_required"].as_bool().unwrap_or(false);
        let Some(user) = ev["target_user"].as_str() else {
            return false;
        };
        let key = format!(
            "{}|{}",
            f.account_id.as_deref().unwrap_or_default(),
            user.to_lowercase()
        );
        create_only
            && reset
            && self.created.get(&key).is_some_and(|(by, t)| {
                *by == f.entity.id && *t <= f.first_seen_ms && f.first_seen_ms - t <= DAY_MS
            })
    }
}
