-- id: kms_key_deletion
-- title: KMS key {key_id} {event_names} by {principal}
-- severity: high
-- entity: principal:principal
-- dedupe: principal, key_id
-- window: 10m
-- table: cloudtrail
-- attack: TA0040; T1485 T1486
-- description: ScheduleKeyDeletion (high: everything encrypted under the key becomes
--   unreadable when the wait ends) or DisableKey (medium). Quiet on routine change: an IaC
--   teardown (Terraform, CloudFormation) scheduling deletion is low, disabling by IaC is not
--   alerted; CancelKeyDeletion, EnableKey, AWS-managed rotation and failed calls are not
--   alerted.
WITH ev AS (
    SELECT
        event_time, event_id, event_name, account_id, region, source_ip_address,
        coalesce(user_identity_arn, user_identity_principal_id) AS principal,
        coalesce(json_get_str(request_parameters, 'keyId'), 'unknown') AS key_id,
        json_get_int(request_parameters, 'pendingWindowInDays') AS pending_days,
        (coalesce(user_identity_invoked_by, '') = 'cloudformation.amazonaws.com'
         OR regexp_like(coalesce(user_agent, ''), '(?i)terraform|cloudformation|pulumi|aws-cdk')) AS automation
    FROM cloudtrail
    WHERE event_source = 'kms.amazonaws.com'
      AND error_code IS NULL
      AND event_name IN ('ScheduleKeyDeletion', 'DisableKey')
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    principal,
    key_id,
    CASE
        WHEN bool_or(event_name = 'ScheduleKeyDeletion' AND NOT automation) THEN 'high'
        WHEN bool_or(event_name = 'DisableKey' AND NOT automation) THEN 'medium'
        ELSE 'low'
    END AS severity,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    min(pending_days) AS pending_days,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM ev
WHERE NOT (automation AND event_name = 'DisableKey')
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, principal, key_id
