-- id: root_login_failed
-- title: Failed root console login for account {account_id} from {source_ip} ({failures} attempt(s))
-- severity: medium
-- entity: principal:principal
-- dedupe: principal, source_ip
-- window: 10m
-- table: cloudtrail
-- attack: TA0006 TA0001; T1110 T1078.004
-- description: A ConsoleLogin by the root user that failed (errorMessage, errorCode, or
--   ConsoleLogin Failure): someone holds or guesses the root email and is trying its
--   password. High from 3 attempts. Successful root logins are root_activity's.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, concat('arn:aws:iam::', account_id, ':root')) AS principal,
    source_ip_address AS source_ip,
    CASE WHEN count(*) >= 3 THEN 'high' ELSE 'medium' END AS severity,
    count(*) AS failures,
    array_sort(array_agg(DISTINCT error_message)) AS reasons,
    array_slice(array_sort(array_agg(DISTINCT user_agent)), 1, 5) AS user_agents,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids
FROM cloudtrail
WHERE event_name = 'ConsoleLogin'
  AND user_identity_type = 'Root'
  AND (error_code IS NOT NULL OR error_message IS NOT NULL
       OR coalesce(json_get_str(response_elements, 'ConsoleLogin'), '') = 'Failure')
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, concat('arn:aws:iam::', account_id, ':root')), source_ip_address
