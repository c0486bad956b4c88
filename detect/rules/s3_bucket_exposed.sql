-- id: s3_bucket_exposed
-- title: S3 bucket {bucket} opened to {grantees} by {principal} ({event_names})
-- severity: high
-- entity: principal:principal
-- dedupe: principal, bucket
-- window: 10m
-- table: cloudtrail
-- attack: TA0010; T1530 T1537
-- description: A bucket is readable outside the account. Critical: a bucket policy
--   statement that Allows `"Principal": "*"` (or `"AWS": "*"`) without a Condition, or an ACL
--   granting AllUsers / AuthenticatedUsers (canned public-read, public-read-write,
--   authenticated-read). High: a policy statement that Allows an outside account (an account
--   id other than the recipient account), or a public object ACL. Quiet on routine change:
--   Deny statements (TLS-only, VPC-only), `*` restricted by a Condition (aws:SourceVpce,
--   aws:PrincipalOrgID), service principals, the own account, log-delivery ACLs, failed calls.
--   Known partner accounts belong in the suppression allow-list.
WITH ev AS (
    SELECT
        event_time, event_id, event_name, account_id, region, source_ip_address,
        coalesce(recipient_account_id, account_id) AS own,
        coalesce(user_identity_arn, user_identity_principal_id) AS principal,
        coalesce(json_get_str(request_parameters, 'bucketName'), 'unknown') AS bucket,
        request_parameters AS rp
    FROM cloudtrail
    WHERE event_source = 's3.amazonaws.com'
      AND error_code IS NULL
      AND event_name IN ('PutBucketPolicy', 'PutBucketAcl', 'PutObjectAcl')
),
stmt AS (
    SELECT event_id, unnest(json_get_array(rp, 'bucketPolicy', 'Statement')) AS s
    FROM ev
    WHERE event_name = 'PutBucketPolicy' AND json_get_array(rp, 'bucketPolicy', 'Statement') IS NOT NULL
    UNION ALL
    SELECT event_id, json_get_json(rp, 'bucketPolicy', 'Statement') AS s
    FROM ev
    WHERE event_name = 'PutBucketPolicy' AND json_get_array(rp, 'bucketPolicy', 'Statement') IS NULL
      AND json_get_json(rp, 'bucketPolicy', 'Statement') IS NOT NULL
),
stmt_flags AS (
    SELECT
        stmt.event_id,
        regexp_like(coalesce(json_get_json(s, 'Principal'), ''), '^"\*"$|"AWS"\s*:\s*(\[[^\]]*)?"\*"')
            AND json_get(s, 'Condition') IS NULL AS anyone,
        regexp_like(regexp_replace(coalesce(json_get_json(s, 'Principal', 'AWS'), ''), ev.own, '', 'g'),
                    '\d{12}') AS outside,
        regexp_match(regexp_replace(coalesce(json_get_json(s, 'Principal', 'AWS'), ''), ev.own, '', 'g'), '(\d{12})')[1] AS outside_account
    FROM stmt
    JOIN ev ON ev.event_id = stmt.event_id
    WHERE json_get_str(s, 'Effect') = 'Allow'
),
per_event AS (
    SELECT event_id, bool_or(anyone) AS anyone, bool_or(outside) AS outside,
           array_agg(outside_account) FILTER (WHERE outside_account IS NOT NULL) AS accounts
    FROM stmt_flags
    GROUP BY event_id
),
hit AS (
    SELECT
        ev.*,
        CASE
            WHEN coalesce(pe.anyone, false) THEN 'critical'
            WHEN ev.event_name = 'PutBucketAcl'
                 AND (regexp_like(ev.rp, 'acs\.amazonaws\.com/groups/global/(AllUsers|AuthenticatedUsers)')
                      OR regexp_like(ev.rp, '"x-amz-acl"\s*:\s*\[?\s*"(public-read|public-read-write|authenticated-read)"'))
                THEN 'critical'
            WHEN ev.event_name = 'PutObjectAcl'
                 AND (regexp_like(ev.rp, 'acs\.amazonaws\.com/groups/global/(AllUsers|AuthenticatedUsers)')
                      OR regexp_like(ev.rp, '"x-amz-acl"\s*:\s*\[?\s*"(public-read|public-read-write|authenticated-read)"'))
                THEN 'high'
            WHEN coalesce(pe.outside, false) THEN 'high'
        END AS sev,
        CASE
            WHEN coalesce(pe.anyone, false) THEN 'everyone (*)'
            WHEN regexp_like(ev.rp, 'AuthenticatedUsers|authenticated-read') THEN 'all AWS users'
            WHEN regexp_like(ev.rp, 'AllUsers|public-read') THEN 'everyone (AllUsers)'
            ELSE concat('account ', coalesce(array_to_string(pe.accounts, ', '), 'outside'))
        END AS grantee
    FROM ev
    LEFT JOIN per_event pe ON pe.event_id = ev.event_id
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    principal,
    bucket,
    CASE WHEN bool_or(sev = 'critical') THEN 'critical' ELSE 'high' END AS severity,
    array_to_string(array_sort(array_agg(DISTINCT grantee)), ', ') AS grantees,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    first_value(rp ORDER BY event_time DESC) AS request,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM hit
WHERE sev IS NOT NULL
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, principal, bucket
