-- id: instance_userdata_modified
-- title: User data of {instance_id} replaced by {principal}
-- severity: high
-- entity: instance:instance_id
-- dedupe: instance_id, principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0002 TA0003 TA0004; T1059.009 T1037
-- description: ModifyInstanceAttribute setting userData: the new script runs as root at the
--   next start (Stratus: stop, modify, start). High by a person or script; low by IaC
--   (Terraform, CloudFormation) applying a declared change. Quiet on routine change: other
--   attributes (instance type, security groups, termination protection), failed calls.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(json_get_str(request_parameters, 'instanceId'), 'unknown') AS instance_id,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    CASE WHEN bool_and(coalesce(user_identity_invoked_by, '') = 'cloudformation.amazonaws.com'
                       OR regexp_like(coalesce(user_agent, ''), '(?i)terraform|cloudformation|pulumi|aws-cdk'))
         THEN 'low' ELSE 'high' END AS severity,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    array_slice(array_sort(array_agg(DISTINCT user_agent)), 1, 5) AS user_agents,
    count(*) AS events
FROM cloudtrail
WHERE event_source = 'ec2.amazonaws.com'
  AND event_name = 'ModifyInstanceAttribute'
  AND error_code IS NULL
  AND (json_get(request_parameters, 'userData') IS NOT NULL
       OR json_get_str(request_parameters, 'attribute') = 'userData')
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(json_get_str(request_parameters, 'instanceId'), 'unknown'),
         coalesce(user_identity_arn, user_identity_principal_id)
