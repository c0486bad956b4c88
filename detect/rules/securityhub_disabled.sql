-- id: securityhub_disabled
-- title: Security Hub disabled by {principal} ({event_names})
-- severity: high
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0005; T1562.001
-- description: Security Hub turned off or cut from its administrator: DisableSecurityHub,
--   BatchDisableStandards, DisassociateFromMasterAccount, DisassociateFromAdministratorAccount,
--   DisableImportFindingsForProduct, DeleteMembers, DisassociateMembers. Quiet on routine
--   change: enabling standards, control tuning, insights, failed calls.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    CASE WHEN bool_or(event_name = 'DisableSecurityHub') THEN 'critical' ELSE 'high' END AS severity,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM cloudtrail
WHERE event_source = 'securityhub.amazonaws.com'
  AND error_code IS NULL
  AND event_name IN ('DisableSecurityHub', 'BatchDisableStandards', 'DisassociateFromMasterAccount',
                     'DisassociateFromAdministratorAccount', 'DisableImportFindingsForProduct',
                     'DeleteMembers', 'DisassociateMembers')
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id)
