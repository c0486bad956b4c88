-- id: federation_token_created
-- title: {principal} minted federation token(s) for {federated_users}
-- severity: medium
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0003 TA0005; T1550.001 T1078.004
-- description: sts:GetFederationToken by an IAM user: temporary credentials that survive the
--   user's access key being deactivated (until they expire, up to 36 hours) and can create
--   a console session. High when the session policy allows everything (`"Action": "*"`).
--   Quiet on routine use: failed calls; brokers that still use it can be allow-listed.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    CASE WHEN bool_or(regexp_like(coalesce(json_get_str(request_parameters, 'policy'), ''), '"Action"\s*:\s*(\[[^\]]*)?"\*"'))
         THEN 'high' ELSE 'medium' END AS severity,
    array_to_string(array_sort(array_agg(DISTINCT json_get_str(request_parameters, 'name'))), ', ') AS federated_users,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM cloudtrail
WHERE event_source = 'sts.amazonaws.com'
  AND event_name = 'GetFederationToken'
  AND error_code IS NULL
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id)
