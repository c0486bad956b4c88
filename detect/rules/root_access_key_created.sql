-- id: root_access_key_created
-- title: Root user of account {account_id} created an access key for itself ({access_key_ids})
-- severity: critical
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0003 TA0004; T1098.001 T1078.004
-- description: CreateAccessKey by the root user for root itself (no userName in the
--   request), in the console (invokedBy signin.amazonaws.com) or by API: a long-lived key with
--   every permission in the account, which no policy can limit; AWS advises root to have none.
--   Whoever holds root for a moment keeps it this way. root_activity alerts on the same call
--   at high; this names the key. Quiet on: root creating a key for an IAM user (a userName in
--   the request: access_key_created's), other principals' keys, failed calls.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, concat('arn:aws:iam::', account_id, ':root')) AS principal,
    array_to_string(array_sort(array_agg(DISTINCT coalesce(json_get_str(response_elements, 'accessKey', 'accessKeyId'), 'unknown'))), ', ') AS access_key_ids,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    array_slice(array_sort(array_agg(DISTINCT user_agent)), 1, 5) AS user_agents,
    count(*) AS events
FROM cloudtrail
WHERE user_identity_type = 'Root'
  AND event_source = 'iam.amazonaws.com'
  AND event_name = 'CreateAccessKey'
  AND error_code IS NULL
  AND error_message IS NULL
  AND (user_identity_invoked_by IS NULL OR user_identity_invoked_by = 'signin.amazonaws.com')
  AND json_get_str(request_parameters, 'userName') IS NULL
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, concat('arn:aws:iam::', account_id, ':root'))
