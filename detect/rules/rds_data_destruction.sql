-- id: rds_data_destruction
-- title: {principal} destroyed RDS data or its protection ({event_names}) on {targets}
-- severity: high
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0040; T1485 T1490
-- description: A database, its backups or its deletion protection removed: DeleteDBInstance,
--   DeleteDBCluster, deleted automated backups (DeleteDBInstanceAutomatedBackup,
--   DeleteDBClusterAutomatedBackup), deleted snapshots, and ModifyDBInstance/ModifyDBCluster
--   with deletionProtection false (the step before a deletion) or backupRetentionPeriod 0
--   (automated backups off, and the existing ones deleted). Critical when recovery is gone:
--   automated backups deleted or turned off, or a deletion that skips the final snapshot or
--   deletes the automated backups. High for a deletion with a final snapshot, protection turned off,
--   or 3+ snapshots deleted in the window (ransomware clearing restore points). Medium for one
--   or two snapshots (routine rotation by a person). Low for an IaC teardown (Terraform,
--   CloudFormation, Pulumi, CDK). Quiet on routine change: failed calls, modifications that
--   keep or turn on deletion protection or keep backups, snapshots created or copied.
WITH ev AS (
    SELECT
        event_time, event_id, event_name, account_id, region, source_ip_address,
        coalesce(user_identity_arn, user_identity_principal_id) AS principal,
        coalesce(json_get_str(request_parameters, 'dBInstanceIdentifier'),
                 json_get_str(request_parameters, 'dBClusterIdentifier'),
                 json_get_str(request_parameters, 'dBSnapshotIdentifier'),
                 json_get_str(request_parameters, 'dBClusterSnapshotIdentifier'),
                 json_get_str(request_parameters, 'dbiResourceId'),
                 json_get_str(request_parameters, 'dbClusterResourceId'),
                 'unknown') AS target,
        event_name LIKE '%AutomatedBackup'
          OR coalesce(json_get_bool(request_parameters, 'skipFinalSnapshot'), false)
          OR coalesce(json_get_bool(request_parameters, 'deleteAutomatedBackups'), false)
          OR coalesce(json_get_int(request_parameters, 'backupRetentionPeriod') = 0, false) AS unrecoverable,
        event_name IN ('DeleteDBSnapshot', 'DeleteDBClusterSnapshot') AS snapshot,
        (coalesce(user_identity_invoked_by, '') = 'cloudformation.amazonaws.com'
         OR regexp_like(coalesce(user_agent, ''), '(?i)terraform|cloudformation|pulumi|aws-cdk')) AS automation
    FROM cloudtrail
    WHERE event_source = 'rds.amazonaws.com'
      AND error_code IS NULL
      AND event_name IN ('DeleteDBInstance', 'DeleteDBCluster', 'DeleteDBSnapshot',
                         'DeleteDBClusterSnapshot', 'DeleteDBInstanceAutomatedBackup',
                         'DeleteDBClusterAutomatedBackup', 'ModifyDBInstance', 'ModifyDBCluster')
      AND (event_name NOT LIKE 'Modify%'
           OR json_get_bool(request_parameters, 'deletionProtection') = false
           OR json_get_int(request_parameters, 'backupRetentionPeriod') = 0)
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    principal,
    CASE
        WHEN bool_and(automation) THEN 'low'
        WHEN bool_or(unrecoverable AND NOT automation) THEN 'critical'
        WHEN bool_or(NOT snapshot AND NOT automation) THEN 'high'
        WHEN count(DISTINCT target) FILTER (WHERE snapshot AND NOT automation) >= 3 THEN 'high'
        ELSE 'medium'
    END AS severity,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    array_to_string(array_slice(array_sort(array_agg(DISTINCT target)), 1, 10), ', ') AS targets,
    count(DISTINCT target) AS distinct_targets,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM ev
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, principal
