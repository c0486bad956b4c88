-- id: mfa_deactivated
-- title: MFA removed for {target_user} by {principal} ({event_names})
-- severity: medium
-- entity: principal:principal
-- dedupe: principal, target_user
-- window: 10m
-- table: cloudtrail
-- attack: TA0005 TA0003; T1556.006
-- description: DeactivateMFADevice succeeded (with any DeleteVirtualMFADevice of the same
--   user in the window as evidence), or root deleted a virtual MFA device. High when root's
--   MFA or another user's MFA is removed; medium for one's own device. Quiet on routine change:
--   enabling or creating devices, deleting a device that was never enabled (an abandoned
--   enrollment needs no deactivation), and failed calls are not alerted.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    coalesce(json_get_str(request_parameters, 'userName'),
             regexp_match(json_get_str(request_parameters, 'serialNumber'), 'mfa/(.+)$')[1],
             user_identity_user_name, 'root') AS target_user,
    CASE
        WHEN bool_or(user_identity_type = 'Root'
                     OR regexp_like(coalesce(json_get_str(request_parameters, 'serialNumber'), ''), ':mfa/root-account-mfa-device$|:root$')
                     OR (json_get_str(request_parameters, 'userName') IS NOT NULL
                         AND lower(json_get_str(request_parameters, 'userName')) <> lower(coalesce(user_identity_user_name, ''))))
        THEN 'high' ELSE 'medium'
    END AS severity,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    array_sort(array_agg(DISTINCT json_get_str(request_parameters, 'serialNumber'))) AS devices,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM cloudtrail
WHERE event_source = 'iam.amazonaws.com'
  AND event_name IN ('DeactivateMFADevice', 'DeleteVirtualMFADevice')
  AND error_code IS NULL
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id),
         coalesce(json_get_str(request_parameters, 'userName'),
                  regexp_match(json_get_str(request_parameters, 'serialNumber'), 'mfa/(.+)$')[1],
                  user_identity_user_name, 'root')
HAVING bool_or(event_name = 'DeactivateMFADevice') OR bool_or(user_identity_type = 'Root')
