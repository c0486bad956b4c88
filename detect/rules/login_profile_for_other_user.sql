-- id: login_profile_for_other_user
-- title: {principal} set a console password for IAM user {target_user} ({event_names})
-- severity: medium
-- entity: principal:principal
-- dedupe: principal, target_user
-- window: 10m
-- table: cloudtrail
-- attack: TA0003 TA0004; T1098
-- description: CreateLoginProfile (high: a console password for a user that had none) or
--   UpdateLoginProfile (medium: another user's password changed) where the target user is not
--   the caller. Quiet on routine change: users changing their own password, failed calls.
--   IAM user names are case-insensitive.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    json_get_str(request_parameters, 'userName') AS target_user,
    CASE WHEN bool_or(event_name = 'CreateLoginProfile') THEN 'high' ELSE 'medium' END AS severity,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    bool_or(coalesce(json_get_bool(request_parameters, 'passwordResetRequired'), false)) AS reset_required,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM cloudtrail
WHERE event_source = 'iam.amazonaws.com'
  AND event_name IN ('CreateLoginProfile', 'UpdateLoginProfile')
  AND error_code IS NULL
  AND json_get_str(request_parameters, 'userName') IS NOT NULL
  AND lower(json_get_str(request_parameters, 'userName')) <> lower(coalesce(user_identity_user_name, ''))
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id), json_get_str(request_parameters, 'userName')
