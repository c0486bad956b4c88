-- id: snapshot_shared
-- title: {resource} shared with {shared_with} by {principal} ({event_names})
-- severity: high
-- entity: principal:principal
-- dedupe: principal, resource
-- window: 10m
-- table: cloudtrail
-- attack: TA0010; T1537
-- description: A disk or database image leaves the account: ModifySnapshotAttribute
--   (createVolumePermission add), ModifyImageAttribute (launchPermission add),
--   ModifyDBSnapshotAttribute / ModifyDBClusterSnapshotAttribute (restore valuesToAdd).
--   Critical when made public (group `all`, value `all`); high when shared with an account
--   other than the recipient account; medium for that from an image pipeline or IaC (Packer,
--   Terraform, CloudFormation). Quiet on routine change: removing permissions, sharing with
--   the own account or the organization (organizationArn, organizationalUnitArn), failed
--   calls. Known accounts (a DR or image-distribution account) belong in the suppression
--   allow-list.
WITH ev AS (
    SELECT
        event_time, event_id, event_name, account_id, region, source_ip_address,
        coalesce(recipient_account_id, account_id) AS own,
        coalesce(user_identity_arn, user_identity_principal_id) AS principal,
        coalesce(json_get_str(request_parameters, 'snapshotId'),
                 json_get_str(request_parameters, 'imageId'),
                 json_get_str(request_parameters, 'dBSnapshotIdentifier'),
                 json_get_str(request_parameters, 'dBClusterSnapshotIdentifier'), 'unknown') AS resource,
        coalesce(json_get_json(request_parameters, 'createVolumePermission', 'add'),
                 json_get_json(request_parameters, 'launchPermission', 'add'),
                 CASE WHEN lower(coalesce(json_get_str(request_parameters, 'attributeName'), '')) = 'restore'
                      THEN json_get_json(request_parameters, 'valuesToAdd') END,
                 '') AS added,
        (coalesce(user_identity_invoked_by, '') = 'cloudformation.amazonaws.com'
         OR regexp_like(coalesce(user_agent, ''), '(?i)terraform|packer|cloudformation|pulumi|aws-cdk')) AS automation
    FROM cloudtrail
    WHERE error_code IS NULL
      AND ((event_source = 'ec2.amazonaws.com' AND event_name IN ('ModifySnapshotAttribute', 'ModifyImageAttribute'))
           OR (event_source = 'rds.amazonaws.com'
               AND event_name IN ('ModifyDBSnapshotAttribute', 'ModifyDBClusterSnapshotAttribute')))
),
flags AS (
    SELECT
        *,
        regexp_like(added, '"group"\s*:\s*"all"|(?i)"all"') AS public,
        -- organization and OU shares name ARNs, not accounts: drop ARNs, then the own account
        regexp_match(regexp_replace(regexp_replace(added, 'arn:[^"]*', '', 'g'), own, '', 'g'), '"(\d{12})"')[1] AS outside
    FROM ev
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    principal,
    resource,
    CASE WHEN bool_or(public) THEN 'critical'
         WHEN bool_and(automation) THEN 'medium'
         ELSE 'high' END AS severity,
    CASE WHEN bool_or(public) THEN 'everyone (public)'
         ELSE concat('account ', array_to_string(array_sort(array_agg(DISTINCT outside)), ', ')) END AS shared_with,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM flags
WHERE public OR outside IS NOT NULL
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, principal, resource
