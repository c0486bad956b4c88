-- id: instance_userdata_enumeration
-- title: {principal} read the user data of {instances} instances ({denied} denied)
-- severity: medium
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0007 TA0006; T1552.005 T1580
-- description: DescribeInstanceAttribute for userData on at least 5 distinct instances by one
--   principal in 10 minutes, allowed or denied: harvesting boot scripts, which often hold
--   secrets. Quiet on routine use: an operator or tool reading one or two instances' user
--   data, other attributes, calls AWS services make.
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
  AND event_name = 'DescribeInstanceAttribute'
  AND json_get_str(request_parameters, 'attribute') = 'userData'
  AND user_identity_invoked_by IS NULL
  AND coalesce(source_ip_address, '') NOT LIKE '%.amazonaws.com'
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id)
HAVING count(DISTINCT json_get_str(request_parameters, 'instanceId')) >= 5
