-- id: macie_findings_suppressed
-- title: {principal} delayed or hid Macie findings ({changes})
-- severity: medium
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0005; T1562.001
-- description: Macie left on but its findings taken out of sight: a findings filter that
--   archives what it matches (CreateFindingsFilter or UpdateFindingsFilter with action
--   ARCHIVE: a suppression rule, future findings never reach anyone) or ArchiveFindings
--   (medium); findings published less often (UpdateMacieSession setting
--   findingPublishingFrequency to ONE_HOUR or SIX_HOURS, from fifteen minutes) or a sensitive
--   data discovery job cancelled or paused (UpdateClassificationJob) (low). Analysts archive
--   false positives too; the filter names and criteria in the evidence show what went. Quiet
--   on routine change: filters that keep findings (NOOP), publishing every fifteen minutes,
--   jobs resumed, Macie paused or disabled (macie_disabled's), failed calls.
WITH ev AS (
    SELECT
        event_time, event_id, event_name, account_id, region, source_ip_address,
        coalesce(user_identity_arn, user_identity_principal_id) AS principal,
        CASE
            WHEN event_name IN ('CreateFindingsFilter', 'UpdateFindingsFilter')
                THEN concat('archive filter ', coalesce(json_get_str(request_parameters, 'name'),
                                                        json_get_str(request_parameters, 'id'), '?'))
            WHEN event_name = 'ArchiveFindings' THEN 'findings archived'
            WHEN event_name = 'UpdateMacieSession'
                THEN concat('findings published every ',
                            lower(replace(json_get_str(request_parameters, 'findingPublishingFrequency'), '_', ' ')))
            ELSE concat('job ', coalesce(json_get_str(request_parameters, 'jobId'), '?'), ' ',
                        lower(json_get_str(request_parameters, 'jobStatus')))
        END AS change,
        event_name IN ('CreateFindingsFilter', 'UpdateFindingsFilter', 'ArchiveFindings') AS hides
    FROM cloudtrail
    WHERE event_source IN ('macie2.amazonaws.com', 'macie.amazonaws.com')
      AND error_code IS NULL
      AND ((event_name IN ('CreateFindingsFilter', 'UpdateFindingsFilter')
            AND upper(coalesce(json_get_str(request_parameters, 'action'), '')) = 'ARCHIVE')
           OR event_name = 'ArchiveFindings'
           OR (event_name = 'UpdateMacieSession'
               AND upper(coalesce(json_get_str(request_parameters, 'findingPublishingFrequency'), '')) IN ('ONE_HOUR', 'SIX_HOURS')
               AND upper(coalesce(json_get_str(request_parameters, 'status'), 'ENABLED')) <> 'PAUSED')
           OR (event_name = 'UpdateClassificationJob'
               AND upper(coalesce(json_get_str(request_parameters, 'jobStatus'), '')) IN ('CANCELLED', 'USER_PAUSED')))
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    principal,
    CASE WHEN bool_or(hides) THEN 'medium' ELSE 'low' END AS severity,
    array_to_string(array_slice(array_sort(array_agg(DISTINCT change)), 1, 10), ', ') AS changes,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM ev
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, principal
