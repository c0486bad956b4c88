-- id: ssm_shell_command
-- title: {principal} ran a shell command on {instances} through SSM ({documents})
-- severity: low
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0002; T1651
-- description: ssm:SendCommand with a shell document (AWS-RunShellScript,
--   AWS-RunPowerShellScript) by a person or script. Medium from an IAM user's long-lived keys
--   or root, low from a role session. Quiet on routine use: patching and inventory documents,
--   commands from State Manager and Maintenance Windows (invoked by ssm.amazonaws.com), IaC,
--   failed calls. ssm_command_many_instances covers the same calls over 3 or more instances.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    CASE WHEN bool_or(user_identity_type IN ('IAMUser', 'Root')) THEN 'medium' ELSE 'low' END AS severity,
    array_to_string(array_sort(array_agg(DISTINCT json_get_str(request_parameters, 'documentName'))), ', ') AS documents,
    array_to_string(array_slice(array_sort(flatten(array_agg(coalesce(json_get_array(request_parameters, 'instanceIds'), make_array(json_get_json(request_parameters, 'targets')))))), 1, 10), ', ') AS instances,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM cloudtrail
WHERE event_source = 'ssm.amazonaws.com'
  AND event_name = 'SendCommand'
  AND error_code IS NULL
  AND user_identity_invoked_by IS NULL
  AND coalesce(source_ip_address, '') NOT LIKE '%.amazonaws.com'
  AND regexp_like(coalesce(json_get_str(request_parameters, 'documentName'), ''),
                  '(?i)RunShellScript|RunPowerShellScript|RunRemoteScript')
  AND NOT regexp_like(coalesce(user_agent, ''), '(?i)terraform|cloudformation|pulumi|aws-cdk')
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id)
