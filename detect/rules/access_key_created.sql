-- id: access_key_created
-- title: {principal} created an access key for IAM user {target_user}
-- severity: high
-- entity: principal:principal
-- dedupe: principal, target_user
-- window: 10m
-- table: cloudtrail
-- attack: TA0003; T1098.001
-- description: iam:CreateAccessKey for another user (requestParameters.userName present and
--   not the caller's own user name): a classic persistence step. Creating one's own key is
--   not alerted. IAM user names are case-insensitive.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    json_get_str(request_parameters, 'userName') AS target_user,
    array_sort(array_agg(DISTINCT json_get_str(response_elements, 'accessKey', 'accessKeyId'))) AS access_key_ids,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    min(user_identity_type) AS identity_type,
    count(*) AS events
FROM cloudtrail
WHERE event_source = 'iam.amazonaws.com'
  AND event_name = 'CreateAccessKey'
  AND error_code IS NULL
  AND json_get_str(request_parameters, 'userName') IS NOT NULL
  AND lower(json_get_str(request_parameters, 'userName')) <> lower(coalesce(user_identity_user_name, ''))
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id), json_get_str(request_parameters, 'userName')
