-- id: trail_bucket_lifecycle
-- title: Lifecycle expiration set on log bucket {bucket} by {principal} ({min_days} day(s))
-- severity: medium
-- entity: principal:principal
-- dedupe: principal, bucket
-- window: 10m
-- table: cloudtrail
-- attack: TA0005 TA0040; T1562.008 T1485
-- description: PutBucketLifecycle with an Expiration rule on a bucket whose name says it
--   holds logs (trail, audit, or a `log`/`logs` word: `acme-logs`, not `catalog`), or an
--   expiration of a single day on any bucket: old evidence (or data) is deleted by S3 itself. Quiet on routine change:
--   lifecycle rules that only transition storage classes or abort uploads, expirations
--   longer than a day on other buckets, failed calls.
WITH ev AS (
    SELECT
        event_time, event_id, account_id, region, source_ip_address,
        coalesce(user_identity_arn, user_identity_principal_id) AS principal,
        coalesce(json_get_str(request_parameters, 'bucketName'), 'unknown') AS bucket,
        request_parameters AS rp,
        CAST(regexp_match(request_parameters, '"Expiration"\s*:\s*\{[^}]*"Days"\s*:\s*"?(\d+)')[1] AS BIGINT) AS days
    FROM cloudtrail
    WHERE event_source = 's3.amazonaws.com'
      AND event_name IN ('PutBucketLifecycle', 'PutBucketLifecycleConfiguration')
      AND error_code IS NULL
      AND regexp_like(request_parameters, '"Expiration"\s*:')
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    principal,
    bucket,
    min(days) AS min_days,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    first_value(rp ORDER BY event_time DESC) AS lifecycle,
    count(*) AS events
FROM ev
WHERE regexp_like(bucket, '(?i)trail|audit|(^|[-_.])logs?([-_.]|$)') OR days <= 1
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, principal, bucket
