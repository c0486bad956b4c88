-- id: rolesanywhere_trust_anchor_created
-- title: IAM Roles Anywhere {event_names} by {principal} ({names})
-- severity: high
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0003; T1098.001 T1556
-- description: CreateTrustAnchor or UpdateTrustAnchor (a certificate authority whose
--   certificates can now obtain role credentials from outside AWS), with any CreateProfile in
--   the window as evidence. Quiet on routine change: listing, reading or deleting anchors,
--   anchors created by IaC (medium), failed calls.
WITH ev AS (
    SELECT
        event_time, event_id, event_name, account_id, region, source_ip_address,
        coalesce(user_identity_arn, user_identity_principal_id) AS principal,
        coalesce(json_get_str(request_parameters, 'name'), json_get_str(request_parameters, 'trustAnchorId')) AS name,
        (coalesce(user_identity_invoked_by, '') = 'cloudformation.amazonaws.com'
         OR regexp_like(coalesce(user_agent, ''), '(?i)terraform|cloudformation|pulumi|aws-cdk')) AS automation
    FROM cloudtrail
    WHERE event_source = 'rolesanywhere.amazonaws.com'
      AND error_code IS NULL
      AND event_name IN ('CreateTrustAnchor', 'UpdateTrustAnchor', 'CreateProfile', 'UpdateProfile')
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    principal,
    CASE WHEN bool_and(automation) THEN 'medium' ELSE 'high' END AS severity,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    array_to_string(array_sort(array_agg(DISTINCT name)), ', ') AS names,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM ev
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, principal
HAVING bool_or(event_name IN ('CreateTrustAnchor', 'UpdateTrustAnchor'))
