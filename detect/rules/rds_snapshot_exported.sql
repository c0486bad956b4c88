-- id: rds_snapshot_exported
-- title: {principal} exported RDS {sources} to S3 bucket {buckets}
-- severity: medium
-- entity: principal:principal
-- dedupe: principal, buckets
-- window: 10m
-- table: cloudtrail
-- attack: TA0010 TA0009; T1537 T1530
-- description: StartExportTask: a snapshot or cluster's whole contents written as Parquet to an
--   S3 bucket, readable by whoever controls that bucket (the export role can write to
--   another account's bucket). Medium: analytics pipelines export too, so the bucket in the
--   evidence is what to check; high when one principal exports 3+ sources in the window.
--   Quiet on routine change: failed calls, CancelExportTask, snapshots created or copied.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    CASE WHEN count(DISTINCT json_get_str(request_parameters, 'sourceArn')) >= 3 THEN 'high'
         ELSE 'medium' END AS severity,
    array_to_string(array_slice(array_sort(array_agg(DISTINCT coalesce(json_get_str(request_parameters, 'sourceArn'), 'unknown'))), 1, 10), ', ') AS sources,
    array_to_string(array_sort(array_agg(DISTINCT coalesce(json_get_str(request_parameters, 's3BucketName'), 'unknown'))), ', ') AS buckets,
    array_sort(array_agg(DISTINCT json_get_str(request_parameters, 'iamRoleArn'))) AS export_roles,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM cloudtrail
WHERE event_source = 'rds.amazonaws.com'
  AND event_name = 'StartExportTask'
  AND error_code IS NULL
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id)
