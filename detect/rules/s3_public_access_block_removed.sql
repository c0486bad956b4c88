-- id: s3_public_access_block_removed
-- title: S3 Block Public Access weakened on {target} by {principal} ({event_names})
-- severity: high
-- entity: principal:principal
-- dedupe: principal, target
-- window: 10m
-- table: cloudtrail
-- attack: TA0005 TA0010; T1562 T1530
-- description: The guard against public buckets is removed: DeletePublicAccessBlock (a
--   bucket's, or the account's through s3control), DeleteAccountPublicAccessBlock, or
--   PutPublicAccessBlock with any of BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy,
--   RestrictPublicBuckets false. Quiet on routine change: putting a block with all four true,
--   failed calls.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    coalesce(json_get_str(request_parameters, 'bucketName'),
             concat('account ', coalesce(json_get_str(request_parameters, 'accountId'), account_id))) AS target,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    array_slice(array_agg(request_parameters), 1, 5) AS requests,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM cloudtrail
WHERE event_source IN ('s3.amazonaws.com', 's3control.amazonaws.com')
  AND error_code IS NULL
  AND (event_name IN ('DeletePublicAccessBlock', 'DeleteAccountPublicAccessBlock', 'DeleteBucketPublicAccessBlock')
       OR (event_name IN ('PutPublicAccessBlock', 'PutAccountPublicAccessBlock', 'PutBucketPublicAccessBlock')
           AND regexp_like(request_parameters,
                           '"(BlockPublicAcls|IgnorePublicAcls|BlockPublicPolicy|RestrictPublicBuckets)"\s*:\s*"?false')))
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id),
         coalesce(json_get_str(request_parameters, 'bucketName'),
                  concat('account ', coalesce(json_get_str(request_parameters, 'accountId'), account_id)))
