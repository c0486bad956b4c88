-- id: secrets_read_burst
-- title: {principal} read {secrets} secret(s) or decrypted parameter(s) in 10 minutes ({event_names})
-- severity: medium
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0006; T1555.006 T1552
-- description: One principal reads at least 10 distinct secrets (secretsmanager
--   GetSecretValue, BatchGetSecretValue by id list) or SecureString parameters (ssm
--   GetParameter/GetParameters withDecryption) in 10 minutes, or bulk-reads secrets by filter
--   (BatchGetSecretValue with filters). High from 25 distinct names. Quiet on routine use: an
--   application re-reading its few secrets many times counts each name once; calls AWS
--   services make (ECS, Lambda, CloudFormation resolving secrets) and failed calls are not
--   counted.
WITH ev AS (
    SELECT
        event_time, event_id, event_name, account_id, region, source_ip_address,
        coalesce(user_identity_arn, user_identity_principal_id) AS principal,
        request_parameters AS rp
    FROM cloudtrail
    WHERE error_code IS NULL
      AND user_identity_invoked_by IS NULL
      AND coalesce(source_ip_address, '') NOT LIKE '%.amazonaws.com'
      AND ((event_source = 'secretsmanager.amazonaws.com'
            AND event_name IN ('GetSecretValue', 'BatchGetSecretValue'))
           OR (event_source = 'ssm.amazonaws.com'
               AND event_name IN ('GetParameter', 'GetParameters')
               AND coalesce(json_get_bool(request_parameters, 'withDecryption'), false)))
),
names AS (
    SELECT event_time, event_id, event_name, account_id, region, source_ip_address, principal,
           json_get_str(rp, 'secretId') AS name, false AS bulk
    FROM ev WHERE event_name = 'GetSecretValue'
    UNION ALL
    SELECT event_time, event_id, event_name, account_id, region, source_ip_address, principal,
           json_get_str(rp, 'name') AS name, false AS bulk
    FROM ev WHERE event_name = 'GetParameter'
    UNION ALL
    SELECT event_time, event_id, event_name, account_id, region, source_ip_address, principal,
           unnest(json_get_array(rp, 'names')) AS name, false AS bulk
    FROM ev WHERE event_name = 'GetParameters' AND json_get_array(rp, 'names') IS NOT NULL
    UNION ALL
    SELECT event_time, event_id, event_name, account_id, region, source_ip_address, principal,
           unnest(json_get_array(rp, 'secretIdList')) AS name, false AS bulk
    FROM ev WHERE event_name = 'BatchGetSecretValue' AND json_get_array(rp, 'secretIdList') IS NOT NULL
    UNION ALL
    SELECT event_time, event_id, event_name, account_id, region, source_ip_address, principal,
           concat('filters:', json_get_json(rp, 'filters')) AS name, true AS bulk
    FROM ev WHERE event_name = 'BatchGetSecretValue' AND json_get_array(rp, 'secretIdList') IS NULL
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    principal,
    CASE WHEN count(DISTINCT name) >= 25 THEN 'high' ELSE 'medium' END AS severity,
    count(DISTINCT name) AS secrets,
    bool_or(bulk) AS bulk_by_filter,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    array_slice(array_sort(array_agg(DISTINCT name)), 1, 20) AS names,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(DISTINCT event_id) AS events
FROM names
WHERE name IS NOT NULL
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, principal
HAVING count(DISTINCT name) >= 10 OR bool_or(bulk)
