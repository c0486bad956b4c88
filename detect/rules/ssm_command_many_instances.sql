-- id: ssm_command_many_instances
-- title: {principal} ran commands or sessions on {instances} instances through SSM ({event_names})
-- severity: high
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0002 TA0008; T1651
-- description: One principal reaches at least 3 distinct instances in 10 minutes with
--   ssm:SendCommand (a shell document: AWS-RunShellScript, AWS-RunPowerShellScript) or
--   ssm:StartSession: hands-on execution spreading over the fleet. Quiet on routine use:
--   patching and inventory documents (AWS-RunPatchBaseline, AWS-GatherSoftwareInventory),
--   commands from State Manager and Maintenance Windows (invoked by ssm.amazonaws.com), an
--   operator's session on one or two instances, failed calls.
WITH ev AS (
    SELECT
        event_time, event_id, event_name, account_id, region, source_ip_address,
        coalesce(user_identity_arn, user_identity_principal_id) AS principal,
        request_parameters AS rp
    FROM cloudtrail
    WHERE event_source = 'ssm.amazonaws.com'
      AND error_code IS NULL
      AND user_identity_invoked_by IS NULL
      AND coalesce(source_ip_address, '') NOT LIKE '%.amazonaws.com'
      AND ((event_name = 'SendCommand'
            AND regexp_like(coalesce(json_get_str(request_parameters, 'documentName'), ''),
                            '(?i)RunShellScript|RunPowerShellScript|RunRemoteScript'))
           OR event_name = 'StartSession')
),
targets AS (
    SELECT event_time, event_id, event_name, account_id, region, source_ip_address, principal,
           unnest(json_get_array(rp, 'instanceIds')) AS instance
    FROM ev WHERE event_name = 'SendCommand' AND json_get_array(rp, 'instanceIds') IS NOT NULL
    UNION ALL
    -- a command sent to tag targets: the targets stand for the instances it reached
    SELECT event_time, event_id, event_name, account_id, region, source_ip_address, principal,
           unnest(json_get_array(rp, 'targets')) AS instance
    FROM ev WHERE event_name = 'SendCommand' AND json_get_array(rp, 'instanceIds') IS NULL
      AND json_get_array(rp, 'targets') IS NOT NULL
    UNION ALL
    SELECT event_time, event_id, event_name, account_id, region, source_ip_address, principal,
           json_get_str(rp, 'target') AS instance
    FROM ev WHERE event_name = 'StartSession'
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    principal,
    count(DISTINCT instance) AS instances,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    array_slice(array_sort(array_agg(DISTINCT instance)), 1, 20) AS instance_ids,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(DISTINCT event_id) AS events
FROM targets
WHERE instance IS NOT NULL
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, principal
HAVING count(DISTINCT instance) >= 3
