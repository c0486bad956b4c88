-- id: gpu_instance_launch
-- title: {principal} launched {instance_types} ({max_count} at most, {outcome})
-- severity: medium
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0040 TA0002; T1496.001
-- description: RunInstances of GPU, accelerator or very large instance types (p*, g*, inf*,
--   trn*, dl*, f*, vt*, x1*/x2*, u-*, *.metal, *.24xlarge and up), allowed or denied: the
--   shape of cryptomining and model-training abuse. Quiet on routine use: ordinary
--   instance types, launches by IaC or Auto Scaling (invoked by autoscaling or
--   CloudFormation) of any type.
WITH ev AS (
    SELECT
        event_time, event_id, account_id, region, source_ip_address, error_code,
        coalesce(user_identity_arn, user_identity_principal_id) AS principal,
        json_get_str(request_parameters, 'instanceType') AS instance_type,
        coalesce(json_get_int(request_parameters, 'instancesSet', 'items', 0, 'maxCount'), 1) AS max_count
    FROM cloudtrail
    WHERE event_source = 'ec2.amazonaws.com'
      AND event_name = 'RunInstances'
      AND user_identity_invoked_by IS NULL
      AND coalesce(source_ip_address, '') NOT LIKE '%.amazonaws.com'
      AND NOT regexp_like(coalesce(user_agent, ''), '(?i)terraform|cloudformation|pulumi|aws-cdk|autoscaling')
      AND regexp_like(coalesce(json_get_str(request_parameters, 'instanceType'), ''),
                      '^(p[0-9]|g[0-9]|gr[0-9]|inf[0-9]|trn[0-9]|dl[0-9]|f[0-9]|vt[0-9]|x[12]|u-)|\.metal|\.(24|32|48|56|112)xlarge$')
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    principal,
    array_to_string(array_sort(array_agg(DISTINCT instance_type)), ', ') AS instance_types,
    max(max_count) AS max_count,
    CASE WHEN bool_or(error_code IS NULL) THEN 'launched' ELSE 'denied' END AS outcome,
    array_sort(array_agg(DISTINCT error_code)) AS error_codes,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM ev
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, principal
