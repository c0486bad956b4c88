-- id: root_activity
-- title: Root user of account {account_id} made {events} call(s) ({event_names})
-- severity: high
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- description: Any successful call by the root user, except service events and calls AWS
--   services make on root's behalf (invokedBy). Failed console logins are not activity.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, concat('arn:aws:iam::', account_id, ':root')) AS principal,
    array_to_string(array_slice(array_sort(array_agg(DISTINCT event_name)), 1, 10), ', ') AS event_names,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    array_slice(array_sort(array_agg(DISTINCT user_agent)), 1, 5) AS user_agents,
    count(*) AS events
FROM cloudtrail
WHERE user_identity_type = 'Root'
  AND error_code IS NULL
  AND user_identity_invoked_by IS NULL
  AND (event_type IS NULL OR event_type <> 'AwsServiceEvent')
  AND NOT (event_name = 'ConsoleLogin'
           AND coalesce(json_get_str(response_elements, 'ConsoleLogin'), '') <> 'Success')
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, concat('arn:aws:iam::', account_id, ':root'))
