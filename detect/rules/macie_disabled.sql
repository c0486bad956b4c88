-- id: macie_disabled
-- title: Macie disabled or paused by {principal} ({event_names})
-- severity: high
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0005; T1562.001
-- description: Macie turned off: DisableMacie, UpdateMacieSession with status PAUSED,
--   DisassociateFromMasterAccount, DisassociateFromAdministratorAccount,
--   DisableOrganizationAdminAccount, DeleteMember, DisassociateMember. Quiet on routine
--   change: classification jobs, session updates that keep it enabled, failed calls.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM cloudtrail
WHERE event_source IN ('macie2.amazonaws.com', 'macie.amazonaws.com')
  AND error_code IS NULL
  AND (event_name IN ('DisableMacie', 'DisassociateFromMasterAccount', 'DisassociateFromAdministratorAccount',
                      'DisableOrganizationAdminAccount', 'DeleteMember', 'DisassociateMember')
       OR (event_name = 'UpdateMacieSession'
           AND upper(coalesce(json_get_str(request_parameters, 'status'), '')) = 'PAUSED'))
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id)
