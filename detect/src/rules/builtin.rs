//! The built-in rules, embedded from `detect/rules/*.sql` at compile time so the binary needs
//! no rules folder. A user rule with the same id replaces the built-in one.

/// `(id, SQL file text)` of every built-in rule.
pub const BUILTIN_RULES: &[(&str, &str)] = &[
    (
        "security_group_change",
        include_str!("../../rules/security_group_change.sql"),
    ),
    (
        "cloudtrail_tampering",
        include_str!("../../rules/cloudtrail_tampering.sql"),
    ),
    (
        "flow_logs_deleted",
        include_str!("../../rules/flow_logs_deleted.sql"),
    ),
    (
        "root_activity",
        include_str!("../../rules/root_activity.sql"),
    ),
    (
        "console_login_no_mfa",
        include_str!("../../rules/console_login_no_mfa.sql"),
    ),
    (
        "access_key_created",
        include_str!("../../rules/access_key_created.sql"),
    ),
    ("port_scan", include_str!("../../rules/port_scan.sql")),
    (
        "ssh_brute_force",
        include_str!("../../rules/ssh_brute_force.sql"),
    ),
];

/// The ids of the built-in rules.
pub fn builtin_ids() -> impl Iterator<Item = &'static str> {
    BUILTIN_RULES.iter().map(|(id, _)| *id)
}
