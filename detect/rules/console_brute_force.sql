-- id: console_brute_force
-- title: Console brute force from {source_ip}: {failures} failed logins for {users} user(s), {successes} success(es)
-- severity: medium
-- entity: ip:source_ip
-- dedupe: source_ip
-- window: 10m
-- table: cloudtrail
-- attack: TA0006; T1110.001
-- description: At least 10 failed ConsoleLogin events from one source IP in 10 minutes.
--   High when a login from the same IP succeeded in the window (a guess that worked).
--   Quiet on routine use: a few mistyped passwords stay far below the threshold.
WITH ev AS (
    SELECT
        event_time, event_id, account_id, region, source_ip_address,
        coalesce(user_identity_user_name, user_identity_arn, user_identity_principal_id, 'unknown') AS who,
        coalesce(json_get_str(response_elements, 'ConsoleLogin'), '') = 'Success' AND error_code IS NULL
            AND error_message IS NULL AS ok
    FROM cloudtrail
    WHERE event_name = 'ConsoleLogin'
      AND source_ip_address IS NOT NULL
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    source_ip_address AS source_ip,
    CASE WHEN bool_or(ok) THEN 'high' ELSE 'medium' END AS severity,
    sum(CASE WHEN ok THEN 0 ELSE 1 END) AS failures,
    sum(CASE WHEN ok THEN 1 ELSE 0 END) AS successes,
    count(DISTINCT who) AS users,
    array_slice(array_sort(array_agg(DISTINCT who)), 1, 20) AS user_names,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids
FROM ev
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, source_ip_address
HAVING sum(CASE WHEN ok THEN 0 ELSE 1 END) >= 10
