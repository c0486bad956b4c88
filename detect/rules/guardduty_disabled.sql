-- id: guardduty_disabled
-- title: GuardDuty blinded by {principal} ({event_names})
-- severity: high
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0005; T1562.001
-- description: GuardDuty turned off or its findings hidden: DeleteDetector (critical),
--   UpdateDetector with enable false, leaving the administrator account
--   (DisassociateFromMasterAccount, DisassociateFromAdministratorAccount), removing or
--   disassociating members, StopMonitoringMembers, a trusted IP list (CreateIPSet,
--   UpdateIPSet: findings from those IPs are never raised), a filter that auto-archives
--   findings, DeletePublishingDestination. Quiet on routine change: UpdateDetector that keeps
--   it enabled (publishing frequency, features), threat lists, filters that do not archive,
--   failed calls.
WITH ev AS (
    SELECT
        event_time, event_id, event_name, account_id, region, source_ip_address,
        coalesce(user_identity_arn, user_identity_principal_id, user_identity_invoked_by, 'unknown') AS principal,
        coalesce(json_get_str(request_parameters, 'detectorId'), 'unknown') AS detector_id
    FROM cloudtrail
    WHERE event_source = 'guardduty.amazonaws.com'
      AND error_code IS NULL
      AND (event_name IN ('DeleteDetector', 'DisassociateFromMasterAccount',
                          'DisassociateFromAdministratorAccount', 'DisassociateMembers',
                          'DeleteMembers', 'StopMonitoringMembers', 'CreateIPSet', 'UpdateIPSet',
                          'DeletePublishingDestination')
           OR (event_name = 'UpdateDetector'
               AND json_get_bool(request_parameters, 'enable') = false)
           OR (event_name IN ('CreateFilter', 'UpdateFilter')
               AND upper(coalesce(json_get_str(request_parameters, 'action'), '')) = 'ARCHIVE'))
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    principal,
    CASE WHEN bool_or(event_name IN ('DeleteDetector', 'UpdateDetector')) THEN 'critical' ELSE 'high' END AS severity,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    array_sort(array_agg(DISTINCT detector_id)) AS detectors,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM ev
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, principal
