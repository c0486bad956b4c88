//! Labels of an unseen scenario (the sample's [`Label`] format) and the files describing it:
//! `scenarios/labels.json`, `scenarios/benign.json` and `scenarios/fleet.json`.

use std::fs;
use std::io;
use std::path::Path;

use crate::fleet::Fleet;
use crate::json::J;
use crate::sample::fleet_json;
use crate::scenarios::Label;

/// The id an instance label uses: the instance id, or the ENI of a service-owned interface.
pub fn entity_of(fleet: &Fleet, i: usize) -> String {
    let f = &fleet.ifaces[i];
    f.instance_id.clone().unwrap_or_else(|| f.eni.clone())
}

/// A label; `kind` is `instance`, `principal`, `security_group` or `ip`.
#[allow(clippy::too_many_arguments)]
pub fn label(
    detector: &str,
    kind: &str,
    entity: &str,
    account: &str,
    region: &str,
    start: i64,
    end: i64,
    description: String,
) -> Label {
    Label {
        id: String::new(),
        detector: detector.to_string(),
        entity_kind: kind.to_string(),
        entity_id: entity.to_string(),
        account_id: account.to_string(),
        region: region.to_string(),
        start,
        end,
        description,
    }
}

/// Number labels in time order with `prefix` (`A1`, `A2`, …).
pub fn number(labels: &mut [Label], prefix: &str) {
    labels.sort_by(|a, b| (a.start, &a.detector).cmp(&(b.start, &b.detector)));
    for (k, l) in labels.iter_mut().enumerate() {
        l.id = format!("{prefix}{}", k + 1);
    }
}

/// Write `labels.json`, `benign.json` and `fleet.json` under `dir`; returns bytes written.
pub fn write(
    dir: &Path,
    dataset: &str,
    labels: &[Label],
    benign: &[Label],
    fleet: &Fleet,
) -> io::Result<u64> {
    fs::create_dir_all(dir)?;
    let docs = [
        (
            "labels.json",
            J::obj([
                ("dataset", J::s(dataset)),
                (
                    "labels",
                    J::Arr(labels.iter().map(Label::to_json).collect()),
                ),
            ]),
        ),
        (
            "benign.json",
            J::Arr(benign.iter().map(Label::to_json).collect()),
        ),
        ("fleet.json", fleet_json(fleet)),
    ];
    let mut bytes = 0;
    for (name, doc) in docs {
        let text = doc.to_pretty();
        fs::write(dir.join(name), &text)?;
        bytes += text.len() as u64;
    }
    Ok(bytes)
}
