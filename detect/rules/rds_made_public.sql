-- id: rds_made_public
-- title: {principal} made RDS database {target} publicly accessible ({event_names})
-- severity: high
-- entity: principal:principal
-- dedupe: principal, target
-- window: 10m
-- table: cloudtrail
-- attack: TA0010 TA0001; T1530 T1190
-- description: An RDS instance or cluster given a public endpoint: ModifyDBInstance or
--   ModifyDBCluster with publiclyAccessible true, or a restore (RestoreDBInstanceFromDBSnapshot,
--   RestoreDBInstanceToPointInTime, RestoreDBInstanceFromS3) that comes up publicly accessible
--   (a copy of the data reachable from the internet, a classic exfiltration path). Only the
--   security group then stands between the database and the internet. Medium when IaC
--   (Terraform, CloudFormation, Pulumi, CDK) applies a declared setting. Quiet on routine
--   change: modifications and restores that stay private, new databases, failed calls.
WITH ev AS (
    SELECT
        event_time, event_id, event_name, account_id, region, source_ip_address,
        coalesce(user_identity_arn, user_identity_principal_id) AS principal,
        coalesce(json_get_str(request_parameters, 'dBInstanceIdentifier'),
                 json_get_str(request_parameters, 'dBClusterIdentifier'),
                 json_get_str(request_parameters, 'targetDBInstanceIdentifier'),
                 'unknown') AS target,
        (coalesce(user_identity_invoked_by, '') = 'cloudformation.amazonaws.com'
         OR regexp_like(coalesce(user_agent, ''), '(?i)terraform|cloudformation|pulumi|aws-cdk')) AS automation
    FROM cloudtrail
    WHERE event_source = 'rds.amazonaws.com'
      AND error_code IS NULL
      AND event_name IN ('ModifyDBInstance', 'ModifyDBCluster', 'RestoreDBInstanceFromDBSnapshot',
                         'RestoreDBInstanceToPointInTime', 'RestoreDBInstanceFromS3')
      AND (json_get_bool(request_parameters, 'publiclyAccessible') = true
           OR (event_name LIKE 'Restore%'
               AND json_get_bool(response_elements, 'publiclyAccessible') = true))
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    principal,
    target,
    CASE WHEN bool_and(automation) THEN 'medium' ELSE 'high' END AS severity,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM ev
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, principal, target
