-- id: s3_bucket_protection_disabled
-- title: {principal} disabled {controls} on bucket {bucket}
-- severity: medium
-- entity: principal:principal
-- dedupe: principal, bucket
-- window: 10m
-- table: cloudtrail
-- attack: TA0005 TA0040; T1562.008 T1490 T1485
-- description: A bucket's protection against loss and its audit trail switched off: access
--   logging disabled (PutBucketLogging without LoggingEnabled), versioning suspended or MFA
--   delete disabled (PutBucketVersioning), default encryption or replication deleted
--   (DeleteBucketEncryption, DeleteBucketReplication). Each alone is medium; two or more
--   different controls on one bucket by one principal in the window are high (the prelude to
--   deleting or overwriting data without a way back). Low when IaC (Terraform,
--   CloudFormation, Pulumi, CDK) applies it. Quiet on routine change: enabling logging,
--   versioning or MFA delete, setting encryption, failed calls.
WITH ev AS (
    SELECT
        event_time, event_id, account_id, region, source_ip_address,
        coalesce(user_identity_arn, user_identity_principal_id) AS principal,
        coalesce(json_get_str(request_parameters, 'bucketName'), 'unknown') AS bucket,
        CASE
            WHEN event_name = 'PutBucketLogging' THEN 'logging'
            WHEN event_name = 'DeleteBucketEncryption' THEN 'default encryption'
            WHEN event_name = 'DeleteBucketReplication' THEN 'replication'
            WHEN json_get_str(request_parameters, 'VersioningConfiguration', 'Status') IN ('Suspended', 'Disabled')
                 AND json_get_str(request_parameters, 'VersioningConfiguration', 'MfaDelete') = 'Disabled'
                THEN 'versioning and MFA delete'
            WHEN json_get_str(request_parameters, 'VersioningConfiguration', 'Status') IN ('Suspended', 'Disabled')
                THEN 'versioning'
            WHEN json_get_str(request_parameters, 'VersioningConfiguration', 'MfaDelete') = 'Disabled'
                THEN 'MFA delete'
        END AS control,
        (coalesce(user_identity_invoked_by, '') = 'cloudformation.amazonaws.com'
         OR regexp_like(coalesce(user_agent, ''), '(?i)terraform|cloudformation|pulumi|aws-cdk')) AS automation
    FROM cloudtrail
    WHERE event_source = 's3.amazonaws.com'
      AND event_name IN ('PutBucketLogging', 'PutBucketVersioning', 'DeleteBucketEncryption',
                         'DeleteBucketReplication')
      AND error_code IS NULL
      AND (event_name <> 'PutBucketLogging'
           OR json_get(request_parameters, 'BucketLoggingStatus', 'LoggingEnabled') IS NULL)
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    principal,
    bucket,
    CASE
        WHEN bool_and(automation) THEN 'low'
        WHEN count(DISTINCT control) >= 2 OR bool_or(control = 'versioning and MFA delete') THEN 'high'
        ELSE 'medium'
    END AS severity,
    array_to_string(array_sort(array_agg(DISTINCT control)), ', ') AS controls,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM ev
WHERE control IS NOT NULL
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, principal, bucket
