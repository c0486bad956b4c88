-- id: root_activity
-- title: Root user of account {account_id} made {events} call(s) ({event_names})
-- severity: high
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0004 TA0001; T1078.004
-- description: Any successful call by the root user that changes something, including what
--   root does in the console (invokedBy signin.amazonaws.com, e.g. CreateAccessKey), except
--   service events and calls other AWS services make on root's behalf (invokedBy a service).
--   Root's read-only calls and CreateServiceLinkedRole (a role only an AWS service can assume,
--   with AWS's own policy) are root_read_only_activity's, at medium. A call is not a success
--   when it carries an errorCode or an errorMessage, or a response saying Failure
--   (`{"ConsoleLogin": "Failure"}`, `{"PasswordUpdated": "Failure"}`); failed root logins are
--   root_login_failed's.
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
  AND error_message IS NULL
  AND (user_identity_invoked_by IS NULL OR user_identity_invoked_by = 'signin.amazonaws.com')
  AND (event_type IS NULL OR event_type <> 'AwsServiceEvent')
  AND NOT coalesce(read_only, false)
  AND event_name <> 'CreateServiceLinkedRole'
  AND NOT regexp_like(coalesce(response_elements, ''), '"[A-Za-z]+"\s*:\s*"Failure"')
  AND NOT (event_name = 'ConsoleLogin'
           AND coalesce(json_get_str(response_elements, 'ConsoleLogin'), '') <> 'Success')
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, concat('arn:aws:iam::', account_id, ':root'))
