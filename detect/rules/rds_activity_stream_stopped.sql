-- id: rds_activity_stream_stopped
-- title: {principal} stopped the database activity stream of {targets}
-- severity: high
-- entity: principal:principal
-- dedupe: principal, targets
-- window: 10m
-- table: cloudtrail
-- attack: TA0005; T1562.008
-- description: StopActivityStream: the near-real-time audit feed of an RDS or Aurora
--   database (every query and login, sent to Kinesis) turned off, as before tampering with
--   the data unseen. Medium when IaC (Terraform, CloudFormation, Pulumi, CDK) applies it.
--   Quiet on routine change: starting a stream, failed calls.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    CASE WHEN bool_and(coalesce(user_identity_invoked_by, '') = 'cloudformation.amazonaws.com'
                       OR regexp_like(coalesce(user_agent, ''), '(?i)terraform|cloudformation|pulumi|aws-cdk'))
         THEN 'medium' ELSE 'high' END AS severity,
    array_to_string(array_sort(array_agg(DISTINCT coalesce(json_get_str(request_parameters, 'resourceArn'), 'unknown'))), ', ') AS targets,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM cloudtrail
WHERE event_source = 'rds.amazonaws.com'
  AND event_name = 'StopActivityStream'
  AND error_code IS NULL
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id)
