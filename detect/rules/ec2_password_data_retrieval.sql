-- id: ec2_password_data_retrieval
-- title: {principal} asked for the Windows password of {instances} instances ({denied} denied)
-- severity: medium
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0006; T1552
-- description: ec2:GetPasswordData for at least 3 distinct instances (or 10 calls) by one
--   principal in 10 minutes, allowed or denied: harvesting the encrypted local Administrator
--   passwords of Windows instances. Quiet on routine use: an operator retrieving the password
--   of one or two instances.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    count(DISTINCT json_get_str(request_parameters, 'instanceId')) AS instances,
    sum(CASE WHEN error_code IS NULL THEN 0 ELSE 1 END) AS denied,
    array_slice(array_sort(array_agg(DISTINCT json_get_str(request_parameters, 'instanceId'))), 1, 20) AS instance_ids,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM cloudtrail
WHERE event_source = 'ec2.amazonaws.com'
  AND event_name = 'GetPasswordData'
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id)
HAVING count(DISTINCT json_get_str(request_parameters, 'instanceId')) >= 3 OR count(*) >= 10
