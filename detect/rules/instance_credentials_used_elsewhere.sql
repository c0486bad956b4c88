-- id: instance_credentials_used_elsewhere
-- title: Credentials of instance {instance_id} ({role}) used from {source_ip}, an address that also served {other_principals}
-- severity: high
-- entity: instance:instance_id
-- dedupe: instance_id, source_ip
-- window: 10m
-- table: cloudtrail
-- attack: TA0006 TA0005; T1552.005 T1078.004
-- description: An EC2 instance-profile session (session name `i-…`, delivered by the
--   instance metadata service) makes calls from a source IP that in the same 10 minutes also
--   made calls as a person (an IAM user, root, a federated user, an SSO or console session):
--   the instance's credentials were taken off the instance and are used next to the person's
--   own. Quiet on routine use: instances calling from their own addresses, workloads sharing a
--   NAT gateway with instances (Lambda, ECS, EKS role sessions are not people), calls through
--   AWS services (source IP a service name). An application on an instance that still uses an
--   IAM user's keys behind the same NAT as other instances looks the same: allow-list it.
WITH inst AS (
    SELECT
        event_time, event_id, event_name, account_id, region, source_ip_address,
        regexp_match(user_identity_principal_id, ':(i-[0-9a-fA-F]{8,17})$')[1] AS instance_id,
        coalesce(session_issuer_arn, user_identity_arn) AS role,
        date_bin(INTERVAL '10 minutes', event_time) AS w
    FROM cloudtrail
    WHERE user_identity_type = 'AssumedRole'
      AND regexp_like(coalesce(user_identity_principal_id, ''), ':i-[0-9a-fA-F]{8,17}$')
      AND source_ip_address IS NOT NULL
      AND source_ip_address NOT LIKE '%amazonaws.com'
),
others AS (
    SELECT
        date_bin(INTERVAL '10 minutes', event_time) AS w,
        source_ip_address,
        array_to_string(array_slice(array_sort(array_agg(DISTINCT coalesce(user_identity_arn, user_identity_principal_id))), 1, 5), ', ') AS principals
    FROM cloudtrail
    WHERE source_ip_address IS NOT NULL
      AND source_ip_address NOT LIKE '%amazonaws.com'
      AND (user_identity_type IN ('IAMUser', 'Root', 'FederatedUser')
           OR (user_identity_type = 'AssumedRole'
               AND (coalesce(session_credential_from_console, false)
                    OR regexp_like(coalesce(session_issuer_arn, ''), ':role/(aws-reserved/sso\.amazonaws\.com/.*/)?AWSReservedSSO_'))))
    GROUP BY date_bin(INTERVAL '10 minutes', event_time), source_ip_address
)
SELECT
    min(inst.event_time) AS first_seen,
    max(inst.event_time) AS last_seen,
    inst.account_id,
    inst.region,
    inst.instance_id,
    inst.source_ip_address AS source_ip,
    min(inst.role) AS role,
    min(o.principals) AS other_principals,
    array_to_string(array_slice(array_sort(array_agg(DISTINCT inst.event_name)), 1, 10), ', ') AS event_names,
    array_slice(array_sort(array_agg(DISTINCT inst.event_id)), 1, 20) AS event_ids,
    count(*) AS events
FROM inst
JOIN others o ON o.w = inst.w AND o.source_ip_address = inst.source_ip_address
GROUP BY inst.w, inst.account_id, inst.region, inst.instance_id, inst.source_ip_address
