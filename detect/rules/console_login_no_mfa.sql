-- id: console_login_no_mfa
-- title: Console login without MFA by {principal} from {source_ip}
-- severity: medium
-- entity: principal:principal
-- dedupe: principal, source_ip
-- window: 10m
-- table: cloudtrail
-- description: A successful console login by an IAM user or root without MFA (high for
--   root). Federated logins (AssumedRole, SAML) carry MFAUsed=No because MFA happens at the
--   identity provider: they are not alerted, whatever the identity type, when the event
--   names a SAML provider (additionalEventData.SamlProviderArn).
-- attack: TA0001; T1078.004
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    source_ip_address AS source_ip,
    CASE WHEN bool_or(user_identity_type = 'Root') THEN 'high' ELSE 'medium' END AS severity,
    min(user_identity_type) AS identity_type,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_slice(array_sort(array_agg(DISTINCT user_agent)), 1, 5) AS user_agents,
    count(*) AS logins
FROM cloudtrail
WHERE event_name = 'ConsoleLogin'
  AND error_code IS NULL
  AND user_identity_type IN ('IAMUser', 'Root')
  AND json_get_str(response_elements, 'ConsoleLogin') = 'Success'
  AND json_get_str(additional_event_data, 'MFAUsed') = 'No'
  AND json_get_str(additional_event_data, 'SamlProviderArn') IS NULL
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id), source_ip_address
