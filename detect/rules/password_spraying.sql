-- id: password_spraying
-- title: Password spraying from {source_ip}: failed console logins for {users} users
-- severity: high
-- entity: ip:source_ip
-- dedupe: source_ip
-- window: 10m
-- table: cloudtrail
-- attack: TA0006; T1110.003
-- description: Failed ConsoleLogin events for at least 5 distinct users from one source IP
--   in 10 minutes: one password tried against many accounts. Quiet on routine use: a shared
--   office IP with one or two mistyped passwords stays below 5 users.
WITH ev AS (
    SELECT
        event_time, event_id, account_id, region, source_ip_address,
        coalesce(user_identity_user_name, user_identity_arn, user_identity_principal_id, 'unknown') AS who
    FROM cloudtrail
    WHERE event_name = 'ConsoleLogin'
      AND source_ip_address IS NOT NULL
      AND (error_code IS NOT NULL OR error_message IS NOT NULL
           OR coalesce(json_get_str(response_elements, 'ConsoleLogin'), '') = 'Failure')
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    source_ip_address AS source_ip,
    count(DISTINCT who) AS users,
    count(*) AS failures,
    array_slice(array_sort(array_agg(DISTINCT who)), 1, 20) AS user_names,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids
FROM ev
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, source_ip_address
HAVING count(DISTINCT who) >= 5
