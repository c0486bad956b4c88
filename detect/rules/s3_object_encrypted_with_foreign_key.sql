-- id: s3_object_encrypted_with_foreign_key
-- title: {principal} encrypted data in bucket {bucket} with another account's KMS key ({keys})
-- severity: high
-- entity: principal:principal
-- dedupe: principal, bucket
-- window: 10m
-- table: cloudtrail
-- attack: TA0040; T1486
-- description: S3 ransomware: objects rewritten (CopyObject, in place or not) or a bucket's
--   default encryption set (PutBucketEncryption) with a KMS key of an account other than the
--   bucket owner's (the event's recipientAccountId). Whoever owns the key decides whether the
--   data can be read again. Critical from 10 objects in the window. Quiet on routine change:
--   the account's own keys, SSE-S3, aliases, failed calls.
WITH ev AS (
    SELECT
        event_time, event_id, account_id, region, source_ip_address,
        coalesce(user_identity_arn, user_identity_principal_id) AS principal,
        coalesce(json_get_str(request_parameters, 'bucketName'), 'unknown') AS bucket,
        coalesce(json_get_str(request_parameters, 'key'), '') AS object_key,
        regexp_replace(coalesce(request_parameters, ''),
                       concat(':', coalesce(recipient_account_id, account_id), ':key/'), ':own:key/', 'g') AS rp
    FROM cloudtrail
    WHERE event_source = 's3.amazonaws.com'
      AND event_name IN ('CopyObject', 'PutBucketEncryption')
      AND error_code IS NULL
      AND request_parameters LIKE '%arn:aws:kms:%'
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    principal,
    bucket,
    CASE WHEN count(DISTINCT object_key) >= 10 THEN 'critical' ELSE 'high' END AS severity,
    array_to_string(array_sort(array_agg(DISTINCT regexp_replace(rp, '^.*(arn:aws:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+).*$', '\1'))), ', ') AS keys,
    count(DISTINCT object_key) AS objects,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM ev
WHERE regexp_like(rp, 'arn:aws:kms:[a-z0-9-]+:[0-9]{12}:key/')
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, principal, bucket
