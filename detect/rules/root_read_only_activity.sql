-- id: root_read_only_activity
-- title: Root user of account {account_id} in use without a change: {events} call(s) ({event_names})
-- severity: medium
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0007 TA0001; T1078.004 T1087.004
-- description: The root user in use without changing anything: successful read-only calls
--   (List, Describe, Get) and CreateServiceLinkedRole (a role only an AWS service can assume,
--   with AWS's own policy, which consoles create as a service is first used). Root should not
--   be used at all (CIS), and stolen root credentials are first used to look around, so this
--   alerts at medium where root_activity (a change) is high. Quiet when root_activity already
--   alerts on the same root in the same 10 minutes (the change is the alert), on service
--   events, calls AWS services make for root (invokedBy a service) and failed calls.
WITH ev AS (
    SELECT
        event_time, event_id, event_name, account_id, region, source_ip_address, user_agent,
        coalesce(user_identity_arn, concat('arn:aws:iam::', account_id, ':root')) AS principal,
        (coalesce(read_only, false) OR event_name = 'CreateServiceLinkedRole') AS quiet_kind
    FROM cloudtrail
    WHERE user_identity_type = 'Root'
      AND error_code IS NULL
      AND error_message IS NULL
      AND (user_identity_invoked_by IS NULL OR user_identity_invoked_by = 'signin.amazonaws.com')
      AND (event_type IS NULL OR event_type <> 'AwsServiceEvent')
      AND NOT regexp_like(coalesce(response_elements, ''), '"[A-Za-z]+"\s*:\s*"Failure"')
      AND NOT (event_name = 'ConsoleLogin'
               AND coalesce(json_get_str(response_elements, 'ConsoleLogin'), '') <> 'Success')
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    principal,
    array_to_string(array_slice(array_sort(array_agg(DISTINCT event_name)), 1, 10), ', ') AS event_names,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    array_slice(array_sort(array_agg(DISTINCT user_agent)), 1, 5) AS user_agents,
    count(*) AS events
FROM ev
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, principal
HAVING bool_and(quiet_kind)
