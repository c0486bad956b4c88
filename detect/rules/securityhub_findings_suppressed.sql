-- id: securityhub_findings_suppressed
-- title: {principal} hid Security Hub findings or insights ({event_names})
-- severity: medium
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0005; T1562.001
-- description: Findings taken out of sight: UpdateFindings (archives findings), BatchUpdateFindings
--   that suppresses or resolves them (Workflow.Status SUPPRESSED or RESOLVED), and insights
--   deleted or changed (DeleteInsight, UpdateInsight; low: a saved view, not findings).
--   Medium because analysts triage this way too; the finding ids in the evidence show what
--   went. Quiet on routine change: notes, severity or workflow changes that keep a finding
--   open (NEW, NOTIFIED), creating insights, failed calls.
WITH ev AS (
    SELECT
        event_time, event_id, event_name, account_id, region, source_ip_address,
        coalesce(user_identity_arn, user_identity_principal_id) AS principal,
        event_name IN ('DeleteInsight', 'UpdateInsight') AS insight
    FROM cloudtrail
    WHERE event_source = 'securityhub.amazonaws.com'
      AND event_name IN ('UpdateFindings', 'BatchUpdateFindings', 'DeleteInsight', 'UpdateInsight')
      AND error_code IS NULL
      AND (event_name <> 'BatchUpdateFindings'
           OR json_get_str(request_parameters, 'Workflow', 'Status') IN ('SUPPRESSED', 'RESOLVED'))
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    principal,
    CASE WHEN bool_and(insight) THEN 'low' ELSE 'medium' END AS severity,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM ev
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, principal
