-- id: security_group_change
-- title: Security group {group_id} changed by {principal} ({event_names})
-- severity: medium
-- entity: security_group:group_id
-- dedupe: group_id, principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0005 TA0001; T1562.007
-- description: Successful security-group changes, with the exposure each raises. Critical when
--   an ingress rule opens the whole internet (any `/0`: 0.0.0.0/0, ::/0, also written as
--   208.236.235.254/0) to SSH (22), RDP (3389), a database port (1433, 1521, 3306, 5432, 6379,
--   9200, 27017) or all ports; high when it opens other ports to the world. Egress rules never
--   raise exposure (allow-all egress is the AWS default). Changes that raise no exposure are
--   low when made by IaC (Terraform, CloudFormation, Pulumi, CDK), else medium; the engine's
--   routine-change filter (`detect/src/routine/`) then drops those its learned actors make
--   routinely (columns `exposure`, `automation`, `actor`, `user_agent`, `source_ips`). A failed
--   call (error_code set) is never a change.
WITH ev AS (
    SELECT
        event_time, event_id, event_name, account_id, region, source_ip_address,
        coalesce(user_identity_arn, user_identity_principal_id) AS principal,
        coalesce(session_issuer_arn, user_identity_arn, user_identity_principal_id) AS actor,
        user_agent,
        request_parameters AS rp,
        (coalesce(user_identity_invoked_by, '') = 'cloudformation.amazonaws.com'
         OR regexp_like(coalesce(user_agent, ''), '(?i)terraform|cloudformation|pulumi|aws-cdk|crossplane')) AS automation,
        coalesce(
            json_get_str(request_parameters, 'groupId'),
            json_get_str(request_parameters, 'ModifySecurityGroupRulesRequest', 'GroupId'),
            json_get_str(response_elements, 'groupId'),
            json_get_str(request_parameters, 'groupSet', 'items', 0, 'groupId')
        ) AS group_id
    FROM cloudtrail
    WHERE event_source = 'ec2.amazonaws.com'
      AND error_code IS NULL
      AND (
          event_name IN ('AuthorizeSecurityGroupIngress', 'AuthorizeSecurityGroupEgress',
                         'RevokeSecurityGroupIngress', 'RevokeSecurityGroupEgress',
                         'CreateSecurityGroup', 'DeleteSecurityGroup', 'ModifySecurityGroupRules')
          OR (event_name = 'ModifyNetworkInterfaceAttribute'
              AND json_get(request_parameters, 'groupSet') IS NOT NULL)
      )
),
-- One row per permission: each item of ipPermissions, or the request itself (old-style
-- top-level cidrIp/fromPort, ModifySecurityGroupRules' rule, or a request without rules).
perm AS (
    SELECT event_id, event_name, unnest(json_get_array(rp, 'ipPermissions', 'items')) AS p
    FROM ev
    WHERE json_get(rp, 'ipPermissions', 'items') IS NOT NULL
    UNION ALL
    SELECT event_id, event_name,
           coalesce(json_get_json(rp, 'ModifySecurityGroupRulesRequest', 'SecurityGroupRule', 'SecurityGroupRule'), rp) AS p
    FROM ev
    WHERE json_get(rp, 'ipPermissions', 'items') IS NULL
),
flags AS (
    SELECT
        event_id,
        p,
        -- Revoking a world rule closes exposure, and egress opens none: only ingress additions
        -- (Authorize ingress, Modify) open it. Any address with a /0 prefix is the world.
        event_name IN ('AuthorizeSecurityGroupIngress', 'ModifySecurityGroupRules')
          AND coalesce(regexp_like(p, '"(cidrIp|cidrIpv6|CidrIpv4|CidrIpv6)"\s*:\s*"[0-9A-Fa-f:.]*/0"'), false) AS world,
        lower(coalesce(json_get_str(p, 'ipProtocol'), json_get_str(p, 'IpProtocol'),
                       CAST(json_get_int(p, 'ipProtocol') AS VARCHAR), CAST(json_get_int(p, 'IpProtocol') AS VARCHAR))) AS proto,
        coalesce(json_get_int(p, 'fromPort'), json_get_int(p, 'FromPort')) AS from_port,
        coalesce(json_get_int(p, 'toPort'), json_get_int(p, 'ToPort')) AS to_port,
        regexp_match(p, '"(?:cidrIp|cidrIpv6|CidrIpv4|CidrIpv6)"\s*:\s*"([^"]+)"')[1] AS first_cidr
    FROM perm
),
perm_sev AS (
    SELECT
        event_id,
        world,
        world AND (
            proto IN ('-1', 'all')
            OR (proto IN ('tcp', '6', 'udp', '17') AND (
                from_port = -1 OR to_port = -1
                OR (from_port <= 22 AND to_port >= 22)
                OR (from_port <= 3389 AND to_port >= 3389)
                OR (from_port <= 1433 AND to_port >= 1433)
                OR (from_port <= 1521 AND to_port >= 1521)
                OR (from_port <= 3306 AND to_port >= 3306)
                OR (from_port <= 5432 AND to_port >= 5432)
                OR (from_port <= 6379 AND to_port >= 6379)
                OR (from_port <= 9200 AND to_port >= 9200)
                OR (from_port <= 27017 AND to_port >= 27017)))
        ) AS world_admin,
        CASE WHEN world THEN regexp_match(p, '"(?:cidrIp|cidrIpv6|CidrIpv4|CidrIpv6)"\s*:\s*"([0-9A-Fa-f:.]*/0)"')[1]
             ELSE first_cidr END AS cidr,
        CASE WHEN proto IS NULL THEN NULL
             WHEN proto IN ('-1', 'all') THEN 'all'
             ELSE concat(proto, ':', coalesce(CAST(from_port AS VARCHAR), '*'), '-', coalesce(CAST(to_port AS VARCHAR), '*'))
        END AS ports
    FROM flags
),
per_event AS (
    SELECT
        event_id,
        bool_or(world) AS world,
        bool_or(world_admin) AS world_admin,
        array_agg(cidr) FILTER (WHERE cidr IS NOT NULL) AS cidrs,
        array_agg(ports) FILTER (WHERE ports IS NOT NULL) AS ports
    FROM perm_sev
    GROUP BY event_id
)
SELECT
    min(ev.event_time) AS first_seen,
    max(ev.event_time) AS last_seen,
    ev.account_id,
    ev.region,
    ev.group_id,
    ev.principal,
    CASE
        WHEN bool_or(pe.world_admin) THEN 'critical'
        WHEN bool_or(pe.world) THEN 'high'
        WHEN bool_and(ev.automation) THEN 'low'
        ELSE 'medium'
    END AS severity,
    CASE
        WHEN bool_or(pe.world_admin) THEN 'world_admin'
        WHEN bool_or(pe.world) THEN 'world'
        ELSE 'none'
    END AS exposure,
    bool_and(ev.automation) AS automation,
    min(ev.actor) AS actor,
    min(ev.user_agent) AS user_agent,
    array_to_string(array_sort(array_agg(DISTINCT ev.event_name)), ', ') AS event_names,
    array_slice(array_sort(array_agg(DISTINCT ev.event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT ev.source_ip_address)) AS source_ips,
    array_distinct(flatten(array_agg(pe.cidrs) FILTER (WHERE pe.cidrs IS NOT NULL))) AS cidrs,
    array_distinct(flatten(array_agg(pe.ports) FILTER (WHERE pe.ports IS NOT NULL))) AS ports,
    count(*) AS events
FROM ev
LEFT JOIN per_event pe ON pe.event_id = ev.event_id
GROUP BY date_bin(INTERVAL '10 minutes', ev.event_time), ev.account_id, ev.region, ev.group_id, ev.principal
