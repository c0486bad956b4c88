-- id: organization_leave_attempt
-- title: {principal} tried to take account {account_id} out of its organization ({outcome})
-- severity: high
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0005; T1562 T1666
-- description: organizations:LeaveOrganization, successful or not: leaving the
--   organization drops its service control policies and organization trail. Critical when it
--   succeeded, high when denied (the attempt alone is the signal: nobody calls it by
--   accident).
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    CASE WHEN bool_or(error_code IS NULL) THEN 'critical' ELSE 'high' END AS severity,
    CASE WHEN bool_or(error_code IS NULL) THEN 'succeeded' ELSE 'denied' END AS outcome,
    array_sort(array_agg(DISTINCT error_code)) AS error_codes,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM cloudtrail
WHERE event_source = 'organizations.amazonaws.com'
  AND event_name = 'LeaveOrganization'
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id)
