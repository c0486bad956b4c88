-- id: ec2_instance_connect_key_pushed
-- title: {principal} pushed an SSH key to {instance_id} as {os_users} ({event_names})
-- severity: medium
-- entity: instance:instance_id
-- dedupe: instance_id, principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0008 TA0003; T1098.004 T1021.004
-- description: EC2 Instance Connect SendSSHPublicKey (medium) or
--   SendSerialConsoleSSHPublicKey (high: a root-level console that bypasses security groups
--   and the network) succeeded: an SSH key valid for 60 seconds was installed on the
--   instance. Quiet on routine use: failed calls. Teams that use Instance Connect daily can
--   allow-list their operator roles in the suppression config.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(json_get_str(request_parameters, 'instanceId'), 'unknown') AS instance_id,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    CASE WHEN bool_or(event_name = 'SendSerialConsoleSSHPublicKey') THEN 'high' ELSE 'medium' END AS severity,
    array_to_string(array_sort(array_agg(DISTINCT coalesce(json_get_str(request_parameters, 'instanceOSUser'), 'serial console'))), ', ') AS os_users,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM cloudtrail
WHERE event_source = 'ec2-instance-connect.amazonaws.com'
  AND event_name IN ('SendSSHPublicKey', 'SendSerialConsoleSSHPublicKey')
  AND error_code IS NULL
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(json_get_str(request_parameters, 'instanceId'), 'unknown'),
         coalesce(user_identity_arn, user_identity_principal_id)
